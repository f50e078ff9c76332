//! `CloudApi`: the deploy's `Cloud` trait implemented with the AWS SDK.

use super::{Aws, CallError};
use crate::ami::Images;
use crate::deploy::cloud::{
    AsgFleet, AsgInstance, ChangeSetChange, ChangeSetKind, ChangeSetRequest, ChangeSetState, Cloud,
    StackEvent, StackResource, StackState, TableState,
};
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter, ResourceToImport, Tag};
use std::collections::BTreeMap;

/// The deploy's calls against AWS (or the sandbox).
#[derive(Debug, Clone)]
pub struct CloudApi {
    pub(super) aws: Aws,
}

impl CloudApi {
    pub fn new(aws: Aws) -> Self {
        CloudApi { aws }
    }
}

const CFN: &str = "cloudformation";

fn params(p: &BTreeMap<String, String>) -> Vec<Parameter> {
    p.iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_key(k)
                .parameter_value(v)
                .build()
        })
        .collect()
}

fn tags(t: &BTreeMap<String, String>) -> Vec<Tag> {
    t.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn capabilities() -> Vec<Capability> {
    vec![
        Capability::CapabilityIam,
        Capability::CapabilityNamedIam,
        Capability::CapabilityAutoExpand,
    ]
}

/// The CreateChangeSet idempotency token: the same for the SDK's retries of one
/// request, different for any other request (another process, another content).
/// CloudFormation: `[a-zA-Z][-a-zA-Z0-9]*`, at most 128 characters.
fn client_token(req: &ChangeSetRequest) -> String {
    use sha2::{Digest, Sha256};
    static NONCE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let nonce = *NONCE.get_or_init(rand::random::<u64>);
    let mut h = Sha256::new();
    h.update(nonce.to_be_bytes());
    for part in [&req.region, &req.stack_name, &req.name, &req.template_body] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for (k, v) in req.parameters.iter().chain(req.tags.iter()) {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([0]);
    }
    format!("strata-{}", &hex::encode(h.finalize())[..40])
}

/// "Stack with id X does not exist" / "ChangeSet [X] does not exist".
fn is_missing(e: &CallError) -> bool {
    e.message.contains("does not exist") || e.code == "ChangeSetNotFound"
}

impl Cloud for CloudApi {
    async fn stack(&self, region: &str, stack: &str) -> Result<Option<StackState>, CallError> {
        let Some(s) = super::stack_info::stack(&self.aws, region, stack).await? else {
            return Ok(None);
        };
        let status = s
            .stack_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        Ok(Some(StackState {
            status,
            status_reason: s.stack_status_reason().map(str::to_string),
            parameters: s
                .parameters()
                .iter()
                .filter_map(|p| {
                    Some((
                        p.parameter_key()?.to_string(),
                        p.parameter_value().unwrap_or_default().to_string(),
                    ))
                })
                .collect(),
            tags: s
                .tags()
                .iter()
                .filter_map(|t| {
                    Some((
                        t.key()?.to_string(),
                        t.value().unwrap_or_default().to_string(),
                    ))
                })
                .collect(),
            outputs: s
                .outputs()
                .iter()
                .filter_map(|o| {
                    Some((
                        o.output_key()?.to_string(),
                        o.output_value().unwrap_or_default().to_string(),
                    ))
                })
                .collect(),
        }))
    }

    async fn template(&self, region: &str, stack: &str) -> Result<String, CallError> {
        super::stack_info::original_template(&self.aws, region, stack).await
    }

    async fn create_change_set(&self, req: &ChangeSetRequest) -> Result<(), CallError> {
        let kind = match req.kind {
            ChangeSetKind::Create => ChangeSetType::Create,
            ChangeSetKind::Update => ChangeSetType::Update,
            ChangeSetKind::Import => ChangeSetType::Import,
        };
        let imports: Vec<ResourceToImport> = req
            .resources_to_import
            .iter()
            .map(|a| {
                ResourceToImport::builder()
                    .resource_type(&a.resource_type)
                    .logical_resource_id(&a.logical_id)
                    .resource_identifier(&a.id_key, &a.name)
                    .build()
            })
            .collect();
        let sent = self
            .aws
            .cloudformation(&req.region)
            .create_change_set()
            .stack_name(&req.stack_name)
            .change_set_name(&req.name)
            .change_set_type(kind)
            .template_body(&req.template_body)
            .set_parameters(Some(params(&req.parameters)))
            .set_tags(Some(tags(&req.tags)))
            .set_capabilities(Some(capabilities()))
            .set_resources_to_import((!imports.is_empty()).then_some(imports))
            .client_token(client_token(req))
            .send()
            .await;
        let Err(e) = sent else { return Ok(()) };
        let e = CallError::from_sdk(CFN, "CreateChangeSet", &req.region, e);
        // The SDK's retry of a call whose answer was lost met the change set that
        // call made. Its name is ours alone (it carries the deployment id; the
        // previous-version record is dropped just before, under the deploy lock).
        if e.code == "AlreadyExistsException"
            && self
                .change_set(&req.region, &req.stack_name, &req.name)
                .await?
                .is_some()
        {
            return Ok(());
        }
        Err(e)
    }

    async fn change_set(
        &self,
        region: &str,
        stack: &str,
        name: &str,
    ) -> Result<Option<ChangeSetState>, CallError> {
        let client = self.aws.cloudformation(region);
        let mut changes = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = match client
                .describe_change_set()
                .stack_name(stack)
                .change_set_name(name)
                .set_next_token(token.clone())
                .send()
                .await
            {
                Ok(o) => o,
                Err(e) => {
                    let e = CallError::from_sdk(CFN, "DescribeChangeSet", region, e);
                    return if is_missing(&e) { Ok(None) } else { Err(e) };
                }
            };
            for c in out.changes() {
                if let Some(r) = c.resource_change() {
                    changes.push(ChangeSetChange {
                        logical_id: r.logical_resource_id().unwrap_or_default().to_string(),
                        resource_type: r.resource_type().unwrap_or_default().to_string(),
                        action: r
                            .action()
                            .map(|a| a.as_str().to_string())
                            .unwrap_or_default(),
                        replacement: r.replacement().map(|r| r.as_str().to_string()),
                    });
                }
            }
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(Some(ChangeSetState {
                    status: out
                        .status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    execution_status: out.execution_status().map(|s| s.as_str().to_string()),
                    status_reason: out.status_reason().map(str::to_string),
                    changes,
                }));
            }
        }
    }

    async fn change_sets(&self, region: &str, stack: &str) -> Result<Vec<String>, CallError> {
        let out = match self
            .aws
            .cloudformation(region)
            .list_change_sets()
            .stack_name(stack)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                let e = CallError::from_sdk(CFN, "ListChangeSets", region, e);
                return if is_missing(&e) { Ok(vec![]) } else { Err(e) };
            }
        };
        Ok(out
            .summaries()
            .iter()
            .filter(|s| s.stack_name().is_none_or(|n| n == stack))
            .filter_map(|s| s.change_set_name().map(str::to_string))
            .collect())
    }

    async fn delete_change_set(
        &self,
        region: &str,
        stack: &str,
        name: &str,
    ) -> Result<(), CallError> {
        match self
            .aws
            .cloudformation(region)
            .delete_change_set()
            .stack_name(stack)
            .change_set_name(name)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = CallError::from_sdk(CFN, "DeleteChangeSet", region, e);
                if is_missing(&e) {
                    Ok(())
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn execute_change_set(
        &self,
        region: &str,
        stack: &str,
        name: &str,
    ) -> Result<(), CallError> {
        self.aws
            .cloudformation(region)
            .execute_change_set()
            .stack_name(stack)
            .change_set_name(name)
            .send()
            .await
            .map_err(|e| CallError::from_sdk(CFN, "ExecuteChangeSet", region, e))?;
        Ok(())
    }

    async fn update_stack(
        &self,
        region: &str,
        stack: &str,
        template_body: &str,
        parameters: &BTreeMap<String, String>,
        stack_tags: &BTreeMap<String, String>,
    ) -> Result<(), CallError> {
        self.aws
            .cloudformation(region)
            .update_stack()
            .stack_name(stack)
            .template_body(template_body)
            .set_parameters(Some(params(parameters)))
            .set_tags(Some(tags(stack_tags)))
            .set_capabilities(Some(capabilities()))
            .send()
            .await
            .map_err(|e| CallError::from_sdk(CFN, "UpdateStack", region, e))?;
        Ok(())
    }

    async fn delete_stack(&self, region: &str, stack: &str) -> Result<(), CallError> {
        // The sandbox deletes synchronously and may refuse with DependencyViolation
        // (resources released out of order); a few tries get it through.
        let mut tries = 0;
        loop {
            tries += 1;
            match self
                .aws
                .cloudformation(region)
                .delete_stack()
                .stack_name(stack)
                .send()
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) => {
                    let e = CallError::from_sdk(CFN, "DeleteStack", region, e);
                    if e.code != "DependencyViolation" || tries >= 5 {
                        return Err(e);
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(500 * tries)).await;
                }
            }
        }
    }

    async fn events(&self, region: &str, stack: &str) -> Result<Vec<StackEvent>, CallError> {
        let out = match self
            .aws
            .cloudformation(region)
            .describe_stack_events()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| CallError::from_sdk(CFN, "DescribeStackEvents", region, e))
        {
            Ok(out) => out,
            // Deleted between the status read and this one: no new events; the
            // next DescribeStacks says it is gone.
            Err(e) if is_missing(&e) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(out
            .stack_events()
            .iter()
            .map(|e| StackEvent {
                event_id: e.event_id().unwrap_or_default().to_string(),
                logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
                resource_type: e.resource_type().unwrap_or_default().to_string(),
                status: e
                    .resource_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                reason: e.resource_status_reason().map(str::to_string),
                timestamp: e.timestamp().map(|t| t.secs()).unwrap_or_default(),
            })
            .collect())
    }

    async fn resources(&self, region: &str, stack: &str) -> Result<Vec<StackResource>, CallError> {
        Ok(super::stack_info::resources(&self.aws, region, stack)
            .await?
            .iter()
            .map(|r| StackResource {
                logical_id: r.logical_resource_id().unwrap_or_default().to_string(),
                resource_type: r.resource_type().unwrap_or_default().to_string(),
                physical_id: r.physical_resource_id().unwrap_or_default().to_string(),
            })
            .collect())
    }

    async fn asg_fleet(&self, region: &str, asg: &str) -> Result<Option<AsgFleet>, CallError> {
        let Some(g) = super::asg_group::group(&self.aws, region, asg).await? else {
            return Ok(None);
        };
        Ok(Some(AsgFleet {
            desired: super::asg_group::count(g.desired_capacity()),
            launch_template: g.launch_template().map(|l| {
                (
                    l.launch_template_id().unwrap_or_default().to_string(),
                    l.version().unwrap_or("$Default").to_string(),
                )
            }),
            target_group_arns: g.target_group_arns().to_vec(),
            instances: g
                .instances()
                .iter()
                .map(|i| AsgInstance {
                    id: i.instance_id().unwrap_or_default().to_string(),
                    lifecycle: i
                        .lifecycle_state()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    launch_template_version: i
                        .launch_template()
                        .and_then(|l| l.version())
                        .map(str::to_string),
                })
                .collect(),
        }))
    }

    async fn launch_template_latest(
        &self,
        region: &str,
        launch_template_id: &str,
    ) -> Result<Option<String>, CallError> {
        match self
            .aws
            .ec2(region)
            .describe_launch_templates()
            .launch_template_ids(launch_template_id)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .launch_templates()
                .first()
                .and_then(|t| t.latest_version_number())
                .map(|n| n.to_string())),
            Err(e) => {
                let e = CallError::from_sdk("ec2", "DescribeLaunchTemplates", region, e);
                if e.code.starts_with("InvalidLaunchTemplateId") {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn network_found(
        &self,
        region: &str,
        vpcs: &[String],
        subnets: &[String],
    ) -> Result<Vec<String>, CallError> {
        use aws_sdk_ec2::types::Filter;
        let ec2 = self.aws.ec2(region);
        let mut found = Vec::new();
        if !vpcs.is_empty() {
            let out = ec2
                .describe_vpcs()
                .filters(
                    Filter::builder()
                        .name("vpc-id")
                        .set_values(Some(vpcs.to_vec()))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| CallError::from_sdk("ec2", "DescribeVpcs", region, e))?;
            found.extend(
                out.vpcs()
                    .iter()
                    .filter_map(|v| v.vpc_id())
                    .map(str::to_string),
            );
        }
        if !subnets.is_empty() {
            let out = ec2
                .describe_subnets()
                .filters(
                    Filter::builder()
                        .name("subnet-id")
                        .set_values(Some(subnets.to_vec()))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| CallError::from_sdk("ec2", "DescribeSubnets", region, e))?;
            found.extend(
                out.subnets()
                    .iter()
                    .filter_map(|s| s.subnet_id())
                    .map(str::to_string),
            );
        }
        Ok(found)
    }

    async fn bucket_exists(&self, region: &str, bucket: &str) -> Result<bool, CallError> {
        match self
            .aws
            .s3(region)
            .head_bucket()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            // HeadBucket answers without a body: 404 is "no such bucket"; 403 (not
            // ours) and 301 (in another region) are buckets that exist
            // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html).
            Err(e) => match e.raw_response().map(|r| r.status().as_u16()) {
                Some(404) => Ok(false),
                Some(403) | Some(301) => Ok(true),
                _ => Err(CallError::from_sdk("s3", "HeadBucket", region, e)),
            },
        }
    }

    async fn table(&self, region: &str, name: &str) -> Result<Option<TableState>, CallError> {
        match self
            .aws
            .dynamodb(region)
            .describe_table()
            .table_name(name)
            .send()
            .await
        {
            Ok(out) => Ok(out.table().map(|t| TableState {
                status: t
                    .table_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                replicas: t
                    .replicas()
                    .iter()
                    .map(|r| {
                        (
                            r.region_name().unwrap_or_default().to_string(),
                            r.replica_status()
                                .map(|s| s.as_str().to_string())
                                .unwrap_or_default(),
                        )
                    })
                    .collect(),
            })),
            Err(e) => {
                let e = CallError::from_sdk("dynamodb", "DescribeTable", region, e);
                if e.code == "ResourceNotFoundException" {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn target_health(
        &self,
        region: &str,
        target_group_arn: &str,
    ) -> Result<Vec<(String, String)>, CallError> {
        super::health_reads::target_states(&self.aws, region, target_group_arn).await
    }

    async fn health_check_reports(&self, health_check_id: &str) -> Result<Vec<String>, CallError> {
        super::health_reads::checker_reports(&self.aws, health_check_id).await
    }

    async fn health_check_config(
        &self,
        health_check_id: &str,
    ) -> Result<crate::deploy::check_health::CheckConfig, CallError> {
        let Some(h) = super::route53_records::health_check(&self.aws, health_check_id).await?
        else {
            return Err(CallError {
                service: "route53",
                operation: "GetHealthCheck",
                region: "us-east-1".into(),
                code: "NoSuchHealthCheck".into(),
                message: format!("health check {health_check_id} does not exist"),
            });
        };
        Ok(crate::deploy::check_health::CheckConfig {
            kind: h.check_type,
            children: h.children,
            threshold: h.health_threshold,
            inverted: h.inverted,
            disabled: h.disabled,
        })
    }

    async fn alarm_states(
        &self,
        region: &str,
        prefix: &str,
    ) -> Result<Vec<(String, String)>, CallError> {
        Ok(
            super::alarms::metric_alarms(&self.aws, region, super::alarms::Select::Prefix(prefix))
                .await?
                .iter()
                .map(|a| {
                    (
                        a.alarm_name().unwrap_or_default().to_string(),
                        a.state_value()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                    )
                })
                .collect(),
        )
    }

    async fn lb_traffic(
        &self,
        region: &str,
        load_balancer_arn: &str,
        start: i64,
        end: i64,
    ) -> Result<crate::deploy::cloud::Traffic, CallError> {
        super::lb_metrics::traffic(&self.aws, region, load_balancer_arn, start, end).await
    }

    async fn availability_zones(&self, region: &str) -> Result<Vec<String>, CallError> {
        use aws_sdk_ec2::types::Filter;
        let out = self
            .aws
            .ec2(region)
            .describe_availability_zones()
            .filters(
                Filter::builder()
                    .name("zone-type")
                    .values("availability-zone")
                    .build(),
            )
            .filters(Filter::builder().name("state").values("available").build())
            .send()
            .await
            .map_err(|e| CallError::from_sdk("ec2", "DescribeAvailabilityZones", region, e))?;
        Ok(out
            .availability_zones()
            .iter()
            .filter_map(|z| z.zone_name().map(str::to_string))
            .collect())
    }

    async fn managed_prefix_list(
        &self,
        region: &str,
        name: &str,
    ) -> Result<Option<String>, CallError> {
        use aws_sdk_ec2::types::Filter;
        let out = self
            .aws
            .ec2(region)
            .describe_managed_prefix_lists()
            .filters(
                Filter::builder()
                    .name("prefix-list-name")
                    .values(name)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| CallError::from_sdk("ec2", "DescribeManagedPrefixLists", region, e))?;
        Ok(out
            .prefix_lists()
            .iter()
            .find(|l| l.prefix_list_name() == Some(name) && l.owner_id() == Some("AWS"))
            .and_then(|l| l.prefix_list_id().map(str::to_string)))
    }

    async fn ami_copy(
        &self,
        region: &str,
        stack: &str,
        source_ami: &str,
    ) -> Result<Option<String>, CallError> {
        let tags = BTreeMap::from([
            (
                crate::ami::TAG_SOURCE_AMI.to_string(),
                source_ami.to_string(),
            ),
            (crate::ami::TAG_STACK.to_string(), stack.to_string()),
        ]);
        let found = self.aws.images_by_tags(region, &tags).await?;
        Ok(crate::ami::preferred_copy(found).map(|i| i.id))
    }
}
