//! The typed stack definition: what a `stacks/*.toml` file says, as Rust types.
//!
//! These types are the interface between `stack::load` and every later stage
//! (synth, policy, plan, deploy). Serde rejects unknown fields everywhere; the
//! semantic rules live in `stack::validate`. Field docs here are the reference
//! for `docs/stack-reference.md`.

use serde::{Deserialize, Serialize};

/// A whole stack definition, as read from one TOML file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackDef {
    /// Application name and environment.
    pub app: App,
    /// Public DNS name, hosted zone and the routed names.
    pub dns: Dns,
    /// The regions the service runs in, each a full regional build.
    pub regions: Vec<Region>,
    /// Order of the rollout, bake time, what to do on failure.
    pub rollout: Rollout,
    /// The compute tier: instances behind the load balancer.
    pub compute: Compute,
    /// The baked AMI the instances launch from.
    pub ami: Ami,
    /// DynamoDB tables.
    #[serde(default)]
    pub tables: Vec<Table>,
    /// SQS queues (each with its dead-letter queue).
    #[serde(default)]
    pub queues: Vec<Queue>,
    /// Object storage (one bucket per region).
    #[serde(default)]
    pub storage: Storage,
    /// The global edge (CloudFront).
    #[serde(default)]
    pub edge: Edge,
    /// The capacity model used by the N+1 check.
    pub capacity: CapacityModel,
    /// CloudWatch alarm thresholds the rollout watches.
    #[serde(default)]
    pub alarms: Alarms,
    /// Availability figures and the required minimum.
    #[serde(default)]
    pub availability: Availability,
    /// Policy settings: rules made advisory, with the reason.
    #[serde(default)]
    pub policy: Policy,
    /// Team operations: responsible person, deploy windows.
    #[serde(default)]
    pub operations: Operations,
    /// Usage assumptions of `strata cost` (defaults are printed with the estimate).
    #[serde(default)]
    pub cost: CostUsage,
    /// Account-hygiene thresholds of `strata audit`.
    #[serde(default)]
    pub audit: AuditThresholds,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct App {
    /// Application name: lowercase letters, digits and '-', 1-32 characters.
    pub name: String,
    /// Environment, e.g. "production" or "staging": same character rules as `name`.
    pub environment: String,
    /// Whether this environment is production (stricter operations rules).
    #[serde(default)]
    pub production: bool,
    /// The AWS account ids (12 digits) this stack belongs to; every changing
    /// command refuses credentials of any other account (`ops::account`). Empty:
    /// any account.
    #[serde(default)]
    pub account: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dns {
    /// The public DNS name users reach, e.g. "shop.example.com".
    pub domain: String,
    /// The Route 53 hosted zone the names live in, e.g. "example.com".
    pub hosted_zone: String,
    /// Hosted zone id, if the zone already exists (otherwise looked up by name).
    #[serde(default)]
    pub hosted_zone_id: Option<String>,
    /// Let strata create and own the hosted zone (a `<app>-<env>-dns` stack in
    /// us-east-1, deployed before any region). Default false: the zone must exist.
    #[serde(default)]
    pub manage_zone: bool,
    /// The latency-routed origin name CloudFront points at.
    /// Default: "origin." + domain.
    #[serde(default)]
    pub origin_name: Option<String>,
    /// The failover-routed name, used when regions have failover roles.
    /// Default: "failover." + domain.
    #[serde(default)]
    pub failover_name: Option<String>,
    /// The user's own ACM certificates for the load balancers' HTTPS listeners,
    /// one per region (ACM certificates are regional): region name -> ARN. A
    /// region without one gets a certificate strata creates and validates in
    /// the zone.
    #[serde(default)]
    pub certificates: std::collections::BTreeMap<String, String>,
    /// Opt out of HTTPS: load balancers listen on plain HTTP, CloudFront reaches
    /// them over HTTP and no certificate is made. Refused on a production stack.
    #[serde(default)]
    pub plain_http: bool,
}

impl Dns {
    pub fn origin_name(&self) -> String {
        self.origin_name
            .clone()
            .unwrap_or_else(|| format!("origin.{}", self.domain))
    }
    pub fn failover_name(&self) -> String {
        self.failover_name
            .clone()
            .unwrap_or_else(|| format!("failover.{}", self.domain))
    }
    /// Whether the stack is served over HTTPS (the default; `plain_http` opts out).
    pub fn https(&self) -> bool {
        !self.plain_http
    }
    /// The user's own certificate for `region`'s load balancer, if given.
    pub fn certificate_for(&self, region: &str) -> Option<&str> {
        self.certificates.get(region).map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// AWS region name, e.g. "us-east-1".
    pub name: String,
    /// The VPC's IPv4 CIDR, /16 to /24, not overlapping any other region's.
    pub cidr: String,
    /// Availability Zones to span: two or more, each in this region.
    pub azs: Vec<String>,
    /// Failover role, where failover routing is used: "primary" or "secondary".
    /// Every region is always a latency-routing member.
    #[serde(default)]
    pub failover: Option<FailoverRole>,
    /// Per-region override of the compute tier's capacity.
    #[serde(default)]
    pub capacity: Option<Capacity>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailoverRole {
    Primary,
    Secondary,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    /// Waves of regions, deployed one wave at a time; each region exactly once.
    /// Give either `waves` or `order` (one region per wave).
    #[serde(default)]
    pub waves: Option<Vec<Vec<String>>>,
    /// Region order, one region per wave.
    #[serde(default)]
    pub order: Option<Vec<String>>,
    /// How long to watch a region after its health gate passed, e.g. "5m", "30s".
    #[serde(default = "default_bake")]
    pub bake: String,
    /// How long a region may take to pass its health gate, e.g. "10m".
    #[serde(default = "default_gate_timeout")]
    pub gate_timeout: String,
    /// What to do when a region fails: roll back that region only, or all regions done.
    #[serde(default)]
    pub on_failure: OnFailure,
    /// Compare the baking region with the regions still on the old version.
    #[serde(default)]
    pub canary: Option<Canary>,
}

/// `[rollout.canary]`: at the end of a region's bake, its load balancer's 5xx rate
/// and p99 latency over the bake (CloudWatch metric data) are compared with the
/// regions still on the old version; beyond these margins the region fails its
/// bake and is rolled back (docs/deploy.md, "The canary").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Canary {
    /// Percentage points the 5xx rate may exceed the old version's, e.g. 1.0:
    /// 0.5 % on the old version allows up to 1.5 % on the new one.
    #[serde(default = "default_max_5xx_increase")]
    pub max_5xx_increase: f64,
    /// Milliseconds the p99 target response time may exceed the slowest region
    /// on the old version.
    #[serde(default = "default_max_p99_increase_ms")]
    pub max_p99_increase_ms: f64,
    /// Fewer requests than this in the baking region or in the old regions
    /// together and the comparison is skipped (said in an event): too little
    /// traffic says nothing.
    #[serde(default = "default_min_requests")]
    pub min_requests: u64,
}

fn default_max_5xx_increase() -> f64 {
    1.0
}
fn default_max_p99_increase_ms() -> f64 {
    100.0
}
fn default_min_requests() -> u64 {
    100
}

fn default_bake() -> String {
    "60s".to_string()
}
fn default_gate_timeout() -> String {
    "10m".to_string()
}

impl Rollout {
    /// The waves, whichever way they were written (validation guarantees one form).
    pub fn waves(&self) -> Vec<Vec<String>> {
        match (&self.waves, &self.order) {
            (Some(w), _) => w.clone(),
            (None, Some(o)) => o.iter().map(|r| vec![r.clone()]).collect(),
            (None, None) => Vec::new(),
        }
    }

    /// The bake time (validated by `stack::load`).
    pub fn bake_duration(&self) -> Result<std::time::Duration, super::duration::DurationError> {
        super::duration::parse_duration(&self.bake)
    }

    /// The health-gate timeout (validated by `stack::load`).
    pub fn gate_timeout_duration(
        &self,
    ) -> Result<std::time::Duration, super::duration::DurationError> {
        super::duration::parse_duration(&self.gate_timeout)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnFailure {
    /// Roll back the failed region and stop.
    #[default]
    RollbackRegion,
    /// Roll back the failed region and every region already done, in reverse order.
    RollbackAll,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compute {
    /// EC2 instance type, e.g. "t3.micro".
    pub instance_type: String,
    /// Port the application listens on.
    pub app_port: u16,
    /// Path of the health check, starting with '/'.
    pub health_check_path: String,
    /// Target average CPU utilisation (percent) for target-tracking scaling.
    #[serde(default = "default_cpu_target")]
    pub scaling_cpu_target: f64,
    /// Seconds the ASG waits before trusting ELB health checks of a new instance.
    #[serde(default = "default_grace")]
    pub health_check_grace_seconds: u32,
    /// Default capacity of every region (a region may override it).
    pub capacity: Capacity,
    /// Root volume size in GiB.
    #[serde(default = "default_volume")]
    pub root_volume_gib: u32,
}

fn default_cpu_target() -> f64 {
    50.0
}
fn default_grace() -> u32 {
    120
}
fn default_volume() -> u32 {
    20
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    pub min: u32,
    pub desired: u32,
    pub max: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ami {
    /// The source AMI id, "ami-" and 8 or 17 hex digits.
    pub id: String,
    /// The region the AMI was baked in; must be one of the stack's regions.
    pub build_region: String,
    /// Encrypt the regional copies.
    #[serde(default)]
    pub encrypted: bool,
    /// KMS key for encrypted copies (default: the account's EBS key).
    #[serde(default)]
    pub kms_key_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// Table name suffix; the physical name is "<app>-<env>-<name>".
    pub name: String,
    pub partition_key: Key,
    #[serde(default)]
    pub sort_key: Option<Key>,
    #[serde(default)]
    pub billing: Billing,
    /// Read capacity units (provisioned billing only).
    #[serde(default)]
    pub read_capacity: Option<u32>,
    /// Write capacity units (provisioned billing only).
    #[serde(default)]
    pub write_capacity: Option<u32>,
    /// Replicate to every region (a global table). Default true.
    #[serde(default = "yes")]
    pub global: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Key {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: KeyType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyType {
    S,
    N,
    B,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Billing {
    #[default]
    OnDemand,
    Provisioned,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    /// Queue name suffix; the physical name is "<app>-<env>-<name>".
    pub name: String,
    /// Receives before a message moves to the dead-letter queue.
    #[serde(default = "default_max_receive")]
    pub max_receive_count: u32,
    /// Visibility timeout in seconds.
    #[serde(default = "default_visibility")]
    pub visibility_timeout_seconds: u32,
    /// How long the dead-letter queue keeps messages (seconds, max 1209600).
    #[serde(default = "default_dlq_retention")]
    pub dead_letter_retention_seconds: u32,
}

fn default_max_receive() -> u32 {
    5
}
fn default_visibility() -> u32 {
    30
}
fn default_dlq_retention() -> u32 {
    1_209_600
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    /// Create the per-region bucket.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Replicate every bucket to every other region's bucket.
    #[serde(default = "yes")]
    pub replication: bool,
    /// Days a noncurrent object version is kept before S3 expires it (versioning
    /// keeps every overwritten or deleted version otherwise, forever).
    #[serde(default = "default_noncurrent_days")]
    pub noncurrent_version_days: u32,
}

fn default_noncurrent_days() -> u32 {
    90
}

impl Default for Storage {
    fn default() -> Self {
        Storage {
            enabled: true,
            replication: true,
            noncurrent_version_days: default_noncurrent_days(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edge {
    /// Put a CloudFront distribution in front of the latency-routed origin.
    #[serde(default = "yes")]
    pub cloudfront: bool,
    /// The user's own ACM certificate (us-east-1) for the public name on
    /// CloudFront; without it strata creates one.
    #[serde(default)]
    pub certificate_arn: Option<String>,
    /// CloudFront price class.
    #[serde(default = "default_price_class")]
    pub price_class: String,
}

fn default_price_class() -> String {
    "PriceClass_100".to_string()
}

impl Default for Edge {
    fn default() -> Self {
        Edge {
            cloudfront: true,
            certificate_arn: None,
            price_class: default_price_class(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityModel {
    /// Peak requests per second for the whole service.
    pub peak_rps: u32,
    /// Requests per second one instance carries.
    pub rps_per_instance: u32,
    /// Failures the deployment must survive at peak: "az" or "region" (region implies az).
    #[serde(default)]
    pub tolerate: Tolerate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tolerate {
    Az,
    #[default]
    Region,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alarms {
    /// Load balancer 5xx responses per minute that raise the alarm.
    #[serde(default = "default_5xx")]
    pub http_5xx_per_minute: u32,
    /// Unhealthy targets that raise the alarm.
    #[serde(default = "one")]
    pub unhealthy_hosts: u32,
    /// Global table replication latency (milliseconds) that raises the alarm.
    #[serde(default = "default_repl")]
    pub replication_latency_ms: u32,
    /// Target (application) 5xx responses per minute that raise the alarm: a
    /// release whose instances answer 500 trips it even when the load balancer
    /// itself answers nothing but the instances' errors.
    #[serde(default = "default_target_5xx")]
    pub target_5xx_per_minute: u32,
    /// p99 target response time (milliseconds) that raises the alarm.
    #[serde(default = "default_response_ms")]
    pub target_response_time_ms: u32,
    /// Objects per minute that failed to replicate to one destination bucket.
    #[serde(default = "one")]
    pub replication_failures_per_minute: u32,
    /// Who is told when an alarm changes state: e-mail addresses, HTTPS
    /// endpoints, or existing SNS topics (see [`NotifyTarget`]).
    #[serde(default)]
    pub notify: Vec<NotifyTarget>,
}

fn default_5xx() -> u32 {
    50
}
fn one() -> u32 {
    1
}
fn default_repl() -> u32 {
    60_000
}
fn default_target_5xx() -> u32 {
    10
}
fn default_response_ms() -> u32 {
    2_000
}

impl Default for Alarms {
    fn default() -> Self {
        Alarms {
            http_5xx_per_minute: default_5xx(),
            unhealthy_hosts: one(),
            replication_latency_ms: default_repl(),
            target_5xx_per_minute: default_target_5xx(),
            target_response_time_ms: default_response_ms(),
            replication_failures_per_minute: one(),
            notify: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Availability {
    /// Minimum availability of the whole service, in percent (e.g. 99.99).
    #[serde(default)]
    pub minimum: Option<f64>,
    /// Per-component availability overrides, in percent, by component name
    /// (see `strata check` and docs/stack-reference.md for the names and defaults).
    #[serde(default)]
    pub components: std::collections::BTreeMap<String, f64>,
    /// What one hour of the whole service being down costs the business, in USD:
    /// `strata cost` then prices each alternative's expected yearly downtime.
    #[serde(default)]
    pub downtime_cost_per_hour: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Rules made advisory: reported, but they do not stop a deploy.
    #[serde(default)]
    pub advisory: Vec<AdvisoryRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvisoryRule {
    /// The rule's name, as `strata check` prints it.
    pub rule: String,
    /// Why it is acceptable here; printed with every report.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operations {
    /// Refuse mutating commands without a responsible person (`--dri`).
    #[serde(default)]
    pub require_dri: bool,
    /// Deploy windows (UTC). Empty: any time.
    #[serde(default)]
    pub windows: Vec<DeployWindow>,
    /// The stack file (a path relative to this one) whose deployment must already
    /// run this stack's AMI, healthy, before `deploy` of this one goes ahead
    /// (promotion: production runs exactly what staging ran; `ops::promotion`).
    #[serde(default)]
    pub promote_from: Option<String>,
    /// Four eyes: how many distinct people a `deploy` needs, the deployer counted
    /// (1, the default: no approval; 2: one other person's `strata approve` of
    /// the same plan id; `ops::approvals`).
    #[serde(default = "default_approvals")]
    pub approvals: u8,
}

fn default_approvals() -> u8 {
    1
}

impl Default for Operations {
    fn default() -> Self {
        Operations {
            require_dri: false,
            windows: Vec::new(),
            promote_from: None,
            approvals: default_approvals(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployWindow {
    /// Days, as "mon".."sun".
    pub days: Vec<String>,
    /// First UTC hour of the window (0-23).
    pub start_hour: u8,
    /// UTC hour the window ends (1-24, exclusive).
    pub end_hour: u8,
}

/// Usage assumptions for `strata cost`, monthly and for the whole service. Every
/// field is optional: an absent one takes the default `strata cost` prints.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostUsage {
    /// Requests a month reaching the service (default: 30% of `capacity.peak_rps`, all month).
    #[serde(default)]
    pub requests_per_month: Option<f64>,
    /// GB a month sent to users (default: 20 KB per request).
    #[serde(default)]
    pub gb_out_per_month: Option<f64>,
    /// GB held in the object store, the whole data set (default 100).
    #[serde(default)]
    pub gb_stored: Option<f64>,
    /// GB of new objects a month, replicated to every other region (default 10).
    #[serde(default)]
    pub gb_written_per_month: Option<f64>,
    /// DynamoDB item writes (1 KB each) a month (default: 10% of requests).
    #[serde(default)]
    pub writes_per_month: Option<f64>,
    /// DynamoDB item reads (4 KB each, strongly consistent) a month (default: one per request).
    #[serde(default)]
    pub reads_per_month: Option<f64>,
    /// GB held in the DynamoDB tables, one replica's worth (default 10).
    #[serde(default)]
    pub table_gb_stored: Option<f64>,
    /// GB a month through the NAT gateways, per region (default 10).
    #[serde(default)]
    pub nat_gb_per_month: Option<f64>,
    /// Messages a month through the queues (default: one per write).
    #[serde(default)]
    pub queue_messages_per_month: Option<f64>,
    /// Route 53 queries a month on the latency / failover names (default 1,000,000).
    #[serde(default)]
    pub dns_queries_per_month: Option<f64>,
    /// The instance type's on-demand USD per hour in us-east-1, for a type the
    /// price table lacks (or to use a negotiated price).
    #[serde(default)]
    pub instance_hour_usd: Option<f64>,
}

/// Thresholds of `strata audit` (the account-hygiene checks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditThresholds {
    /// An active access key older than this many days must be rotated (default 90).
    #[serde(default = "default_key_age")]
    pub access_key_max_age_days: u32,
    /// A user, password or access key unused for this many days is stale (default 90).
    #[serde(default = "default_unused")]
    pub unused_days: u32,
    /// People who must be able to act as administrators (break-glass), default 2.
    #[serde(default = "default_admins")]
    pub min_admins: u32,
    /// EC2 key pairs are allowed in the stack's regions (default false: a fleet on a
    /// baked AMI needs none; use Session Manager to reach an instance).
    #[serde(default)]
    pub allow_key_pairs: bool,
}

fn default_key_age() -> u32 {
    90
}
fn default_unused() -> u32 {
    90
}
fn default_admins() -> u32 {
    2
}

impl Default for AuditThresholds {
    fn default() -> Self {
        AuditThresholds {
            access_key_max_age_days: default_key_age(),
            unused_days: default_unused(),
            min_admins: default_admins(),
            allow_key_pairs: false,
        }
    }
}

impl StackDef {
    /// The stack's base name, "<app>-<environment>".
    pub fn stack_name(&self) -> String {
        format!("{}-{}", self.app.name, self.app.environment)
    }

    /// The CloudFormation stack name of one region's stack.
    pub fn region_stack_name(&self, region: &str) -> String {
        format!("{}-{}", self.stack_name(), region)
    }

    /// The CloudFormation stack name of the global stack (deployed in us-east-1).
    pub fn global_stack_name(&self) -> String {
        format!("{}-global", self.stack_name())
    }

    pub fn region(&self, name: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.name == name)
    }

    /// A region's capacity: its override or the compute default.
    pub fn capacity_of(&self, region: &Region) -> Capacity {
        region.capacity.unwrap_or(self.compute.capacity)
    }
}

/// The region the global stack (CloudFront, public DNS alias) is deployed in.
pub const GLOBAL_REGION: &str = "us-east-1";

/// One `alarms.notify` entry, parsed: where an alarm's state changes (and the
/// deploy and DR commands' start, result and rollback) are sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum NotifyTarget {
    /// An e-mail subscription (the address must confirm it, as SNS requires).
    Email(String),
    /// An HTTPS endpoint subscription (SNS posts JSON; it must confirm it).
    Https(String),
    /// An existing SNS topic: the alarms of its own region act on it directly
    /// (an alarm's actions are in the alarm's region).
    Topic { arn: String, region: String },
}

impl NotifyTarget {
    /// The text as the stack file spells it.
    pub fn as_str(&self) -> &str {
        match self {
            NotifyTarget::Email(s) | NotifyTarget::Https(s) => s,
            NotifyTarget::Topic { arn, .. } => arn,
        }
    }
}

impl TryFrom<String> for NotifyTarget {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        if let Some(rest) = s.strip_prefix("arn:") {
            // arn:<partition>:sns:<region>:<account>:<name>
            let parts: Vec<&str> = rest.split(':').collect();
            let ok = parts.len() == 5
                && parts[1] == "sns"
                && !parts[2].is_empty()
                && parts[3].len() == 12
                && parts[3].bytes().all(|b| b.is_ascii_digit())
                && !parts[4].is_empty();
            return if ok {
                Ok(NotifyTarget::Topic {
                    region: parts[2].to_string(),
                    arn: s,
                })
            } else {
                Err(format!(
                    "`{s}` is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"
                ))
            };
        }
        if s.starts_with("http://") {
            return Err(format!(
                "`{s}` is plain HTTP: notifications go to HTTPS endpoints only"
            ));
        }
        if let Some(rest) = s.strip_prefix("https://") {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            return if host.is_empty() || host.contains(char::is_whitespace) {
                Err(format!("`{s}` has no host"))
            } else {
                Ok(NotifyTarget::Https(s))
            };
        }
        let valid_email = match s.split_once('@') {
            Some((user, domain)) => {
                !user.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
                    && !s.contains(char::is_whitespace)
            }
            None => false,
        };
        if valid_email {
            Ok(NotifyTarget::Email(s))
        } else {
            Err(format!(
                "`{s}` is not an e-mail address, an https:// URL or an SNS topic ARN"
            ))
        }
    }
}

impl From<NotifyTarget> for String {
    fn from(t: NotifyTarget) -> String {
        t.as_str().to_string()
    }
}

#[cfg(test)]
mod notify_tests {
    use super::NotifyTarget;

    fn parse(s: &str) -> Result<NotifyTarget, String> {
        NotifyTarget::try_from(s.to_string())
    }

    #[test]
    fn each_kind_of_target_is_recognised() {
        assert_eq!(
            parse("ops@example.com"),
            Ok(NotifyTarget::Email("ops@example.com".into()))
        );
        assert_eq!(
            parse("https://hooks.example.com/strata"),
            Ok(NotifyTarget::Https(
                "https://hooks.example.com/strata".into()
            ))
        );
        assert_eq!(
            parse("arn:aws:sns:eu-west-1:123456789012:ops"),
            Ok(NotifyTarget::Topic {
                arn: "arn:aws:sns:eu-west-1:123456789012:ops".into(),
                region: "eu-west-1".into()
            })
        );
    }

    #[test]
    fn plain_http_and_malformed_targets_are_refused_with_the_reason() {
        assert!(parse("http://hooks.example.com")
            .unwrap_err()
            .contains("HTTPS"));
        assert!(parse("https://").unwrap_err().contains("no host"));
        assert!(parse("arn:aws:sqs:eu-west-1:123456789012:q").is_err());
        assert!(parse("arn:aws:sns:eu-west-1:1234:ops").is_err());
        for bad in [
            "ops",
            "ops@",
            "@example.com",
            "ops@example",
            "o ps@example.com",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
