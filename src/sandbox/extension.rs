//! strata's additions to moto, compiled in and written next to the sandbox's logs at
//! start: the entry point `sandbox/moto_strata.py` (moto's server plus a CloudFormation
//! model for `AWS::CloudFront::Distribution`), the modules it imports (`MODULES`:
//! `sandbox/moto_cloudwatch.py`, CloudWatch's RPCv2-CBOR protocol and
//! `AWS::CloudWatch::Alarm`; `sandbox/moto_route53.py`, Route 53's models and rules;
//! and one file per further topic), and the AMI fixture `sandbox/amis.json` (the stacks'
//! baked images, loaded through `MOTO_AMIS_PATH`). See `docs/sandbox.md`.

use super::SandboxError;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The entry point moto is started with instead of `python -m moto.server`.
pub const SCRIPT: &str = include_str!("../../sandbox/moto_strata.py");

/// The file name the entry point is written under (and recognised by in `/proc`).
pub const SCRIPT_NAME: &str = "moto_strata.py";

/// The modules the entry point imports (each must sit next to it), as
/// `(file name, source)`. A new sandbox behaviour is a new `sandbox/moto_<topic>.py`
/// with an `install()` called from the entry point, listed here.
pub const MODULES: &[(&str, &str)] = &[
    (
        "moto_cloudwatch.py",
        include_str!("../../sandbox/moto_cloudwatch.py"),
    ),
    (
        "moto_route53.py",
        include_str!("../../sandbox/moto_route53.py"),
    ),
    ("moto_iam.py", include_str!("../../sandbox/moto_iam.py")),
    (
        "moto_autoscaling.py",
        include_str!("../../sandbox/moto_autoscaling.py"),
    ),
    ("moto_ssm.py", include_str!("../../sandbox/moto_ssm.py")),
    (
        "moto_instances.py",
        include_str!("../../sandbox/moto_instances.py"),
    ),
    ("moto_sqs.py", include_str!("../../sandbox/moto_sqs.py")),
    (
        "moto_s3_objects.py",
        include_str!("../../sandbox/moto_s3_objects.py"),
    ),
    (
        "moto_changesets.py",
        include_str!("../../sandbox/moto_changesets.py"),
    ),
    ("moto_sns.py", include_str!("../../sandbox/moto_sns.py")),
    ("moto_acm.py", include_str!("../../sandbox/moto_acm.py")),
    (
        "moto_origin_access.py",
        include_str!("../../sandbox/moto_origin_access.py"),
    ),
    (
        "moto_cfn_resources.py",
        include_str!("../../sandbox/moto_cfn_resources.py"),
    ),
    (
        "moto_cfn_lifecycle.py",
        include_str!("../../sandbox/moto_cfn_lifecycle.py"),
    ),
    (
        "moto_cfn_import.py",
        include_str!("../../sandbox/moto_cfn_import.py"),
    ),
    // Read by moto_cfn_lifecycle.py (next to it): real-AWS durations per resource type.
    (
        "aws_durations.json",
        include_str!("../../sandbox/aws_durations.json"),
    ),
];

/// The AMIs of the stacks in `stacks/`, as moto's `MOTO_AMIS_PATH` JSON list.
pub const AMIS: &str = include_str!("../../sandbox/amis.json");

/// Where the extension files were written.
#[derive(Debug, Clone)]
pub struct Files {
    pub script: PathBuf,
    /// The written modules, in the order of [`MODULES`].
    pub modules: Vec<PathBuf>,
    pub amis: PathBuf,
}

/// Write the script, its module and the fixture into `dir` under names carrying their content
/// hash (`moto_strata-<hash>.py` would break the `/proc` check, so the hash names a
/// subdirectory): a moto already running from an older build keeps its files, and
/// writers racing on the same content write the same bytes (temp file + rename).
pub fn write(dir: &Path) -> Result<Files, SandboxError> {
    let sub = dir.join(format!("moto-ext-{}", &hash()[..12]));
    std::fs::create_dir_all(&sub)
        .map_err(|e| SandboxError::io("cannot create directory", &sub, e))?;
    let files = Files {
        script: sub.join(SCRIPT_NAME),
        modules: MODULES.iter().map(|(name, _)| sub.join(name)).collect(),
        amis: sub.join("amis.json"),
    };
    // The modules first: a moto started from the script finds them there.
    for ((_, text), path) in MODULES.iter().zip(&files.modules) {
        write_if_changed(path, text)?;
    }
    write_if_changed(&files.script, SCRIPT)?;
    write_if_changed(&files.amis, AMIS)?;
    Ok(files)
}

/// SHA-256 of the script, its module and the fixture together.
pub fn hash() -> String {
    let mut h = Sha256::new();
    h.update(SCRIPT.as_bytes());
    h.update([0u8]);
    for (name, text) in MODULES {
        h.update(name.as_bytes());
        h.update([0u8]);
        h.update(text.as_bytes());
        h.update([0u8]);
    }
    h.update(AMIS.as_bytes());
    hex::encode(h.finalize())
}

fn write_if_changed(path: &Path, text: &str) -> Result<(), SandboxError> {
    if std::fs::read_to_string(path).is_ok_and(|t| t == text) {
        return Ok(());
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| SandboxError::io("cannot write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| SandboxError::io("cannot write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_holds_every_stack_files_source_ami() {
        let amis: serde_json::Value = serde_json::from_str(AMIS).expect("amis.json is JSON");
        let ids: Vec<&str> = amis
            .as_array()
            .expect("a list")
            .iter()
            .map(|a| a["ami_id"].as_str().expect("ami_id"))
            .collect();
        let stacks = Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks");
        for entry in std::fs::read_dir(&stacks).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let def: toml::Value =
                    toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                let id = def["ami"]["id"].as_str().unwrap();
                assert!(
                    ids.contains(&id),
                    "{} uses {id}, not in sandbox/amis.json",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn written_files_match_the_compiled_ones() {
        let dir = std::env::temp_dir().join(format!("strata-ext-test-{}", std::process::id()));
        let files = write(&dir).unwrap();
        assert_eq!(std::fs::read_to_string(&files.script).unwrap(), SCRIPT);
        for ((_, text), path) in MODULES.iter().zip(&files.modules) {
            assert_eq!(std::fs::read_to_string(path).unwrap(), *text);
            assert_eq!(path.parent(), files.script.parent());
        }
        assert_eq!(std::fs::read_to_string(&files.amis).unwrap(), AMIS);
        assert_eq!(files.script.file_name().unwrap(), SCRIPT_NAME);
        let _ = std::fs::remove_dir_all(dir);
    }
}
