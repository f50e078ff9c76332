//! `Cloud`: the few CloudFormation and health calls the deploy needs, as a trait.
//!
//! `aws::CloudApi` implements it against AWS (or the sandbox); the unit tests
//! implement it with an in-memory fake to check ordering and rollback decisions.

use crate::call_error::CallError;
use std::collections::BTreeMap;

/// A stack as CloudFormation describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackState {
    pub status: String,
    pub status_reason: Option<String>,
    pub parameters: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
}

/// Create or update, for a change set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeSetKind {
    Create,
    Update,
    /// Take existing resources (`resources_to_import`) into the stack.
    Import,
}

/// Everything a change set is created from.
#[derive(Debug, Clone)]
pub struct ChangeSetRequest {
    pub region: String,
    pub stack_name: String,
    pub name: String,
    pub kind: ChangeSetKind,
    pub template_body: String,
    pub parameters: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    /// For `ChangeSetKind::Import`: what is taken in, by identifier.
    pub resources_to_import: Vec<crate::plan::adopt::Adoption>,
}

/// One change of a change set, as CloudFormation reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSetChange {
    pub logical_id: String,
    pub resource_type: String,
    /// "Add", "Modify", "Remove" (also "Import", "Dynamic").
    pub action: String,
    /// "True", "False", "Conditional", or None when the service does not say.
    pub replacement: Option<String>,
}

/// A change set as CloudFormation describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSetState {
    /// CREATE_PENDING, CREATE_IN_PROGRESS, CREATE_COMPLETE, FAILED …
    pub status: String,
    pub execution_status: Option<String>,
    pub status_reason: Option<String>,
    pub changes: Vec<ChangeSetChange>,
}

/// One stack event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackEvent {
    pub event_id: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
    /// Seconds since the Unix epoch.
    pub timestamp: i64,
}

/// One resource of a deployed stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackResource {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
}

/// An Auto Scaling group as DescribeAutoScalingGroups reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AsgFleet {
    pub desired: u32,
    /// The launch template the group launches from: (id, version as the group
    /// names it: a number, `$Latest` or `$Default`).
    pub launch_template: Option<(String, String)>,
    pub target_group_arns: Vec<String>,
    pub instances: Vec<AsgInstance>,
}

/// One instance of a group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AsgInstance {
    pub id: String,
    /// InService, Pending, Terminating ...
    pub lifecycle: String,
    /// The launch-template version the instance was launched from.
    pub launch_template_version: Option<String>,
}

/// A DynamoDB table as DescribeTable reports it in one region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableState {
    /// ACTIVE, CREATING, UPDATING ...
    pub status: String,
    /// (region, replica status) of every replica the table lists.
    pub replicas: Vec<(String, String)>,
}

/// A load balancer's traffic over a window, from CloudWatch's metric data
/// (`AWS/ApplicationELB`): zero requests when none was reported.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Traffic {
    /// `RequestCount`, Sum.
    pub requests: f64,
    /// `HTTPCode_Target_5XX_Count` plus `HTTPCode_ELB_5XX_Count`, Sum.
    pub errors_5xx: f64,
    /// `TargetResponseTime`, p99, in milliseconds; None when not reported.
    pub p99_ms: Option<f64>,
}

/// The calls the deploy makes. Every method is one AWS call (or one paginated list).
#[allow(async_fn_in_trait)]
pub trait Cloud: Sync {
    /// DescribeStacks; None when the stack does not exist.
    async fn stack(&self, region: &str, stack: &str) -> Result<Option<StackState>, CallError>;
    /// GetTemplate (the original template body).
    async fn template(&self, region: &str, stack: &str) -> Result<String, CallError>;
    async fn create_change_set(&self, req: &ChangeSetRequest) -> Result<(), CallError>;
    /// DescribeChangeSet; None when it does not exist.
    async fn change_set(
        &self,
        region: &str,
        stack: &str,
        name: &str,
    ) -> Result<Option<ChangeSetState>, CallError>;
    /// ListChangeSets: the names of the stack's change sets.
    async fn change_sets(&self, region: &str, stack: &str) -> Result<Vec<String>, CallError>;
    async fn delete_change_set(
        &self,
        region: &str,
        stack: &str,
        name: &str,
    ) -> Result<(), CallError>;
    async fn execute_change_set(
        &self,
        region: &str,
        stack: &str,
        name: &str,
    ) -> Result<(), CallError>;
    /// UpdateStack with a whole template (used to put a stack back).
    async fn update_stack(
        &self,
        region: &str,
        stack: &str,
        template_body: &str,
        parameters: &BTreeMap<String, String>,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), CallError>;
    async fn delete_stack(&self, region: &str, stack: &str) -> Result<(), CallError>;
    /// DescribeStackEvents, newest first (first page is enough while polling).
    async fn events(&self, region: &str, stack: &str) -> Result<Vec<StackEvent>, CallError>;
    /// DescribeStackResources.
    async fn resources(&self, region: &str, stack: &str) -> Result<Vec<StackResource>, CallError>;
    /// DescribeAutoScalingGroups of one group; None when it does not exist.
    async fn asg_fleet(&self, region: &str, asg: &str) -> Result<Option<AsgFleet>, CallError>;
    /// DescribeLaunchTemplates: the template's latest version number; None when
    /// it does not exist.
    async fn launch_template_latest(
        &self,
        region: &str,
        launch_template_id: &str,
    ) -> Result<Option<String>, CallError>;
    /// DescribeVpcs and DescribeSubnets (filtered by id, so a missing one is simply
    /// absent): the ids of `vpcs` and `subnets` that exist.
    async fn network_found(
        &self,
        region: &str,
        vpcs: &[String],
        subnets: &[String],
    ) -> Result<Vec<String>, CallError>;
    /// HeadBucket: whether the bucket exists (in any account's hands: a 403 is
    /// "exists"; only a 404 is not).
    async fn bucket_exists(&self, region: &str, bucket: &str) -> Result<bool, CallError>;
    /// DescribeTable; None when the table does not exist in the region.
    async fn table(&self, region: &str, name: &str) -> Result<Option<TableState>, CallError>;
    /// DescribeTargetHealth: (target id, state) for every registered target.
    async fn target_health(
        &self,
        region: &str,
        target_group_arn: &str,
    ) -> Result<Vec<(String, String)>, CallError>;
    /// GetHealthCheckStatus: the checkers' reports (empty: no observations). Route 53
    /// refuses it for CALCULATED checks: read those with `health_check_config`.
    async fn health_check_reports(&self, health_check_id: &str) -> Result<Vec<String>, CallError>;
    /// GetHealthCheck: the check's type, children, threshold, Inverted and Disabled.
    async fn health_check_config(
        &self,
        health_check_id: &str,
    ) -> Result<super::check_health::CheckConfig, CallError>;
    /// DescribeAlarms (every page) of the metric alarms whose names start with
    /// `prefix`: (name, state).
    async fn alarm_states(
        &self,
        region: &str,
        prefix: &str,
    ) -> Result<Vec<(String, String)>, CallError>;
    /// GetMetricData: the traffic of the load balancer `load_balancer_arn` from
    /// `start` to `end` (seconds since the Unix epoch), in one period.
    async fn lb_traffic(
        &self,
        region: &str,
        load_balancer_arn: &str,
        start: i64,
        end: i64,
    ) -> Result<Traffic, CallError>;
    /// DescribeAvailabilityZones: the names of the region's Availability Zones this
    /// account can use (zone type `availability-zone`, state `available`).
    async fn availability_zones(&self, region: &str) -> Result<Vec<String>, CallError>;
    /// DescribeManagedPrefixLists: the id of the AWS-managed prefix list named
    /// `name` in the region, if there is one.
    async fn managed_prefix_list(
        &self,
        region: &str,
        name: &str,
    ) -> Result<Option<String>, CallError>;
    /// DescribeImages: the stack's copy of `source_ami` in the region (tagged
    /// `strata:source-ami=<source>` and `strata:stack=<stack>`), chosen as `ami copy`
    /// chooses (`ami::preferred_copy`).
    async fn ami_copy(
        &self,
        region: &str,
        stack: &str,
        source_ami: &str,
    ) -> Result<Option<String>, CallError>;
}
