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
/// `zone_id` is the hosted zone's id for the templates that take it as the
/// `HostedZoneId` parameter (`app::zone::resolve`); without it (a managed zone not
/// created yet) those stacks are listed in `Desired::awaiting_zone`.
/// `region_parameters` maps a region to the values of the other parameters its
/// template declares (the managed prefix lists, `deploy::preflight::resolve_prefix_lists`).
pub fn desired(
    def: &StackDef,
    build: &Synthesized,
    wired: &Synthesized,
    amis: &BTreeMap<String, String>,
    source_hash: &str,
    zone_id: Option<&str>,
    region_parameters: &BTreeMap<String, BTreeMap<String, String>>,
) -> Desired {
    let zone_parameter = |t: &Template, parameters: &mut BTreeMap<String, String>| {
        if let (true, Some(id)) = (needs_zone_id(t), zone_id) {
            parameters.insert(synth::ZONE_ID_PARAMETER.to_string(), id.to_string());
        }
    };
    let mut awaiting_zone = Vec::new();
    if zone_id.is_none() {
        let regions = wired
            .regions
            .iter()
            .map(|r| (&r.template, r.stack_name.clone()));
        let global = wired.global.iter().map(|t| (t, def.global_stack_name()));
        awaiting_zone = regions
            .chain(global)
            .filter(|(t, _)| needs_zone_id(t))
            .map(|(_, name)| name)
            .collect();
    }
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
        // The build template declares what the wired one does, and more: records
        // and certificates both name the zone.
        zone_parameter(&w.template, &mut parameters);
        // The region's own parameters (the managed prefix lists), where declared.
        for (k, v) in region_parameters.get(name).into_iter().flatten() {
            if w.template.parameters.contains_key(k) {
                parameters.insert(k.clone(), v.clone());
            }
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
    let waves: Vec<Vec<DesiredStack>> = def
        .rollout
        .waves()
        .iter()
        .map(|wave| wave.iter().filter_map(|r| region_stack(r)).collect())
        .collect();
    let single = |t: &Template, name: String, role: StackRole| {
        let mut parameters = BTreeMap::new();
        zone_parameter(t, &mut parameters);
        DesiredStack {
            region: GLOBAL_REGION.to_string(),
            stack_name: name,
            role,
            template_body: body(t),
            build_template_body: None,
            parameters,
            create_only: create_only(t),
        }
    };
    let zone = wired
        .zone
        .as_ref()
        .map(|t| single(t, synth::zone_stack_name(def), StackRole::Zone));
    let global = wired
        .global
        .as_ref()
        .map(|t| single(t, def.global_stack_name(), StackRole::Global));
    Desired {
        zone,
        waves,
        global,
        version: version_of(&def.ami.id, source_hash),
        absent: absent_stacks(def),
        awaiting_zone,
        zone_stack: wired
            .zone
            .as_ref()
            .map(|_| (GLOBAL_REGION.to_string(), synth::zone_stack_name(def))),
    }
}

impl Desired {
    /// The same desired state with `amis` as the regions' AMIs (a region absent
    /// from `amis` keeps its own): what `desired` gives for those AMIs, without
    /// synthesizing or serializing a template again. The plan id is taken over the
    /// definition's AMI (`plan_id`), the deploy runs each region's copy of it.
    pub fn with_amis(&self, amis: &BTreeMap<String, String>) -> Desired {
        let mut d = self.clone();
        for s in d.waves.iter_mut().flatten() {
            if let (Some(slot), Some(ami)) = (
                s.parameters.get_mut(synth_ami_parameter()),
                amis.get(&s.region),
            ) {
                slot.clone_from(ami);
            }
        }
        d
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

/// Whether a template names the hosted zone by the `HostedZoneId` parameter.
fn needs_zone_id(t: &Template) -> bool {
    t.parameters.contains_key(synth::ZONE_ID_PARAMETER)
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
            Some("Z0ZONE"),
            &BTreeMap::from([(
                "us-west-2".to_string(),
                BTreeMap::from([
                    ("CloudFrontPrefixListId".to_string(), "pl-cf".to_string()),
                    ("NotDeclared".to_string(), "x".to_string()),
                ]),
            )]),
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

        // The same state from the definition's AMIs, then the copies put in.
        let without = desired(
            &def,
            &build,
            &wired,
            &BTreeMap::new(),
            &crate::plan::definition_hash(&text),
            Some("Z0ZONE"),
            &BTreeMap::from([(
                "us-west-2".to_string(),
                BTreeMap::from([("CloudFrontPrefixListId".to_string(), "pl-cf".to_string())]),
            )]),
        );
        assert_eq!(without.waves[1][0].parameters["AmiId"], def.ami.id);
        let with = without.with_amis(&amis);
        assert_eq!(format!("{with:?}"), format!("{d:?}"));
    }

    #[test]
    fn stacks_naming_a_managed_zone_await_its_id_and_then_all_get_it() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/example.toml"))
                .unwrap();
        let def = crate::stack::load_str(&text, "example.toml").unwrap();
        let build = synth::synthesize(&def, synth::Phase::Build);
        let wired = synth::synthesize(&def, synth::Phase::Wired);
        let d = desired(
            &def,
            &build,
            &wired,
            &BTreeMap::new(),
            "h",
            None,
            &BTreeMap::new(),
        );
        let mut waiting = d.awaiting_zone.clone();
        waiting.sort();
        assert_eq!(
            waiting,
            [
                "shop-prod-eu-west-1",
                "shop-prod-global",
                "shop-prod-us-east-1",
                "shop-prod-us-west-2"
            ]
        );
        assert!(d
            .stacks()
            .all(|s| !s.parameters.contains_key(synth::ZONE_ID_PARAMETER)));
        // The zone stack itself makes the zone: it takes no id.
        assert!(!d
            .zone_only()
            .zone
            .unwrap()
            .parameters
            .contains_key(synth::ZONE_ID_PARAMETER));
        assert!(d.zone_only().awaiting_zone.is_empty() && d.zone_only().waves.is_empty());

        let full = d.with_zone_id(synth::ZONE_ID_PARAMETER, "Z0ZONE");
        assert!(full.awaiting_zone.is_empty());
        let named: Vec<_> = full
            .stacks()
            .filter(|s| {
                s.parameters
                    .get(synth::ZONE_ID_PARAMETER)
                    .map(String::as_str)
                    == Some("Z0ZONE")
            })
            .map(|s| s.stack_name.as_str())
            .collect();
        assert_eq!(named.len(), 4, "{named:?}");
    }
}
