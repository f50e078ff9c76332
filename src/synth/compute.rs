//! The compute tier: a launch template from the region's AMI (a template parameter
//! filled at deploy time) with IMDSv2 and an encrypted gp3 root volume, an instance
//! role of least privilege (this stack's tables, queues, bucket and contract
//! parameters only), user data that starts the app with its contract and signals
//! CloudFormation once the app answers its health path, and an Auto Scaling group
//! over the private subnets with ELB health checks, a rolling update in batches
//! that follow the region's capacity and wait for those signals (never fewer than
//! the desired capacity in service), and target-tracking on CPU.

use super::context::RegionCtx;
use super::contract::{self, Contract};
use super::data::Data;
use super::lit::{int, opt, s, some, sub, yes};
use super::load_balancer::LoadBalancer;
use super::network::Network;
use super::security::SecurityGroups;
use super::{naming, tags};
use crate::cfn::gen::{autoscaling, ec2, iam, s3};
use crate::cfn::{Handle, Options, Parameter, Template};
use serde_json::{json, Value as Json};

/// The template parameter that carries the region's AMI id.
pub const AMI_PARAMETER: &str = "AmiId";

pub struct Compute {
    pub asg: Handle<autoscaling::AutoScalingGroup>,
}

/// What the compute tier is wired to.
pub struct Parts<'a> {
    pub net: &'a Network,
    pub sgs: &'a SecurityGroups,
    pub lb: &'a LoadBalancer,
    pub data: &'a Data,
    pub bucket: Option<&'a Handle<s3::Bucket>>,
    pub contract: &'a Contract,
}

/// The Auto Scaling group's logical id (the user data signals it by this name).
pub const ASG_LOGICAL_ID: &str = "AutoScalingGroup";

/// How long CloudFormation waits for a batch's signals (`PauseTime` with
/// `WaitOnResourceSignals`: a timeout, not a wait): the app's health wait plus
/// five minutes for the instance to boot.
pub const SIGNAL_TIMEOUT: &str = "PT15M";

pub fn add(t: &mut Template, ctx: &RegionCtx, parts: &Parts) -> Compute {
    let Parts {
        net,
        sgs,
        lb,
        data,
        bucket,
        contract,
    } = *parts;
    let stack = ctx.def.stack_name();
    let compute = &ctx.def.compute;
    let ami = t.parameter(
        AMI_PARAMETER,
        Parameter {
            kind: "AWS::EC2::Image::Id".into(),
            description: Some(format!(
                "The AMI the instances launch from: the copy in {} of the stack's baked AMI",
                ctx.region.name
            )),
            default: None,
            allowed_pattern: None,
            no_echo: None,
        },
    );

    let mut role = iam::Role::new(assume_role("ec2.amazonaws.com"));
    role.description = some(format!("{stack} instances in {}", ctx.region.name));
    role.policies = Some(vec![iam::role::Policy::new(
        s("least-privilege"),
        instance_policy(ctx, data, bucket, contract),
    )]);
    role.tags = Some(tags::standard(ctx));
    let role = t.add("InstanceRole", role);
    let profile = t.add(
        "InstanceProfile",
        iam::InstanceProfile::new(vec![role.ref_()]),
    );

    let mut metadata = ec2::launch_template::MetadataOptions::default();
    metadata.http_tokens = opt(ec2::launch_template::MetadataOptionsHttpTokens::Required);
    metadata.http_endpoint = opt(ec2::launch_template::MetadataOptionsHttpEndpoint::Enabled);
    metadata.http_put_response_hop_limit = Some(int(1));
    let mut ebs = ec2::launch_template::Ebs::default();
    ebs.volume_type = opt(ec2::launch_template::EbsVolumeType::Gp3);
    ebs.volume_size = Some(int(compute.root_volume_gib));
    ebs.encrypted = Some(yes(true));
    ebs.delete_on_termination = Some(yes(true));
    let mut root = ec2::launch_template::BlockDeviceMapping::default();
    root.device_name = some("/dev/xvda");
    root.ebs = Some(ebs);
    let mut instance_profile = ec2::launch_template::IamInstanceProfile::default();
    instance_profile.arn = Some(profile.arn());
    let mut monitoring = ec2::launch_template::Monitoring::default();
    monitoring.enabled = Some(yes(true));
    let tag_specs = [
        ec2::launch_template::TagSpecificationResourceType::Instance,
        ec2::launch_template::TagSpecificationResourceType::Volume,
    ]
    .into_iter()
    .map(|kind| {
        let mut spec = ec2::launch_template::TagSpecification::default();
        spec.resource_type = opt(kind);
        spec.tags = Some(tags::named(ctx, &stack));
        spec
    })
    .collect();

    let mut lt_data = ec2::launch_template::LaunchTemplateData::default();
    lt_data.image_id = Some(ami);
    lt_data.instance_type = some(compute.instance_type.as_str());
    lt_data.metadata_options = Some(metadata);
    lt_data.block_device_mappings = Some(vec![root]);
    lt_data.iam_instance_profile = Some(instance_profile);
    lt_data.security_group_ids = Some(vec![sgs.instances.group_id()]);
    lt_data.monitoring = Some(monitoring);
    lt_data.tag_specifications = Some(tag_specs);
    lt_data.user_data = Some(contract::user_data(ctx, contract, ASG_LOGICAL_ID));
    let mut lt = ec2::LaunchTemplate::new(lt_data);
    let mut own_tags = ec2::launch_template::LaunchTemplateTagSpecification::default();
    own_tags.resource_type =
        opt(ec2::launch_template::LaunchTemplateTagSpecificationResourceType::LaunchTemplate);
    own_tags.tags = Some(tags::standard(ctx));
    lt.tag_specifications = Some(vec![own_tags]);
    let launch_template = t.add("LaunchTemplate", lt);

    let capacity = ctx.def.capacity_of(ctx.region);
    let mut spec = autoscaling::auto_scaling_group::LaunchTemplateSpecification::new(
        launch_template.latest_version_number(),
    );
    spec.launch_template_id = Some(launch_template.ref_());
    let mut asg = autoscaling::AutoScalingGroup::new(
        s(capacity.min.to_string()),
        s(capacity.max.to_string()),
    );
    asg.desired_capacity = some(capacity.desired.to_string());
    asg.launch_template = Some(spec);
    asg.vpc_zone_identifier = Some(net.private_subnets.iter().map(|h| h.ref_()).collect());
    asg.target_group_ar_ns = Some(vec![lb.target_group.ref_()]);
    asg.health_check_type = some("ELB");
    asg.health_check_grace_period = Some(int(compute.health_check_grace_seconds));
    asg.tags = Some(tags::asg(ctx, &stack));
    let asg = t.add_with(
        ASG_LOGICAL_ID,
        asg,
        Options {
            update_policy: Some(rolling_update(capacity.desired, capacity.max)),
            creation_policy: Some(json!({
                "ResourceSignal": { "Count": capacity.desired.to_string(), "Timeout": SIGNAL_TIMEOUT }
            })),
            // The instances' user data starts the app, which reads its contract
            // from Parameter Store at once and signals only when it answers: so
            // the parameters must exist, and the private subnets must route to
            // their NAT, before the first instance boots. Neither is a reference
            // of the group's properties, so CloudFormation would create them in
            // parallel without `DependsOn`
            // (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html).
            depends_on: net
                .private_egress
                .iter()
                .chain(&contract.parameters)
                .cloned()
                .collect(),
            ..Options::default()
        },
    );

    let metric = autoscaling::scaling_policy::PredefinedMetricSpecification::new(
        autoscaling::scaling_policy::PredefinedMetricSpecificationPredefinedMetricType::AsgAverageCpuUtilization,
    );
    let mut tracking = autoscaling::scaling_policy::TargetTrackingConfiguration::new(
        crate::cfn::Value::Lit(compute.scaling_cpu_target),
    );
    tracking.predefined_metric_specification = Some(metric);
    let mut policy = autoscaling::ScalingPolicy::new(asg.ref_());
    policy.policy_type =
        opt(autoscaling::scaling_policy::ScalingPolicyPolicyType::TargetTrackingScaling);
    policy.target_tracking_configuration = Some(tracking);
    t.add("CpuScalingPolicy", policy);

    Compute { asg }
}

/// The instances a rolling update keeps in service: the desired capacity (what the
/// region carries in its share of the N+1 plan), or `max - 1` when `desired == max`
/// (CloudFormation wants `MinInstancesInService` below `MaxSize`).
pub fn keep_in_service(desired: u32, max: u32) -> u32 {
    desired.min(max.saturating_sub(1))
}

/// The batch size of a rolling update: a third of the desired capacity (rounded
/// up), so any region is replaced in about three batches whatever its size, but
/// never more than the room above the instances kept in service (`max - keep`):
/// CloudFormation launches a batch's replacements before it terminates the old
/// ones, and cannot go above `MaxSize`. At least one.
pub fn batch_size(desired: u32, max: u32) -> u32 {
    let room = max.saturating_sub(keep_in_service(desired, max));
    desired.div_ceil(3).min(room).max(1)
}

/// `AutoScalingRollingUpdate` in batches of [`batch_size`], keeping
/// [`keep_in_service`] instances in service; each new instance signals when its app
/// answers the health path, all must succeed, and `PauseTime` is the signals'
/// timeout ([`SIGNAL_TIMEOUT`]): a batch ends as soon as its signals arrive.
pub fn rolling_update(desired: u32, max: u32) -> Json {
    json!({
        "AutoScalingRollingUpdate": {
            "MinInstancesInService": keep_in_service(desired, max).to_string(),
            "MaxBatchSize": batch_size(desired, max).to_string(),
            "MinSuccessfulInstancesPercent": 100,
            "PauseTime": SIGNAL_TIMEOUT,
            "WaitOnResourceSignals": true,
            "SuspendProcesses": [
                "HealthCheck",
                "ReplaceUnhealthy",
                "AZRebalance",
                "AlarmNotification",
                "ScheduledActions"
            ]
        }
    })
}

/// A trust policy letting one AWS service assume the role.
pub fn assume_role(service: &str) -> Json {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": service },
            "Action": "sts:AssumeRole"
        }]
    })
}

/// The instances' permissions: their contract's parameters, this stack's tables
/// (in this region), queues and bucket, and the resource signal of their own group;
/// nothing else.
fn instance_policy(
    ctx: &RegionCtx,
    data: &Data,
    bucket: Option<&Handle<s3::Bucket>>,
    contract: &Contract,
) -> Json {
    let mut statements = vec![
        contract::read_statement(contract),
        json!({
            "Sid": "ResourceSignal",
            "Effect": "Allow",
            "Action": ["cloudformation:SignalResource"],
            "Resource": [sub("arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${AWS::StackName}/*").to_json()]
        }),
    ];
    if !ctx.def.tables.is_empty() {
        let resources: Vec<Json> = ctx
            .def
            .tables
            .iter()
            .flat_map(|table| {
                let name = naming::table_name(ctx.def, &table.name);
                let arn = format!(
                    "arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/{name}"
                );
                [sub(arn.clone()).to_json(), sub(format!("{arn}/index/*")).to_json()]
            })
            .collect();
        statements.push(json!({
            "Sid": "Tables",
            "Effect": "Allow",
            "Action": [
                "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
                "dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem",
                "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"
            ],
            "Resource": resources
        }));
    }
    if !data.queues.is_empty() {
        let resources: Vec<Json> = data
            .queues
            .iter()
            .flat_map(|q| [q.queue.arn().to_json(), q.dead_letter.arn().to_json()])
            .collect();
        statements.push(json!({
            "Sid": "Queues",
            "Effect": "Allow",
            "Action": [
                "sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:SendMessage"
            ],
            "Resource": resources
        }));
    }
    if let Some(bucket) = bucket {
        let arn = bucket.arn();
        statements.push(json!({
            "Sid": "BucketList",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [arn.to_json()]
        }));
        statements.push(json!({
            "Sid": "BucketObjects",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            "Resource": [crate::cfn::Intrinsic::join("", vec![arn.to_json(), json!("/*")]).to_json()]
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_a_third_of_the_region_within_the_room_above_desired() {
        // (desired, max) -> (kept in service, batch size)
        for ((desired, max), (keep, batch)) in [
            ((2, 4), (2, 1)),
            ((3, 6), (3, 1)),
            ((9, 12), (9, 3)),
            ((9, 10), (9, 1)),
            ((12, 18), (12, 4)),
            ((4, 4), (3, 1)),
            ((1, 2), (1, 1)),
        ] {
            assert_eq!(keep_in_service(desired, max), keep, "{desired}/{max}");
            assert_eq!(batch_size(desired, max), batch, "{desired}/{max}");
        }
        let policy = rolling_update(9, 12);
        let r = &policy["AutoScalingRollingUpdate"];
        assert_eq!(r["MaxBatchSize"], "3");
        assert_eq!(r["MinInstancesInService"], "9");
        assert_eq!(r["WaitOnResourceSignals"], true);
        assert_eq!(r["PauseTime"], SIGNAL_TIMEOUT);
    }

    /// The instances boot after what their user data needs at once: every contract
    /// parameter, and each private subnet's default route to its NAT gateway with
    /// the subnet's route-table association. Read from the synthesized template
    /// of every region, in both phases.
    #[test]
    fn the_group_boots_after_its_contract_and_its_private_routes() {
        let def = crate::stack::load_str(
            include_str!("../../stacks/example.toml"),
            "stacks/example.toml",
        )
        .expect("the example loads");
        for phase in [crate::synth::Phase::Build, crate::synth::Phase::Wired] {
            let out = crate::synth::synthesize(&def, phase);
            for region in &out.regions {
                let t: serde_json::Value =
                    serde_json::from_str(&region.template.to_json_pretty()).unwrap();
                let resources = t["Resources"].as_object().unwrap();
                let after: Vec<&str> = resources[ASG_LOGICAL_ID]["DependsOn"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{}: the group has no DependsOn", region.region))
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                let needed: Vec<&str> = resources
                    .iter()
                    .filter(|(id, r)| {
                        r["Type"] == "AWS::SSM::Parameter"
                            || id.starts_with("PrivateDefaultRoute")
                            || (id.starts_with("PrivateSubnet")
                                && r["Type"] == "AWS::EC2::SubnetRouteTableAssociation")
                    })
                    .map(|(id, _)| id.as_str())
                    .collect();
                assert!(needed.len() >= 2 * def.regions[0].azs.len() + 2);
                for id in needed {
                    assert!(
                        after.contains(&id),
                        "{} ({phase:?}): the group does not wait for {id}",
                        region.region
                    );
                }
            }
        }
    }
}
