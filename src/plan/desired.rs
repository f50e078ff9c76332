//! `Desired`: what should be deployed, per stack, in rollout order (built from synth).

use serde::Serialize;
use std::collections::BTreeMap;

/// Which kind of stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StackRole {
    Zone,
    Region,
    Global,
}

/// One stack as it should be.
#[derive(Debug, Clone)]
pub struct DesiredStack {
    pub region: String,
    pub stack_name: String,
    pub role: StackRole,
    /// The final (wired) template body, JSON.
    pub template_body: String,
    /// The template for the first creation when it differs from the final one
    /// (`synth::Phase::Build`: no cross-region references yet).
    pub build_template_body: Option<String>,
    pub parameters: BTreeMap<String, String>,
    /// Per logical id, the property paths ("/properties/CidrBlock") whose change
    /// replaces the resource.
    pub create_only: BTreeMap<String, Vec<String>>,
}

/// Every stack of a definition, in rollout order, with the deploy settings.
#[derive(Debug, Clone)]
pub struct Desired {
    pub zone: Option<DesiredStack>,
    pub waves: Vec<Vec<DesiredStack>>,
    pub global: Option<DesiredStack>,
    /// `strata:version`: AMI id and a short hash of the definition.
    pub version: String,
    /// Where the definition's region stack must not exist: every other known
    /// region. A stack found there is left from an earlier definition and is removed.
    pub absent: Vec<AbsentStack>,
    /// The stacks whose templates take the managed zone's id (`HostedZoneId`)
    /// while the zone does not exist yet: they can be planned only once the zone
    /// stack is deployed (`with_zone_id`).
    pub awaiting_zone: Vec<String>,
    /// Where the managed zone's stack is, (region, name), kept when
    /// `only_regions` leaves the zone stack out: its `HostedZoneId` output is
    /// what the stacks awaiting the zone get.
    pub zone_stack: Option<(String, String)>,
}

/// A region stack's name in a region the definition does not name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsentStack {
    pub region: String,
    pub stack_name: String,
}

impl Desired {
    pub fn stacks(&self) -> impl Iterator<Item = &DesiredStack> {
        self.zone
            .iter()
            .chain(self.waves.iter().flatten())
            .chain(self.global.iter())
    }

    /// Every stack awaiting the zone gets its id as the `HostedZoneId` parameter.
    pub fn with_zone_id(&self, parameter: &str, id: &str) -> Desired {
        let mut d = self.clone();
        let awaiting = std::mem::take(&mut d.awaiting_zone);
        for s in d
            .zone
            .iter_mut()
            .chain(d.waves.iter_mut().flatten())
            .chain(d.global.iter_mut())
            .filter(|s| awaiting.contains(&s.stack_name))
        {
            s.parameters.insert(parameter.to_string(), id.to_string());
        }
        d
    }

    /// Only the zone stack: what a deploy creates first when other stacks await
    /// its id.
    pub fn zone_only(&self) -> Desired {
        let mut d = self.clone();
        d.waves.clear();
        d.global = None;
        d.absent.clear();
        d.awaiting_zone.clear();
        d
    }

    /// Only the named regions' stacks (all when none are named): no zone, no global
    /// stack, and no removal of regions outside the definition.
    pub fn only_regions(&self, regions: &[String]) -> Desired {
        let mut d = self.clone();
        if regions.is_empty() {
            return d;
        }
        for wave in &mut d.waves {
            wave.retain(|s| regions.contains(&s.region));
        }
        d.waves.retain(|w| !w.is_empty());
        let kept: Vec<&str> = d
            .waves
            .iter()
            .flatten()
            .map(|s| s.stack_name.as_str())
            .collect();
        d.awaiting_zone.retain(|s| kept.contains(&s.as_str()));
        d.zone = None;
        d.global = None;
        d.absent.clear();
        d
    }
}
