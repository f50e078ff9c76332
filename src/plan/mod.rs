//! Plan stage: what a deploy would do to every stack, decided before anything changes.
//!
//! Pure types and logic only. `deploy` fills a `Plan` from CloudFormation change
//! sets (through its `Cloud` trait) and then carries it out; `strata plan` prints it.

pub mod adopt;
mod at_risk;
mod data;
mod desired;
mod diff;
mod from_synth;
mod global_table;
mod id;
mod replicas;
mod retire;
pub mod timing;

pub use at_risk::{at_risk, risk_of, AtRisk};
pub use data::{data_resources, DataKind, DataResource};
pub use desired::{AbsentStack, Desired, DesiredStack, StackRole};
pub use diff::{decide, local_changes, merge_replacement, parameter_changes, replaces};
pub use from_synth::{absent_stacks, desired, version_ami, version_of};
pub use global_table::{declares_global_table, home_move, HomeMove};
pub use id::{
    change_set_name, definition_hash, deployment_id, is_plan_id, plan_id, previous_change_set,
    CHANGE_SET_PREFIX, PREVIOUS_PREFIX,
};
pub use replicas::{replica_regions, replica_steps, ReplicaStep};
pub use retire::{keep_data, out_of_service, DataKept, OutOfService, RetireError};

use serde::Serialize;
use std::collections::BTreeMap;

/// Everything a deploy would change, in rollout order.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub deployment_id: String,
    /// The version every stack will carry (`strata:version` tag).
    pub version: String,
    /// The zone stack, deployed first when the definition manages the zone.
    pub zone: Option<RegionPlan>,
    pub waves: Vec<Vec<RegionPlan>>,
    /// The global stack, deployed last.
    pub global: Option<RegionPlan>,
    /// Regions that left the definition: taken out of DNS and replication before
    /// the waves, deleted after the global stack.
    pub removals: Vec<RegionPlan>,
    /// The replacements that lose data or traffic in a running region
    /// (`at_risk`): a deploy refuses each one not named with `--allow-replace`.
    pub at_risk: Vec<AtRisk>,
    /// The stacks not planned yet because they take the managed zone's id, which
    /// exists only once the zone stack is created: the deploy creates the zone
    /// first, then plans these and asks again (`Desired::awaiting_zone`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub awaiting_zone: Vec<String>,
}

impl Plan {
    /// Every stack plan, in rollout order (zone, waves, global), then the removals.
    pub fn stacks(&self) -> impl Iterator<Item = &RegionPlan> {
        self.zone
            .iter()
            .chain(self.waves.iter().flatten())
            .chain(self.global.iter())
            .chain(self.removals.iter())
    }

    /// True when no stack has anything to do.
    pub fn is_no_change(&self) -> bool {
        self.stacks().all(|s| s.action == StackAction::NoChange) && self.awaiting_zone.is_empty()
    }
}

/// What happens to one stack.
#[derive(Debug, Clone, Serialize)]
pub struct RegionPlan {
    pub region: String,
    pub stack_name: String,
    pub role: StackRole,
    pub action: StackAction,
    pub changes: Vec<ResourceChange>,
    /// Stack parameters whose value changes (the AMI of an AMI update).
    pub parameters: Vec<ParameterChange>,
    /// What the stack ran before this deploy (None for a new stack).
    #[serde(skip)]
    pub previous: Option<Deployed>,
    /// The change set holding this plan, while it exists.
    pub change_set: Option<ChangeSetRef>,
    /// The updates before the stack's own when a global table gains or loses
    /// several replicas (`replica_steps`); empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replica_steps: Vec<ReplicaStep>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StackAction {
    Create,
    Update,
    NoChange,
    /// The region left the definition: out of service, then deleted.
    Remove,
}

/// One resource that a change set adds, modifies or removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceChange {
    pub logical_id: String,
    pub resource_type: String,
    pub action: ChangeAction,
    /// True when the change replaces the resource (a new physical resource).
    pub replaces: bool,
    /// The top-level properties that change (for a modification): those whose
    /// value differs between the templates, and those that refer to a changed
    /// parameter (`{"Ref": "AmiId"}`), which CloudFormation resolves at execution.
    pub properties: Vec<String>,
}

/// One stack parameter whose value changes: `old` is None for a new parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParameterChange {
    pub name: String,
    pub old: Option<String>,
    pub new: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeAction {
    Add,
    Modify,
    Remove,
    /// Taken into the stack as it is (`adopt`): a kept bucket or table.
    Import,
}

/// What is deployed in a stack: enough to put it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployed {
    pub template_body: String,
    pub parameters: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

/// A change set that exists in CloudFormation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeSetRef {
    pub region: String,
    pub stack_name: String,
    pub name: String,
}
