//! The in-memory cloud the unit tests share: stacks, change sets, health and images,
//! faults, and a log of every call. It implements the deploy's `Cloud` port here and
//! the AMI commands' `Images` port in `images.rs`, status's `BucketReads` in
//! `buckets.rs` and DR's `DnsReads` in `dns.rs`, over one state.

mod buckets;
mod dns;
mod images;

pub use dns::lb_dns;
pub use images::image;

use crate::ami::ImageInfo;
use crate::call_error::CallError;
use crate::deploy::cloud::*;
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

#[derive(Debug, Clone)]
pub struct FakeStack {
    pub status: String,
    pub template: String,
    pub params: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct FakeChangeSet {
    req: ChangeSetRequest,
    executed: bool,
}

#[derive(Default)]
pub struct State {
    pub stacks: BTreeMap<(String, String), FakeStack>,
    change_sets: BTreeMap<(String, String, String), FakeChangeSet>,
    /// "region Action" for every call, in order.
    pub calls: Vec<String>,
    /// Regions where executing a change set fails (CloudFormation rolls back).
    pub fail_execute: HashSet<String>,
    /// Regions where executing an update change set fails (a create succeeds).
    pub fail_update_execute: HashSet<String>,
    /// Buckets that exist outside any stack: (region, name).
    pub buckets: HashSet<(String, String)>,
    /// Regions whose targets are unhealthy.
    pub unhealthy: HashSet<String>,
    /// Regions whose alarm is in ALARM.
    pub alarm: HashSet<String>,
    /// Regions where an InService instance still runs launch-template version 1
    /// (the latest is 2).
    pub stale_instance: HashSet<String>,
    /// Regions whose VPC and subnets no longer exist (the stack still lists them).
    pub lost_network: HashSet<String>,
    /// The n-th mutating call (1-based, counted over every call this fake saw)
    /// fails with an API error and changes nothing.
    pub fail_mutating_call: Option<usize>,
    /// Regions whose health reads get no answer (an endpoint that stopped).
    pub unreachable: HashSet<String>,
    /// Each region's load-balancer traffic (none: nothing reported).
    pub traffic: BTreeMap<String, Traffic>,
    /// EC2 images: (region, image id) -> image.
    pub images: BTreeMap<(String, String), ImageInfo>,
    /// Launch templates: (region, id) -> the image id of each version.
    pub launch_templates: BTreeMap<(String, String), Vec<String>>,
    /// Stacks' launch templates: (region, stack) -> launch-template ids.
    pub stack_launch_templates: BTreeMap<(String, String), Vec<String>>,
    /// Deleted snapshots: (region, snapshot id).
    pub deleted_snapshots: Vec<(String, String)>,
    /// Stacks' outputs: (region, stack) -> output name -> value.
    pub stack_outputs: BTreeMap<(String, String), BTreeMap<String, String>>,
    /// Regions where a stack read never answers (a region that went silent).
    pub silent: HashSet<String>,
    /// Buckets' replication destinations (bucket ARNs): (region, bucket).
    pub replication: BTreeMap<(String, String), Vec<String>>,
    /// Buckets' objects: (region, bucket).
    pub objects: BTreeMap<(String, String), Vec<crate::dr::backfill::Object>>,
    /// Hosted zones: name (lowercase, trailing dot) -> id.
    pub zones: BTreeMap<String, String>,
    /// Record sets per name (lowercase, trailing dot).
    pub record_sets: BTreeMap<String, Vec<crate::dr::dns_reads::RecordView>>,
    /// Route 53 health checks by id.
    pub health_checks: BTreeMap<String, crate::dr::dns_reads::HealthCheckView>,
    /// Health checks whose checkers report failure.
    pub failing_checks: HashSet<String>,
    /// Load balancers: (region, DNS name, lowercase) -> healthy targets.
    pub load_balancers: BTreeMap<(String, String), u32>,
    /// Every change set made: (its CreateChangeSet's position in `calls`, name).
    pub created_change_sets: Vec<(usize, String)>,
    /// CopyImage's idempotency tokens: (region, token) -> the copy it made.
    copy_tokens: BTreeMap<(String, String), String>,
}

#[derive(Default)]
pub struct Fake(pub Mutex<State>);

const MUTATING: &[&str] = &[
    "CreateChangeSet",
    "DeleteChangeSet",
    "ExecuteChangeSet",
    "UpdateStack",
    "DeleteStack",
    "CreateImage",
    "CopyImage",
    "CreateTags",
    "DeregisterImage",
    "DeleteSnapshot",
];

fn is_mutating(call: &str) -> bool {
    MUTATING.iter().any(|m| call.ends_with(m))
}

impl Fake {
    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.0.lock().unwrap())
    }

    fn call(&self, region: &str, action: &str) {
        self.with(|s| s.calls.push(format!("{region} {action}")));
    }

    /// Record a mutating call; the one `fail_mutating_call` names fails.
    fn mutate(&self, region: &str, action: &'static str) -> Result<(), CallError> {
        self.with(|s| {
            s.calls.push(format!("{region} {action}"));
            let n = s.calls.iter().filter(|c| is_mutating(c)).count();
            if s.fail_mutating_call == Some(n) {
                let ec2 = [
                    "CreateImage",
                    "CopyImage",
                    "CreateTags",
                    "DeregisterImage",
                    "DeleteSnapshot",
                ];
                return Err(CallError {
                    service: if ec2.contains(&action) {
                        "ec2"
                    } else {
                        "cloudformation"
                    },
                    operation: action,
                    region: region.into(),
                    code: "InternalFailure".into(),
                    message: format!("injected: mutating call {n} fails"),
                });
            }
            Ok(())
        })
    }

    /// Every change set: (region, stack, name).
    pub fn change_set_names(&self) -> Vec<(String, String, String)> {
        self.with(|s| s.change_sets.keys().cloned().collect())
    }

    /// The mutating calls made so far.
    pub fn mutating(&self) -> Vec<String> {
        self.with(|s| s.calls.iter().filter(|c| is_mutating(c)).cloned().collect())
    }

    /// The regions where a change set was executed, in order.
    pub fn executed(&self) -> Vec<String> {
        self.with(|s| {
            s.calls
                .iter()
                .filter(|c| c.ends_with("ExecuteChangeSet"))
                .map(|c| c.split(' ').next().unwrap().to_string())
                .collect()
        })
    }

    /// The stack's kept `strata-previous` record, not executed: its template and tags.
    pub fn kept(&self, region: &str, stack: &str) -> Option<(String, BTreeMap<String, String>)> {
        let key = (
            region.to_string(),
            stack.to_string(),
            crate::plan::previous_change_set(stack),
        );
        self.with(|s| {
            s.change_sets
                .get(&key)
                .filter(|c| !c.executed)
                .map(|c| (c.req.template_body.clone(), c.req.tags.clone()))
        })
    }

    /// A stack that finished its last update, running `ami` (the `AmiId`
    /// parameter), with these tags.
    pub fn put_deployed_stack(&self, region: &str, name: &str, ami: &str, tags: &[(&str, &str)]) {
        let stack = FakeStack {
            status: "UPDATE_COMPLETE".into(),
            template: "{}".into(),
            params: BTreeMap::from([(crate::synth::AMI_PARAMETER.to_string(), ami.to_string())]),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        self.with(|s| s.stacks.insert((region.into(), name.into()), stack));
    }

    pub fn stack(&self, region: &str, name: &str) -> Option<FakeStack> {
        self.with(|s| s.stacks.get(&(region.into(), name.into())).cloned())
    }
}

fn missing(what: &str, region: &str) -> CallError {
    CallError {
        service: "cloudformation",
        operation: "fake",
        region: region.into(),
        code: "ValidationError".into(),
        message: format!("{what} does not exist"),
    }
}

impl Cloud for Fake {
    async fn stack(&self, region: &str, stack: &str) -> Result<Option<StackState>, CallError> {
        self.call(region, "DescribeStacks");
        if self.with(|s| s.silent.contains(region)) {
            std::future::pending::<()>().await;
        }
        let key = (region.to_string(), stack.to_string());
        let outputs = self.with(|s| s.stack_outputs.get(&key).cloned().unwrap_or_default());
        Ok(Fake::stack(self, region, stack).map(|s| StackState {
            status: s.status,
            status_reason: None,
            parameters: s.params,
            tags: s.tags,
            outputs,
        }))
    }

    async fn template(&self, region: &str, stack: &str) -> Result<String, CallError> {
        self.call(region, "GetTemplate");
        Fake::stack(self, region, stack)
            .map(|s| s.template)
            .ok_or_else(|| missing(stack, region))
    }

    async fn create_change_set(&self, req: &ChangeSetRequest) -> Result<(), CallError> {
        self.mutate(&req.region, "CreateChangeSet")?;
        self.with(|s| {
            let key = (req.region.clone(), req.stack_name.clone());
            if req.kind != ChangeSetKind::Update {
                s.stacks.insert(
                    key,
                    FakeStack {
                        status: "REVIEW_IN_PROGRESS".into(),
                        template: "{}".into(),
                        params: BTreeMap::new(),
                        tags: req.tags.clone(),
                    },
                );
            }
            s.created_change_sets
                .push((s.calls.len() - 1, req.name.clone()));
            s.change_sets.insert(
                (req.region.clone(), req.stack_name.clone(), req.name.clone()),
                FakeChangeSet {
                    req: req.clone(),
                    executed: false,
                },
            );
        });
        Ok(())
    }

    async fn change_set(
        &self,
        region: &str,
        stack: &str,
        name: &str,
    ) -> Result<Option<ChangeSetState>, CallError> {
        self.call(region, "DescribeChangeSet");
        Ok(self.with(|s| {
            s.change_sets
                .get(&(region.into(), stack.into(), name.into()))
                .map(|c| ChangeSetState {
                    status: "CREATE_COMPLETE".into(),
                    execution_status: Some(
                        if c.executed {
                            "EXECUTE_COMPLETE"
                        } else {
                            "AVAILABLE"
                        }
                        .into(),
                    ),
                    status_reason: None,
                    changes: vec![],
                })
        }))
    }

    async fn change_sets(&self, region: &str, stack: &str) -> Result<Vec<String>, CallError> {
        self.call(region, "ListChangeSets");
        Ok(self.with(|s| {
            s.change_sets
                .keys()
                .filter(|(r, st, _)| r == region && st == stack)
                .map(|(_, _, n)| n.clone())
                .collect()
        }))
    }

    async fn delete_change_set(
        &self,
        region: &str,
        stack: &str,
        name: &str,
    ) -> Result<(), CallError> {
        self.mutate(region, "DeleteChangeSet")?;
        self.with(|s| {
            s.change_sets
                .remove(&(region.into(), stack.into(), name.into()))
        });
        Ok(())
    }

    async fn execute_change_set(
        &self,
        region: &str,
        stack: &str,
        name: &str,
    ) -> Result<(), CallError> {
        self.mutate(region, "ExecuteChangeSet")?;
        self.with(|s| {
            let cs = s
                .change_sets
                .get_mut(&(region.into(), stack.into(), name.into()))
                .ok_or_else(|| missing(name, region))?;
            cs.executed = true;
            let req = cs.req.clone();
            // AWS deletes the stack's other change sets when one is executed.
            s.change_sets
                .retain(|(r, st, n), _| !(r == region && st == stack && n != name));
            let fail = s.fail_execute.contains(region)
                || (req.kind == ChangeSetKind::Update && s.fail_update_execute.contains(region));
            let st = s
                .stacks
                .get_mut(&(region.into(), stack.into()))
                .ok_or_else(|| missing(stack, region))?;
            match (req.kind, fail) {
                (ChangeSetKind::Create, true) => st.status = "ROLLBACK_COMPLETE".into(),
                (ChangeSetKind::Update, true) => st.status = "UPDATE_ROLLBACK_COMPLETE".into(),
                (ChangeSetKind::Import, true) => st.status = "IMPORT_ROLLBACK_COMPLETE".into(),
                (kind, false) => {
                    st.status = match kind {
                        ChangeSetKind::Create => "CREATE_COMPLETE",
                        ChangeSetKind::Update => "UPDATE_COMPLETE",
                        ChangeSetKind::Import => "IMPORT_COMPLETE",
                    }
                    .into();
                    st.template = req.template_body;
                    st.params = req.parameters;
                    st.tags = req.tags;
                }
            }
            Ok(())
        })
    }

    async fn update_stack(
        &self,
        region: &str,
        stack: &str,
        template_body: &str,
        parameters: &BTreeMap<String, String>,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), CallError> {
        self.mutate(region, "UpdateStack")?;
        self.with(|s| {
            let st = s
                .stacks
                .get_mut(&(region.into(), stack.into()))
                .ok_or_else(|| missing(stack, region))?;
            st.status = "UPDATE_COMPLETE".into();
            st.template = template_body.into();
            st.params = parameters.clone();
            st.tags = tags.clone();
            Ok(())
        })
    }

    async fn delete_stack(&self, region: &str, stack: &str) -> Result<(), CallError> {
        self.mutate(region, "DeleteStack")?;
        self.with(|s| {
            s.stacks.remove(&(region.into(), stack.into()));
            s.change_sets
                .retain(|(r, st, _), _| !(r == region && st == stack));
        });
        Ok(())
    }

    async fn events(&self, region: &str, _stack: &str) -> Result<Vec<StackEvent>, CallError> {
        self.call(region, "DescribeStackEvents");
        Ok(vec![])
    }

    async fn resources(&self, region: &str, stack: &str) -> Result<Vec<StackResource>, CallError> {
        self.call(region, "DescribeStackResources");
        let r = |t: &str, id: &str| StackResource {
            logical_id: id.into(),
            resource_type: t.into(),
            physical_id: format!("{id}-{stack}"),
        };
        Ok(vec![
            r("AWS::AutoScaling::AutoScalingGroup", "Asg"),
            r("AWS::ElasticLoadBalancingV2::TargetGroup", "Tg"),
            r("AWS::EC2::LaunchTemplate", "Lt"),
            r("AWS::EC2::VPC", "Vpc"),
            r("AWS::EC2::Subnet", "Subnet"),
            r("AWS::ElasticLoadBalancingV2::LoadBalancer", "Alb"),
        ])
    }

    async fn asg_fleet(&self, region: &str, asg: &str) -> Result<Option<AsgFleet>, CallError> {
        self.call(region, "DescribeAutoScalingGroups");
        let stack = asg.trim_start_matches("Asg-");
        let stale = self.with(|s| s.stale_instance.contains(region));
        let instance = |id: &str, version: &str| AsgInstance {
            id: id.into(),
            lifecycle: "InService".into(),
            launch_template_version: Some(version.into()),
        };
        Ok(Some(AsgFleet {
            desired: 2,
            launch_template: Some((format!("Lt-{stack}"), "2".into())),
            target_group_arns: vec![format!("Tg-{stack}")],
            instances: vec![
                instance("i-1", if stale { "1" } else { "2" }),
                instance("i-2", "2"),
            ],
        }))
    }

    async fn launch_template_latest(
        &self,
        region: &str,
        _id: &str,
    ) -> Result<Option<String>, CallError> {
        self.call(region, "DescribeLaunchTemplates");
        Ok(Some("2".into()))
    }

    async fn network_found(
        &self,
        region: &str,
        vpcs: &[String],
        subnets: &[String],
    ) -> Result<Vec<String>, CallError> {
        self.call(region, "DescribeVpcs");
        self.call(region, "DescribeSubnets");
        if self.with(|s| s.lost_network.contains(region)) {
            return Ok(vec![]);
        }
        Ok(vpcs.iter().chain(subnets).cloned().collect())
    }

    async fn bucket_exists(&self, region: &str, bucket: &str) -> Result<bool, CallError> {
        self.call(region, "HeadBucket");
        Ok(self.with(|s| {
            s.buckets
                .contains(&(region.to_string(), bucket.to_string()))
        }))
    }

    async fn table(&self, region: &str, _name: &str) -> Result<Option<TableState>, CallError> {
        self.call(region, "DescribeTable");
        Ok(Some(TableState {
            status: "ACTIVE".into(),
            replicas: vec![],
        }))
    }

    async fn target_health(
        &self,
        region: &str,
        _tg: &str,
    ) -> Result<Vec<(String, String)>, CallError> {
        self.call(region, "DescribeTargetHealth");
        if self.with(|s| s.unreachable.contains(region)) {
            return Err(CallError {
                service: "elasticloadbalancing",
                operation: "DescribeTargetHealth",
                region: region.into(),
                code: "DispatchFailure".into(),
                message: "io error: Connection refused (os error 111)".into(),
            });
        }
        let state = if self.with(|s| s.unhealthy.contains(region)) {
            "unhealthy"
        } else {
            "healthy"
        };
        Ok(vec![
            ("i-1".into(), state.into()),
            ("i-2".into(), "healthy".into()),
        ])
    }

    async fn health_check_reports(&self, id: &str) -> Result<Vec<String>, CallError> {
        self.call("us-east-1", "GetHealthCheckStatus");
        if self.with(|s| s.failing_checks.contains(id)) {
            return Ok(vec!["Failure: HTTP Status Code 503".into()]);
        }
        Ok(vec!["Success: HTTP Status Code 200".into()])
    }

    async fn health_check_config(
        &self,
        _id: &str,
    ) -> Result<crate::deploy::check_health::CheckConfig, CallError> {
        self.call("us-east-1", "GetHealthCheck");
        Ok(crate::deploy::check_health::CheckConfig {
            kind: "HTTPS".into(),
            ..Default::default()
        })
    }

    async fn availability_zones(&self, region: &str) -> Result<Vec<String>, CallError> {
        self.call(region, "DescribeAvailabilityZones");
        Ok(crate::stack::regions::azs_of(region).unwrap_or_default())
    }

    async fn alarm_states(
        &self,
        region: &str,
        prefix: &str,
    ) -> Result<Vec<(String, String)>, CallError> {
        self.call(region, "DescribeAlarms");
        let state = if self.with(|s| s.alarm.contains(region)) {
            "ALARM"
        } else {
            "OK"
        };
        Ok(vec![(format!("{prefix}5xx"), state.into())])
    }

    async fn lb_traffic(
        &self,
        region: &str,
        _load_balancer_arn: &str,
        _start: i64,
        _end: i64,
    ) -> Result<Traffic, CallError> {
        self.call(region, "GetMetricData");
        Ok(self.with(|s| s.traffic.get(region).cloned().unwrap_or_default()))
    }

    async fn managed_prefix_list(
        &self,
        region: &str,
        name: &str,
    ) -> Result<Option<String>, CallError> {
        self.call(region, "DescribeManagedPrefixLists");
        // A stable id per (region, list), shaped as AWS's.
        let n = name.len() + region.len();
        Ok(Some(format!("pl-{n:08x}")))
    }

    async fn ami_copy(
        &self,
        region: &str,
        stack: &str,
        source: &str,
    ) -> Result<Option<String>, CallError> {
        self.call(region, "DescribeImages");
        let copies = self.with(|s| {
            s.images
                .iter()
                .filter(|((r, _), i)| {
                    r == region
                        && i.tags.get(crate::ami::TAG_SOURCE_AMI).map(String::as_str)
                            == Some(source)
                        && i.tags.get(crate::ami::TAG_STACK).map(String::as_str) == Some(stack)
                })
                .map(|(_, i)| i.clone())
                .collect()
        });
        Ok(crate::ami::preferred_copy(copies).map(|i| i.id))
    }
}
