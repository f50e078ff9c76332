//! Route 53 reads and writes: hosted zones by name, the record sets of one name,
//! health checks (configuration and checker reports), `UpdateHealthCheck` of a
//! calculated check's threshold and children (failover), and record UPSERTs, all
//! through one `upsert`: DR's record repair (`upsert_alias`,
//! `upsert_failover_cname`) and drift's put-back of a record's health check
//! (`set_health_check`).

use super::{Aws, CallError};

const R53: &str = "route53";
/// Route 53's API lives in us-east-1 (a global service).
const R53_REGION: &str = "us-east-1";

fn err<E, R>(
    op: &'static str,
) -> impl FnOnce(aws_smithy_runtime_api::client::result::SdkError<E, R>) -> CallError
where
    E: aws_sdk_route53::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    move |e| CallError::from_sdk(R53, op, R53_REGION, e)
}

pub use crate::dr::dns_reads::{HealthCheckView, RecordView};

/// ListHostedZonesByName: the id (without "/hostedzone/") of the public zone `name`
/// (the first, when several share the name: see `public_zone_ids`).
pub async fn hosted_zone_id(aws: &Aws, name: &str) -> Result<Option<String>, CallError> {
    Ok(public_zone_ids(aws, name).await?.into_iter().next())
}

/// ListHostedZonesByName: the ids (without "/hostedzone/") of every public zone
/// named `name` (several zones may share a name).
pub async fn public_zone_ids(aws: &Aws, name: &str) -> Result<Vec<String>, CallError> {
    let want = format!("{}.", name.trim_end_matches('.'));
    let out = aws
        .route53()
        .list_hosted_zones_by_name()
        .dns_name(&want)
        .send()
        .await
        .map_err(err("ListHostedZonesByName"))?;
    Ok(out
        .hosted_zones()
        .iter()
        .filter(|z| z.name().eq_ignore_ascii_case(&want))
        .filter(|z| !z.config().is_some_and(|c| c.private_zone()))
        .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
        .collect())
}

/// ListResourceRecordSets: every record set named `name` (all types, all set ids).
pub async fn record_sets(
    aws: &Aws,
    zone_id: &str,
    name: &str,
) -> Result<Vec<RecordView>, CallError> {
    let want = format!("{}.", name.trim_end_matches('.').to_ascii_lowercase());
    let mut found = Vec::new();
    let mut start: Option<(String, String, Option<String>)> =
        Some((want.clone(), "A".into(), None));
    let mut first = true;
    while let Some((start_name, start_type, start_id)) = start.take() {
        let mut req = aws
            .route53()
            .list_resource_record_sets()
            .hosted_zone_id(zone_id)
            .start_record_name(&start_name);
        if first {
            first = false;
        } else {
            req = req.start_record_type(aws_sdk_route53::types::RrType::from(start_type.as_str()));
            if let Some(id) = &start_id {
                req = req.start_record_identifier(id);
            }
        }
        let out = req.send().await.map_err(err("ListResourceRecordSets"))?;
        let mut past = false;
        for r in out.resource_record_sets() {
            if !r.name().eq_ignore_ascii_case(&want) {
                past = true;
                continue;
            }
            found.push(RecordView {
                name: r.name().to_ascii_lowercase(),
                record_type: r.r#type().as_str().to_string(),
                set_identifier: r.set_identifier().map(str::to_string),
                region: r.region().map(|x| x.as_str().to_string()),
                failover: r.failover().map(|x| x.as_str().to_string()),
                health_check_id: r.health_check_id().map(str::to_string),
                alias_dns_name: r
                    .alias_target()
                    .map(|a| a.dns_name().trim_end_matches('.').to_ascii_lowercase()),
                values: r
                    .resource_records()
                    .iter()
                    .map(|v| v.value().trim_end_matches('.').to_ascii_lowercase())
                    .collect(),
                evaluate_target_health: r
                    .alias_target()
                    .is_some_and(|a| a.evaluate_target_health()),
            });
        }
        if out.is_truncated() && !past {
            if let (Some(n), Some(t)) = (out.next_record_name(), out.next_record_type()) {
                start = Some((
                    n.to_string(),
                    t.as_str().to_string(),
                    out.next_record_identifier().map(str::to_string),
                ));
            }
        }
    }
    Ok(found)
}

/// GetHealthCheck; `None` when it does not exist.
pub async fn health_check(aws: &Aws, id: &str) -> Result<Option<HealthCheckView>, CallError> {
    let out = match aws
        .route53()
        .get_health_check()
        .health_check_id(id)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) => {
            let e = err("GetHealthCheck")(e);
            if e.code == "NoSuchHealthCheck" {
                return Ok(None);
            }
            return Err(e);
        }
    };
    let Some(hc) = out.health_check() else {
        return Ok(None);
    };
    let c = hc.health_check_config();
    Ok(Some(HealthCheckView {
        id: hc.id().to_string(),
        check_type: c
            .map(|c| c.r#type().as_str().to_string())
            .unwrap_or_default(),
        fqdn: c
            .and_then(|c| c.fully_qualified_domain_name())
            .map(|s| s.to_ascii_lowercase()),
        children: c
            .map(|c| c.child_health_checks().to_vec())
            .unwrap_or_default(),
        health_threshold: c.and_then(|c| c.health_threshold()),
        inverted: c.and_then(|c| c.inverted()).unwrap_or(false),
        disabled: c.and_then(|c| c.disabled()).unwrap_or(false),
    }))
}

/// UpdateHealthCheck of a calculated check: its threshold, and its children when given.
pub async fn set_calculated(
    aws: &Aws,
    id: &str,
    health_threshold: i32,
    children: Option<&[String]>,
) -> Result<(), CallError> {
    let mut req = aws
        .route53()
        .update_health_check()
        .health_check_id(id)
        .health_threshold(health_threshold);
    if let Some(children) = children {
        req = req.set_child_health_checks(Some(children.to_vec()));
    }
    req.send().await.map_err(err("UpdateHealthCheck"))?;
    Ok(())
}

/// A record set that could not be built (a required field missing).
fn build(what: &str, e: aws_sdk_route53::error::BuildError) -> CallError {
    CallError {
        service: R53,
        operation: "ChangeResourceRecordSets",
        region: R53_REGION.into(),
        code: "ConstructionFailure".into(),
        message: format!("{what}: {e}"),
    }
}

/// ChangeResourceRecordSets UPSERT of one record set
/// (<https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html>:
/// UPSERT "If a resource record set does not already exist, Route 53 creates it.
/// If a resource record set does exist, Route 53 updates it with the values in the
/// request").
async fn upsert(
    aws: &Aws,
    zone_id: &str,
    set: aws_sdk_route53::types::ResourceRecordSet,
    comment: &str,
) -> Result<(), CallError> {
    use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch};
    let change = Change::builder()
        .action(ChangeAction::Upsert)
        .resource_record_set(set)
        .build()
        .map_err(|e| build("change", e))?;
    let batch = ChangeBatch::builder()
        .changes(change)
        .comment(comment)
        .build()
        .map_err(|e| build("change batch", e))?;
    aws.route53()
        .change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(batch)
        .send()
        .await
        .map_err(err("ChangeResourceRecordSets"))?;
    Ok(())
}

/// UPSERT of a record DR's repair re-creates.
async fn repaired(
    aws: &Aws,
    zone_id: &str,
    set: aws_sdk_route53::types::builders::ResourceRecordSetBuilder,
) -> Result<(), CallError> {
    let set = set.build().map_err(|e| build("record set", e))?;
    upsert(
        aws,
        zone_id,
        set,
        "strata dr: re-create a record deleted outside CloudFormation",
    )
    .await
}

/// The record set `name` / `record_type` / `set_identifier` as it is, with its
/// health check set to `health_check_id` (drift's put-back: everything else the
/// record holds is sent back unchanged). An error when the record does not exist.
pub async fn set_health_check(
    aws: &Aws,
    zone_id: &str,
    name: &str,
    record_type: &str,
    set_identifier: Option<&str>,
    health_check_id: Option<&str>,
) -> Result<(), CallError> {
    let want = format!("{}.", name.trim_end_matches('.').to_ascii_lowercase());
    let out = aws
        .route53()
        .list_resource_record_sets()
        .hosted_zone_id(zone_id)
        .start_record_name(&want)
        .start_record_type(aws_sdk_route53::types::RrType::from(record_type))
        .set_start_record_identifier(set_identifier.map(str::to_string))
        .send()
        .await
        .map_err(err("ListResourceRecordSets"))?;
    let Some(live) = out.resource_record_sets().iter().find(|r| {
        r.name().eq_ignore_ascii_case(&want)
            && r.r#type().as_str() == record_type
            && r.set_identifier() == set_identifier
    }) else {
        return Err(CallError {
            service: R53,
            operation: "ListResourceRecordSets",
            region: R53_REGION.into(),
            code: "NoSuchRecord".into(),
            message: format!("{want} {record_type} {set_identifier:?} is not in {zone_id}"),
        });
    };
    let mut set = live.clone();
    set.health_check_id = health_check_id.map(str::to_string);
    upsert(
        aws,
        zone_id,
        set,
        "strata deploy: the template's health check, changed outside CloudFormation",
    )
    .await
}

/// An alias A record as strata's templates make it.
#[derive(Debug, Clone)]
pub struct AliasRecord {
    pub name: String,
    pub set_identifier: String,
    /// Latency routing region, or None.
    pub region: Option<String>,
    /// "PRIMARY" / "SECONDARY", or None.
    pub failover: Option<String>,
    pub alias_dns_name: String,
    pub alias_zone_id: String,
    pub health_check_id: String,
}

/// ChangeResourceRecordSets UPSERT of one alias record (evaluating target health).
pub async fn upsert_alias(aws: &Aws, zone_id: &str, r: &AliasRecord) -> Result<(), CallError> {
    use aws_sdk_route53::types::{
        AliasTarget, ResourceRecordSet, ResourceRecordSetFailover, ResourceRecordSetRegion, RrType,
    };
    let target = AliasTarget::builder()
        .dns_name(&r.alias_dns_name)
        .hosted_zone_id(&r.alias_zone_id)
        .evaluate_target_health(true)
        .build()
        .map_err(|e| build("alias target", e))?;
    let mut set = ResourceRecordSet::builder()
        .name(&r.name)
        .r#type(RrType::A)
        .set_identifier(&r.set_identifier)
        .alias_target(target)
        .health_check_id(&r.health_check_id);
    if let Some(region) = &r.region {
        set = set.region(ResourceRecordSetRegion::from(region.as_str()));
    }
    if let Some(f) = &r.failover {
        set = set.failover(ResourceRecordSetFailover::from(f.as_str()));
    }
    repaired(aws, zone_id, set).await
}

/// A failover CNAME as strata's templates make it (docs/synth.md, "DNS").
#[derive(Debug, Clone)]
pub struct FailoverCname {
    pub name: String,
    pub set_identifier: String,
    /// "PRIMARY" / "SECONDARY".
    pub failover: String,
    pub value: String,
    pub ttl: i64,
    pub health_check_id: Option<String>,
}

/// ChangeResourceRecordSets UPSERT of one failover CNAME.
pub async fn upsert_failover_cname(
    aws: &Aws,
    zone_id: &str,
    r: &FailoverCname,
) -> Result<(), CallError> {
    use aws_sdk_route53::types::{
        ResourceRecord, ResourceRecordSet, ResourceRecordSetFailover, RrType,
    };
    let value = ResourceRecord::builder()
        .value(&r.value)
        .build()
        .map_err(|e| build("record value", e))?;
    let mut set = ResourceRecordSet::builder()
        .name(&r.name)
        .r#type(RrType::Cname)
        .set_identifier(&r.set_identifier)
        .failover(ResourceRecordSetFailover::from(r.failover.as_str()))
        .ttl(r.ttl)
        .resource_records(value);
    if let Some(hc) = &r.health_check_id {
        set = set.health_check_id(hc);
    }
    repaired(aws, zone_id, set).await
}

/// Delete the DNS validation records ACM's certificates left in `zone_id` (CNAMEs
/// whose value is under `acm-validations.aws.`): CloudFormation does not remove
/// them with the certificate, because certificates of the same names share them,
/// and Route 53 deletes a zone only when it holds nothing but its SOA and NS
/// records (<https://docs.aws.amazon.com/Route53/latest/APIReference/API_DeleteHostedZone.html>,
/// HostedZoneNotEmpty). Returns the names deleted.
pub async fn delete_acm_validation_records(
    aws: &Aws,
    zone_id: &str,
) -> Result<Vec<String>, CallError> {
    use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, RrType};
    let client = aws.route53();
    let mut found = Vec::new();
    let mut start: Option<(String, RrType)> = None;
    loop {
        let mut req = client.list_resource_record_sets().hosted_zone_id(zone_id);
        if let Some((name, kind)) = &start {
            req = req.start_record_name(name).start_record_type(kind.clone());
        }
        let out = req.send().await.map_err(err("ListResourceRecordSets"))?;
        for set in out.resource_record_sets() {
            let acm = *set.r#type() == RrType::Cname
                && set.resource_records().iter().any(|r| {
                    r.value()
                        .trim_end_matches('.')
                        .ends_with("acm-validations.aws")
                });
            if acm {
                found.push(set.clone());
            }
        }
        match (
            out.is_truncated(),
            out.next_record_name(),
            out.next_record_type(),
        ) {
            (true, Some(name), Some(kind)) => start = Some((name.to_string(), kind.clone())),
            _ => break,
        }
    }
    let names: Vec<String> = found.iter().map(|s| s.name().to_string()).collect();
    if found.is_empty() {
        return Ok(names);
    }
    let build = |e: aws_sdk_route53::error::BuildError| CallError {
        service: R53,
        operation: "ChangeResourceRecordSets",
        region: R53_REGION.into(),
        code: "ConstructionFailure".into(),
        message: e.to_string(),
    };
    let changes = found
        .into_iter()
        .map(|set| {
            Change::builder()
                .action(ChangeAction::Delete)
                .resource_record_set(set)
                .build()
                .map_err(build)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let batch = ChangeBatch::builder()
        .set_changes(Some(changes))
        .comment("strata destroy: validation records ACM left in the zone")
        .build()
        .map_err(build)?;
    client
        .change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(batch)
        .send()
        .await
        .map_err(err("ChangeResourceRecordSets"))?;
    Ok(names)
}
