//! The directly responsible individual (DRI) of a mutating command.
//!
//! Resolution order: `--dri` / `STRATA_DRI`, then the CI system's user, then
//! git's `user.email`, then (resolved by the caller, since it needs AWS) the AWS
//! caller identity. A definition with `operations.require_dri = true` refuses to
//! run without an explicit `--dri` / `STRATA_DRI`: in production a person must own it.

use serde::Serialize;

/// Who is responsible, and where that came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dri {
    pub name: String,
    pub source: DriSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriSource {
    /// `--dri` or `STRATA_DRI`.
    Explicit,
    /// A CI system's user variable.
    Ci,
    /// git's `user.email`.
    Git,
    /// The AWS caller identity's ARN.
    AwsIdentity,
}

/// CI variables that name the person who triggered a run, in order of preference.
const CI_USER_VARS: &[&str] = &[
    "GITHUB_ACTOR",
    "GITLAB_USER_LOGIN",
    "BUILDKITE_BUILD_CREATOR",
    "CIRCLE_USERNAME",
    "BUILD_REQUESTEDFOR",
    "JENKINS_USER_ID",
];

/// Resolve the DRI without AWS: the flag, CI variables, then git.
pub fn resolve_local(
    flag: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
    git_user: impl FnOnce() -> Option<String>,
) -> Option<Dri> {
    let clean = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    if let Some(name) = flag.and_then(clean) {
        return Some(Dri {
            name,
            source: DriSource::Explicit,
        });
    }
    for var in CI_USER_VARS {
        if let Some(name) = env(var).as_deref().and_then(clean) {
            return Some(Dri {
                name,
                source: DriSource::Ci,
            });
        }
    }
    git_user().as_deref().and_then(clean).map(|name| Dri {
        name,
        source: DriSource::Git,
    })
}

/// git's configured `user.email` (or `user.name`), if git is there and set.
pub fn git_user() -> Option<String> {
    for key in ["user.email", "user.name"] {
        let out = std::process::Command::new("git")
            .args(["config", "--get", key])
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        if out.status.success() {
            let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !s.is_empty() {
                return Some(s);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_flag_wins_over_everything() {
        let d = resolve_local(Some("alice"), |_| Some("ci-bot".into()), || Some("git".into()));
        assert_eq!(
            d,
            Some(Dri {
                name: "alice".into(),
                source: DriSource::Explicit
            })
        );
    }

    #[test]
    fn ci_user_then_git() {
        let env = |k: &str| (k == "GITLAB_USER_LOGIN").then(|| "bob".to_string());
        let d = resolve_local(None, env, || Some("carol@example.com".into())).unwrap();
        assert_eq!((d.name.as_str(), d.source), ("bob", DriSource::Ci));
        let d = resolve_local(Some("  "), |_| None, || Some("carol@example.com".into())).unwrap();
        assert_eq!(
            (d.name.as_str(), d.source),
            ("carol@example.com", DriSource::Git)
        );
        assert_eq!(resolve_local(None, |_| None, || None), None);
    }
}
