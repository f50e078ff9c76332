//! Build `Desired` from synthesized templates: the rollout order of the definition,
//! each region's build and wired template, its AMI parameter, the version.

use super::{AbsentStack, Desired, DesiredStack, StackRole};
use crate::cfn::Template;
use crate::stack::regions::KNOWN_REGIONS;
use crate::stack::{StackDef, GLOBAL_REGION};
use crate::synth::{self, Synthesized};
use std::collections::BTreeMap;

fn create_only(t: &Template) -> BTreeMap<String, Vec<String>> {
    t.resources
        .iter()
        .filter(|(_, r)| !r.create_only.is_empty())
        .map(|(id, r)| {
            (
                id.clone(),
                r.create_only.iter().map(|p| p.to_string()).collect(),
            )
        })
        .collect()
}

fn body(t: &Template) -> String {
    t.to_json_pretty()
}

/// The desired state of every stack.
///
/// `amis` maps each region to the AMI id its template gets as `AmiId`;
/// The version a deploy records: the stack's AMI, then the stack file's hash.
pub fn version_of(ami: &str, source_hash: &str) -> String {
    format!("{ami}-{source_hash}")
}

/// The AMI a recorded version (`version_of`) ran: all but its last `-` part.
pub fn version_ami(version: &str) -> Option<&str> {
    version
        .rsplit_once('-')
        .map(|(ami, _)| ami)
        .filter(|a| !a.is_empty())
}

/// `source_hash` is `definition_hash` of the stack file's text (the version's second half).
pub fn desired(
    def: &StackDef,
    build: &Synthesized,
    wired: &Synthesized,
    amis: &BTreeMap<String, String>,
    source_hash: &str,
) -> Desired {
    let region_stack = |name: &str| -> Option<DesiredStack> {
        let w = wired.regions.iter().find(|r| r.region == name)?;
        let b = build.regions.iter().find(|r| r.region == name);
        let mut parameters = BTreeMap::new();
        if w.template.parameters.contains_key(synth_ami_parameter()) {
            let ami = amis
                .get(name)
                .cloned()
                .unwrap_or_else(|| def.ami.id.clone());
            parameters.insert(synth_ami_parameter().to_string(), ami);
        }
        let wired_body = body(&w.template);
        let build_body = b.map(|b| body(&b.template)).filter(|b| *b != wired_body);
        Some(DesiredStack {
            region: name.to_string(),
            stack_name: w.stack_name.clone(),
            role: StackRole::Region,
            template_body: wired_body,
            build_template_body: build_body,
            parameters,
            create_only: create_only(&w.template),
        })
    };
    let single = |t: &Template, name: String, role: StackRole| DesiredStack {
        region: GLOBAL_REGION.to_string(),
        stack_name: name,
        role,
        template_body: body(t),
        build_template_body: None,
        parameters: BTreeMap::new(),
        create_only: create_only(t),
    };
    Desired {
        zone: wired
            .zone
            .as_ref()
            .map(|t| single(t, synth::zone_stack_name(def), StackRole::Zone)),
        waves: def
            .rollout
            .waves()
            .iter()
            .map(|wave| wave.iter().filter_map(|r| region_stack(r)).collect())
            .collect(),
        global: wired
            .global
            .as_ref()
            .map(|t| single(t, def.global_stack_name(), StackRole::Global)),
        version: version_of(&def.ami.id, source_hash),
        absent: absent_stacks(def),
    }
}

/// The region stack's name in every known region the definition does not name:
/// where it must not exist.
pub fn absent_stacks(def: &StackDef) -> Vec<AbsentStack> {
    KNOWN_REGIONS
        .iter()
        .filter(|r| def.region(r).is_none())
        .map(|r| AbsentStack {
            region: r.to_string(),
            stack_name: def.region_stack_name(r),
        })
        .collect()
}

/// The region template's AMI parameter (synth's `compute::AMI_PARAMETER`; the test
/// below fails if synth renames it).
fn synth_ami_parameter() -> &'static str {
    "AmiId"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_gives_zone_three_waves_in_order_and_global_with_ami_parameters() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/example.toml"))
                .unwrap();
        let def = crate::stack::load_str(&text, "example.toml").unwrap();
        let build = synth::synthesize(&def, synth::Phase::Build);
        let wired = synth::synthesize(&def, synth::Phase::Wired);
        let amis = BTreeMap::from([("us-west-2".to_string(), "ami-copy".to_string())]);
        let d = desired(
            &def,
            &build,
            &wired,
            &amis,
            &crate::plan::definition_hash(&text),
        );
        let order: Vec<_> = d
            .waves
            .iter()
            .flatten()
            .map(|s| s.region.as_str())
            .collect();
        assert_eq!(order, ["us-east-1", "us-west-2", "eu-west-1"]);
        assert!(d.zone.is_some() && d.global.is_some());
        assert_eq!(d.waves[1][0].parameters["AmiId"], "ami-copy");
        assert_eq!(d.waves[0][0].parameters["AmiId"], def.ami.id);
        assert!(
            d.waves[0][0].build_template_body.is_some(),
            "build and wired templates differ"
        );
        assert!(d.version.starts_with(&def.ami.id));
    }
}
