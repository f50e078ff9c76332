//! Identifiers generated once per deploy: the deployment id, change-set names,
//! versions; and the plan id, derived from what a deploy would deploy.

use super::Desired;
use sha2::{Digest, Sha256};

/// Every change set strata creates is named with this prefix.
pub const CHANGE_SET_PREFIX: &str = "strata-";

/// Prefix of the change set kept after a successful update, holding the template
/// and parameters the stack ran before; `strata rollback` executes it.
pub const PREVIOUS_PREFIX: &str = "strata-previous-";

/// The kept previous version of a stack: `strata-previous-<stack>`. Named after the
/// stack because the sandbox looks change sets up by name across a whole region.
pub fn previous_change_set(stack: &str) -> String {
    format!("{PREVIOUS_PREFIX}{stack}")
}

/// The change set of one deploy for one stack: `strata-<deployment id>-<stack><pass>`.
pub fn change_set_name(deployment_id: &str, stack: &str, pass: &str) -> String {
    format!("{CHANGE_SET_PREFIX}{deployment_id}-{stack}{pass}")
}

/// A new deployment id, e.g. "d20261125t010203-3fa9" (also the change-set suffix).
pub fn deployment_id(now: time::OffsetDateTime) -> String {
    let fmt = time::macros::format_description!("[year][month][day]t[hour][minute][second]");
    let stamp = now.format(&fmt).unwrap_or_else(|_| "0".into());
    format!("d{stamp}-{:04x}", rand::random::<u16>())
}

/// The first 8 hex digits of SHA-256 of the definition's text.
pub fn definition_hash(definition: &str) -> String {
    let digest = Sha256::digest(definition.as_bytes());
    hex::encode(&digest[..4])
}

/// The plan id (`strata plan` prints it, `strata approve` records it, four eyes
/// checks it): "p" and 16 hex digits of SHA-256 over every stack's name, region,
/// role, templates (final and first-creation) and parameters, the version tag and
/// the stacks a deploy would remove. Any change to what would be deployed changes
/// it, so an approval of one plan cannot approve another. `desired` should be the
/// whole definition's (no region filter), every region on the definition's AMI.
pub fn plan_id(desired: &Desired) -> String {
    let mut h = Sha256::new();
    let mut field = |s: &str| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    field(&desired.version);
    for s in desired.stacks() {
        field(&s.region);
        field(&s.stack_name);
        field(&format!("{:?}", s.role));
        field(&s.template_body);
        field(s.build_template_body.as_deref().unwrap_or(""));
        for (k, v) in &s.parameters {
            field(k);
            field(v);
        }
        field("");
    }
    for a in &desired.absent {
        field(&a.region);
        field(&a.stack_name);
    }
    format!("p{}", hex::encode(&h.finalize()[..8]))
}

/// A plan id as `plan_id` writes it ("p" and 16 lowercase hex digits).
pub fn is_plan_id(id: &str) -> bool {
    id.len() == 17
        && id.starts_with('p')
        && id[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{DesiredStack, StackRole};

    fn desired(template: &str) -> Desired {
        Desired {
            zone: None,
            waves: vec![vec![DesiredStack {
                region: "us-east-1".into(),
                stack_name: "shop-prod-us-east-1".into(),
                role: StackRole::Region,
                template_body: template.into(),
                build_template_body: None,
                parameters: [("AmiId".to_string(), "ami-0a1b2c3d".to_string())].into(),
                create_only: Default::default(),
            }]],
            global: None,
            version: "ami-0a1b2c3d-1234abcd".into(),
            absent: Vec::new(),
            awaiting_zone: Vec::new(),
            zone_stack: None,
        }
    }

    #[test]
    fn the_plan_id_is_stable_and_changes_with_what_would_be_deployed() {
        let a = plan_id(&desired("{\"Resources\":{}}"));
        assert_eq!(a, plan_id(&desired("{\"Resources\":{}}")));
        assert!(is_plan_id(&a), "{a}");
        assert_ne!(a, plan_id(&desired("{\"Resources\":{\"X\":{}}}")));
        let mut other_ami = desired("{\"Resources\":{}}");
        other_ami.waves[0][0]
            .parameters
            .insert("AmiId".into(), "ami-0ffff".into());
        assert_ne!(a, plan_id(&other_ami));
        let mut removes = desired("{\"Resources\":{}}");
        removes.absent.push(crate::plan::AbsentStack {
            region: "eu-west-1".into(),
            stack_name: "shop-prod-eu-west-1".into(),
        });
        assert_ne!(a, plan_id(&removes));
        assert!(!is_plan_id("p123"));
        assert!(!is_plan_id("pABCDEF0123456789"));
    }

    #[test]
    fn deployment_ids_are_valid_change_set_names() {
        let id = deployment_id(time::macros::datetime!(2026-11-25 01:02:03 UTC));
        let name = change_set_name(&id, "shop-prod-us-east-1", "-wire");
        assert!(name.starts_with("strata-d20261125t010203-"));
        assert!(name.ends_with("-shop-prod-us-east-1-wire"));
        assert!(name.len() <= 128);
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }

    #[test]
    fn hash_changes_with_the_definition() {
        assert_ne!(definition_hash("a = 1"), definition_hash("a = 2"));
        assert_eq!(definition_hash("a = 1").len(), 8);
    }
}
