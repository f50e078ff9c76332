//! The command line, as clap types. Parsing only: no behaviour lives here.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "strata",
    version,
    about = "Multi-region, active-active infrastructure as code for one web service on AWS",
    long_about = "strata builds every region of a web service from one typed stack definition \
(stacks/*.toml), wires latency and failover DNS between the regions, and rolls changes out \
one region at a time with health gates and automatic rollback.",
    after_long_help = strata::exit_code::HELP_TABLE,
    after_help = strata::exit_code::HELP_TABLE
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Send every AWS call to this endpoint (e.g. the sandbox). Also read from AWS_ENDPOINT_URL.
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// AWS shared-config profile to use. Also read from AWS_PROFILE.
    #[arg(long, global = true, env = "AWS_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// Output format: human (progress bars on a terminal) or json (one object per line).
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
    /// More detail (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a stack file's syntax and meaning; no AWS call.
    Validate(FileArg),
    /// Write the CloudFormation templates (one per region, one global) for a stack.
    Synth(SynthArgs),
    /// Run the policies, the high-availability checks and the availability estimate.
    Check(FileArg),
    /// Show what a deploy would change, per region, from CloudFormation change sets.
    Plan(PlanArgs),
    /// The monthly cost per region and component, and the price of each nine; no AWS call.
    Cost(FileArg),
    /// Account hygiene through IAM and EC2: root MFA and keys, administrators, old or
    /// unused keys and users, the password policy, EC2 key pairs. Read-only.
    Audit(AuditArgs),
    /// Roll a stack out, one region (or wave) at a time, with health gates.
    Deploy(DeployArgs),
    /// Bring regions back to the template they ran before the last deploy.
    Rollback(RollbackArgs),
    /// One table of every region: stack, version, capacity, health, replication.
    Status(StatusArgs),
    /// What differs between each region's live resources and its stack's template
    /// (ASG limits, security-group rules, routes, alarms, records, replication,
    /// SSM parameters); exit 8 when something does. Read-only.
    Drift(DriftArgs),
    /// Baked AMIs: bake, copy across regions, prune.
    #[command(subcommand)]
    Ami(AmiCommand),
    /// Disaster recovery: failover, rebuild, drill.
    #[command(subcommand)]
    Dr(DrCommand),
    /// Delete every stack of a definition (global first, then regions in reverse order).
    Destroy(DestroyArgs),
    /// Break a stack's deploy lock whose holder died.
    Unlock(UnlockArgs),
    /// Approve a plan as a second person (four eyes, `operations.approvals`).
    Approve(ApproveArgs),
    /// The local AWS sandbox (moto in server mode).
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    Man,
}

#[derive(Debug, Args)]
pub struct FileArg {
    /// The stack definition, e.g. stacks/example.toml.
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The stack definition, e.g. stacks/example.toml.
    pub file: PathBuf,
    /// Add a DRIFT column: the properties of each region that differ from its
    /// stack's template (what `strata drift` lists).
    #[arg(long)]
    pub drift: bool,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The stack definition, e.g. stacks/example.toml.
    pub file: PathBuf,
    /// Only these regions (repeatable); default: every region of the definition.
    #[arg(long = "region")]
    pub regions: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// The stack definition, e.g. stacks/example.toml.
    pub file: PathBuf,
    /// Directory to write the templates to.
    #[arg(short = 'o', long = "out", default_value = "cdk.out")]
    pub out: PathBuf,
    /// Which cross-region references the regional templates carry: `build` (none:
    /// a region's first creation) or `wired` (replication and DNS records).
    #[arg(long, default_value = "wired", value_parser = ["build", "wired"])]
    pub phase: String,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// A stack definition: its `[audit]` thresholds and its regions (for key pairs).
    pub file: Option<PathBuf>,
    /// Regions to look for EC2 key pairs in (repeatable; default: the stack's, else us-east-1).
    #[arg(long = "region")]
    pub regions: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The stack definition, e.g. stacks/example.toml.
    pub file: PathBuf,
    /// Only these regions (repeatable).
    #[arg(long = "region")]
    pub regions: Vec<String>,
}

#[derive(Debug, Args, Clone)]
pub struct OpsArgs {
    /// The directly responsible individual (default: git / CI user, then AWS caller identity).
    #[arg(long, env = "STRATA_DRI")]
    pub dri: Option<String>,
    /// Deploy outside the definition's deploy windows, for this recorded reason.
    #[arg(long, value_name = "REASON")]
    pub outside_window: Option<String>,
    /// Break the lock held by this lock id before taking it.
    #[arg(long, value_name = "LOCK_ID")]
    pub force_unlock: Option<String>,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The stack definition, e.g. stacks/example.toml.
    pub file: PathBuf,
    /// Do not ask for confirmation (needed off a terminal).
    #[arg(short, long)]
    pub yes: bool,
    /// What to do when a region fails (default: the definition's `rollout.on_failure`).
    #[arg(long, value_enum)]
    pub on_failure: Option<OnFailureArg>,
    /// Override the bake time of the definition (e.g. "0s" in a sandbox).
    #[arg(long)]
    pub bake: Option<String>,
    /// Accept that the plan replaces this resource of a running region (a table,
    /// bucket or queue: its data; the VPC, a subnet or a NAT gateway: its traffic).
    /// LOGICAL_ID names it in every region, REGION:LOGICAL_ID in one; repeatable.
    /// Without it such a plan is refused (exit 2).
    #[arg(long = "allow-replace", value_name = "LOGICAL_ID")]
    pub allow_replace: Vec<String>,
    #[command(flatten)]
    pub ops: OpsArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OnFailureArg {
    RollbackRegion,
    RollbackAll,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The stack definition, e.g. stacks/example.toml.
    pub file: PathBuf,
    /// Only this region (repeatable); default: every region.
    #[arg(long = "region")]
    pub regions: Vec<String>,
    /// Do not ask for confirmation (needed off a terminal).
    #[arg(short, long)]
    pub yes: bool,
    #[command(flatten)]
    pub ops: OpsArgs,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// The stack definition, e.g. stacks/example.toml.
    pub file: PathBuf,
    /// Only this region (repeatable); default: every region and the global stack.
    #[arg(long = "region")]
    pub regions: Vec<String>,
    /// Do not ask for confirmation (needed off a terminal).
    #[arg(short, long)]
    pub yes: bool,
    /// Empty (every object version and delete marker) and delete this bucket or
    /// table (repeatable; its exact name, as destroy lists what it kept). Buckets
    /// and tables not named are kept; --yes never deletes data.
    #[arg(long = "delete-data", value_name = "NAME")]
    pub delete_data: Vec<String>,
    #[command(flatten)]
    pub ops: OpsArgs,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The stack definition, e.g. stacks/example.toml.
    pub file: PathBuf,
    /// The plan id `strata plan FILE` prints (it must be the file's plan now).
    pub plan_id: String,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The stack definition, e.g. stacks/example.toml.
    pub file: PathBuf,
    /// The lock id printed by the refused command (required unless --any).
    #[arg(long)]
    pub id: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AmiCommand {
    /// Create an image from a builder instance and wait until it is available.
    Bake {
        /// The running builder instance to image (i-...).
        #[arg(long)]
        instance: String,
        /// The region the builder instance runs in (the image is made there).
        #[arg(long)]
        region: String,
        /// The image's name, e.g. "shop-1.4.2" (also its `strata:version` tag).
        #[arg(long)]
        name: String,
        /// Give up waiting for the image after this long (e.g. "30m").
        #[arg(long, default_value = "30m")]
        timeout: String,
    },
    /// Copy the definition's source AMI into every region of the stack, at once.
    Copy {
        /// The stack definition, e.g. stacks/example.toml.
        file: PathBuf,
        /// The image to copy (default: the definition's `ami.id`).
        #[arg(long)]
        source: Option<String>,
        /// The region the source image is in (default: the definition's `ami.build_region`).
        #[arg(long)]
        source_region: Option<String>,
        /// Give up waiting for the copies after this long (e.g. "1h"); a region whose
        /// copy is not available by then is reported as failed.
        #[arg(long, default_value = "1h")]
        timeout: String,
        #[command(flatten)]
        ops: OpsArgs,
    },
    /// Deregister old copies (and snapshots), keeping the newest N and every one in use.
    Prune {
        /// The stack definition, e.g. stacks/example.toml.
        file: PathBuf,
        /// How many of the newest copies to keep in each region (images in use are always kept).
        #[arg(long, default_value_t = 3)]
        keep: usize,
        #[command(flatten)]
        ops: OpsArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum DrCommand {
    /// Take a failed region out of service (through Route 53 only) and scale the survivors.
    Failover {
        /// The stack definition, e.g. stacks/example.toml.
        file: PathBuf,
        /// The failed region to take out of service.
        #[arg(long)]
        region: String,
        #[command(flatten)]
        ops: OpsArgs,
    },
    /// Rebuild a lost region from the definition and put it back into service.
    Rebuild {
        /// The stack definition, e.g. stacks/example.toml.
        file: PathBuf,
        /// The lost region to rebuild and put back into service.
        #[arg(long)]
        region: String,
        /// The surviving region to copy the AMI from.
        #[arg(long)]
        from: Option<String>,
        /// Watch the rebuilt region for this long after its health gate (default: rollout.bake).
        #[arg(long, value_name = "DURATION")]
        bake: Option<String>,
        #[command(flatten)]
        ops: OpsArgs,
    },
    /// After a recovery: move dead-letter messages back to their queues, then watch
    /// the write buffer (the stack's queues) drain.
    Repair {
        /// The stack definition, e.g. stacks/example.toml.
        file: PathBuf,
        /// Only this region's queues (default: every region's).
        #[arg(long)]
        region: Option<String>,
        /// At most this many messages moved out of one dead-letter queue; one holding
        /// more is left as it is and named.
        #[arg(long, value_name = "N", default_value_t = strata::dr::repair::DEFAULT_MAX_MESSAGES,
              value_parser = clap::value_parser!(u64).range(1..))]
        max_messages: u64,
        /// Wait at most this long for the write buffer to drain ("0": read its depth once).
        #[arg(long, value_name = "DURATION", default_value = "10m")]
        drain_timeout: String,
        #[command(flatten)]
        ops: OpsArgs,
    },
    /// Copy into a region's bucket the objects the other regions' buckets hold and
    /// it lacks (objects from before it joined); idempotent, resumable.
    Backfill {
        /// The stack definition, e.g. stacks/example.toml.
        file: PathBuf,
        /// The region whose bucket receives the objects.
        #[arg(long)]
        region: String,
        /// Count what is missing; copy nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        ops: OpsArgs,
    },
    /// What the routed DNS names answer now (strata's model of Route 53 routing).
    Dns {
        /// The stack definition, e.g. stacks/example.toml.
        file: PathBuf,
    },
    /// A chaos game: break something, check it recovers; report recovery times.
    Drill {
        /// The stack definition, e.g. stacks/example.toml.
        file: PathBuf,
        /// What to break: `region` (deploy, break a region, fail over, rebuild),
        /// `instance` (terminate one instance per region; the group replaces it) or
        /// `az` (lose one zone per region: its subnets, instances and NAT route;
        /// the other zones carry the load; put back).
        #[arg(long, value_enum, default_value = "region")]
        fault: DrillFault,
        /// The region to break (region: default the second region of the rollout;
        /// instance, az: default every region).
        #[arg(long)]
        region: Option<String>,
        /// az: the zone to lose (needs --region; default the zone of the region's
        /// group holding the most InService instances).
        #[arg(long)]
        zone: Option<String>,
        /// instance, az: how long each region has to recover (default 15m; refused
        /// with --fault region, whose waits are the deploy's own).
        #[arg(long, value_name = "DURATION")]
        recover_timeout: Option<String>,
        /// Run against a real AWS account: its id must be named here on purpose.
        #[arg(long)]
        account: Option<String>,
        /// Bake after each health gate (default: rollout.bake).
        #[arg(long, value_name = "DURATION")]
        bake: Option<String>,
        #[command(flatten)]
        ops: OpsArgs,
    },
}

/// What `dr drill --fault` breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DrillFault {
    // Plain comments, not doc comments: documented variants make clap print a
    // "Possible values" list instead of the one-line form the help test reads.
    // Terminate one InService instance of each region's Auto Scaling group.
    Instance,
    // Lose one Availability Zone per region: subnets out of the group, its
    // instances terminated, its NAT route deleted; then put back.
    Az,
    // Delete a region's load balancer, fail over, rebuild (the full drill).
    Region,
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Create the venv (pinned moto[server]) if needed, start moto, wait until it answers.
    Up,
    /// Stop the sandbox this project started.
    Down,
    /// Say whether the sandbox runs, and where.
    Status,
    /// Print the environment lines that point strata and the AWS CLI at the sandbox.
    Env,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
