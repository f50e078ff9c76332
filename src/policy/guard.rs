//! The cfn-guard rules of `policies/*.guard`, embedded in the binary and evaluated
//! in-process by the `cfn-guard` crate against one template's JSON.

use cfn_guard::commands::validate::{OutputFormatType, ShowSummaryType};
use cfn_guard::commands::Executable;
use cfn_guard::utils::reader::{ReadBuffer, Reader};
use cfn_guard::utils::writer::{WriteBuffer, Writer};
use cfn_guard::CommandBuilder;
use serde_json::Value as Json;
use std::io::Cursor;

/// One rule file of `policies/`, embedded at compile time (the binary works anywhere).
#[derive(Debug, Clone, Copy)]
pub struct GuardRule {
    /// The rule's name: the file's stem and the name of the `rule` inside it.
    pub name: &'static str,
    /// The guard source.
    pub source: &'static str,
    /// Why the rule matters (printed with a violation).
    pub why: &'static str,
    /// How to fix a violation.
    pub fix: &'static str,
}

macro_rules! guard_rule {
    ($name:literal, $why:literal, $fix:literal) => {
        GuardRule {
            name: $name,
            source: include_str!(concat!("../../policies/", $name, ".guard")),
            why: $why,
            fix: $fix,
        }
    };
}

/// Every rule of `policies/`, in report order.
pub const RULES: &[GuardRule] = &[
    guard_rule!(
        "bucket_encrypted",
        "objects at rest must be unreadable from stolen disks or snapshots",
        "set BucketEncryption with an SSE algorithm (AES256 or aws:kms) on the bucket"
    ),
    guard_rule!(
        "table_encrypted",
        "table data at rest must be encrypted",
        "set SSESpecification.SSEEnabled: true on the global table"
    ),
    guard_rule!(
        "queue_encrypted",
        "messages at rest must be encrypted",
        "set SqsManagedSseEnabled: true (or a KmsMasterKeyId) on the queue"
    ),
    guard_rule!(
        "volume_encrypted",
        "instance volumes at rest must be encrypted",
        "set Ebs.Encrypted: true on every BlockDeviceMapping of the launch template"
    ),
    guard_rule!(
        "bucket_no_public_access",
        "one public object can leak every customer's data",
        "set all four PublicAccessBlockConfiguration flags to true"
    ),
    guard_rule!(
        "bucket_tls_only",
        "plain-HTTP access exposes objects and credentials on the wire",
        "attach a bucket policy with a Deny statement on Condition Bool aws:SecureTransport false"
    ),
    guard_rule!(
        "https_only",
        "plain HTTP exposes every request and response on the wire, and lets anyone on the path change them",
        "serve HTTPS (the default: drop dns.plain_http): HTTP listeners only redirect to HTTPS, \
         HTTPS listeners name a certificate and a TLS policy, CloudFront has its own certificate \
         with TLSv1.2_2021 and reaches its origin https-only"
    ),
    guard_rule!(
        "imdsv2_required",
        "IMDSv1 lets a server-side request forgery read the instance's credentials",
        "set MetadataOptions.HttpTokens: required in the launch template"
    ),
    guard_rule!(
        "sg_no_world_ingress",
        "only the load balancer should be reachable from the internet; everything else behind it",
        "open 0.0.0.0/0 and ::/0 only on the load balancer's security group, ports 80 and 443; \
         reference the load balancer's security group elsewhere"
    ),
    guard_rule!(
        "asg_elb_health_check",
        "EC2 health checks only see a running VM, not a serving application: broken instances stay in service",
        "set HealthCheckType: ELB (with a HealthCheckGracePeriod) on the Auto Scaling group"
    ),
    guard_rule!(
        "asg_multi_az",
        "an Auto Scaling group in one subnet is one Availability Zone: a single point of failure",
        "list one subnet per Availability Zone (two or more) in VPCZoneIdentifier"
    ),
    guard_rule!(
        "nat_route_same_az",
        "a private subnet routed through another zone's NAT loses its egress when that zone fails",
        "route each private route table's 0.0.0.0/0 to the NAT gateway (Ref) in its own Availability Zone"
    ),
    guard_rule!(
        "routed_record_health_check",
        "without a health check Route 53 keeps routing users to a dead region",
        "give every record with a SetIdentifier (latency or failover) a HealthCheckId"
    ),
    guard_rule!(
        "bucket_versioned",
        "without versioning an overwrite or delete is unrecoverable",
        "set VersioningConfiguration.Status: Enabled on the bucket"
    ),
    guard_rule!(
        "bucket_replicated",
        "a bucket in one region is lost with that region",
        "enable storage.replication (a ReplicationConfiguration to the other regions' buckets)"
    ),
];

/// The rule named `name`, if it is a guard rule.
pub fn rule(name: &str) -> Option<&'static GuardRule> {
    RULES.iter().find(|r| r.name == name)
}

/// Errors of the guard engine: a rule that does not parse or a template it cannot read.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("guard rule {rule} on template {template}: {message}")]
    Engine {
        rule: String,
        template: String,
        message: String,
    },
}

/// One failure reported by the guard engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardFailure {
    /// The failing rule's name.
    pub rule: String,
    /// The logical id of the offending resource, when the engine names one.
    pub resource: Option<String>,
    /// The rule's custom message (`<< ... >>`), whitespace collapsed.
    pub message: String,
}

/// The outcome of one rule file on one template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardStatus {
    Pass,
    /// The rule found nothing to check (no resource of its type).
    Skip,
    Fail(Vec<GuardFailure>),
}

impl GuardStatus {
    /// The word cfn-guard's test files use: PASS, SKIP or FAIL.
    pub fn word(&self) -> &'static str {
        match self {
            GuardStatus::Pass => "PASS",
            GuardStatus::Skip => "SKIP",
            GuardStatus::Fail(_) => "FAIL",
        }
    }
}

/// Evaluate one rule file against one template (JSON text), in-process.
/// `template` names the template in errors (e.g. "us-east-1").
pub fn evaluate(
    rule: &GuardRule,
    template: &str,
    template_json: &str,
) -> Result<GuardStatus, GuardError> {
    let mut all = evaluate_all(&[rule], &[(template, template_json)])?;
    Ok(all.remove(0).remove(0))
}

/// Evaluate every rule against every template (name, JSON text). The result is
/// indexed `[template][rule]`. The templates are split across the machine's
/// cores, one engine run per share (cfn-guard evaluates single-threaded, and the
/// evaluation, not the parse of the rules, is what takes the time).
pub fn evaluate_all(
    rules: &[&GuardRule],
    templates: &[(&str, &str)],
) -> Result<Vec<Vec<GuardStatus>>, GuardError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 || templates.len() < 2 {
        return evaluate_in_one_run(rules, templates);
    }
    let share = templates.len().div_ceil(cores.min(templates.len()));
    let results: Vec<_> = std::thread::scope(|scope| {
        let runs: Vec<_> = templates
            .chunks(share)
            .map(|chunk| scope.spawn(move || evaluate_in_one_run(rules, chunk)))
            .collect();
        runs.into_iter()
            .map(|r| r.join().expect("a guard evaluation thread panicked"))
            .collect()
    });
    let mut all = Vec::with_capacity(templates.len());
    for r in results {
        all.extend(r?);
    }
    Ok(all)
}

/// Evaluate every rule against every template in one engine run: each rule file is
/// parsed once and each template once.
///
/// Uses cfn-guard's `validate` command in payload mode with structured JSON output,
/// written to memory. (`cfn_guard::run_checks` is not used: it returns only the
/// unflushed tail of its `BufWriter`, so a report over 8 KiB comes back cut.)
fn evaluate_in_one_run(
    rules: &[&GuardRule],
    templates: &[(&str, &str)],
) -> Result<Vec<Vec<GuardStatus>>, GuardError> {
    let all_rules = || rules.iter().map(|r| r.name).collect::<Vec<_>>().join(", ");
    let all_templates = || templates.iter().map(|t| t.0).collect::<Vec<_>>().join(", ");
    let engine = |message: String| GuardError::Engine {
        rule: all_rules(),
        template: all_templates(),
        message,
    };
    let payload = serde_json::json!({
        "rules": rules.iter().map(|r| r.source).collect::<Vec<_>>(),
        "data": templates.iter().map(|t| t.1).collect::<Vec<_>>(),
    });
    let command = cfn_guard::ValidateBuilder::default()
        .payload(true)
        .structured(true)
        .output_format(OutputFormatType::JSON)
        .show_summary(vec![ShowSummaryType::None])
        .try_build()
        .map_err(|e| engine(e.to_string()))?;
    let mut reader = Reader::new(ReadBuffer::Cursor(Cursor::new(
        payload.to_string().into_bytes(),
    )));
    let mut writer =
        Writer::new_with_err(WriteBuffer::Vec(Vec::new()), WriteBuffer::Vec(Vec::new()))
            .map_err(|e| engine(e.to_string()))?;
    // cfn-guard's exit codes: 0 pass, 19 a rule failed, 5 an error. A rule file
    // that does not parse is reported on the (discarded) error stream and left
    // out of the reports, so it is caught below as a rule with no outcome.
    let code = command
        .execute(&mut writer, &mut reader)
        .map_err(|e| engine(e.to_string()))?;
    let out = writer.into_string().map_err(|e| engine(e.to_string()))?;
    let reports: Json = serde_json::from_str(&out)
        .map_err(|e| engine(format!("unreadable engine report (exit {code}): {e}")))?;
    let reports = reports
        .as_array()
        .filter(|a| a.len() == templates.len())
        .ok_or_else(|| {
            engine(format!(
                "expected {} reports (exit {code})",
                templates.len()
            ))
        })?;
    templates
        .iter()
        .zip(reports)
        .map(|((template, _), report)| {
            rules
                .iter()
                .map(|rule| status_of(rule.name, template, report))
                .collect()
        })
        .collect()
}

/// The status of rule `name` in the engine's report for one template, which
/// combines every rule file: failing rules in `not_compliant`, the others listed
/// by name in `compliant` or `not_applicable`.
fn status_of(name: &str, template: &str, report: &Json) -> Result<GuardStatus, GuardError> {
    let listed = |key: &str| {
        report
            .get(key)
            .and_then(Json::as_array)
            .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(name)))
    };
    let mut failures = Vec::new();
    for entry in report
        .get("not_compliant")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let Some(rule_report) = entry.get("Rule") else {
            continue;
        };
        if rule_report.get("name").and_then(Json::as_str) != Some(name) {
            continue;
        }
        let mut found: Vec<(Option<String>, String)> = Vec::new();
        collect_clauses(rule_report, &mut found);
        if found.is_empty() {
            found.push((first_resource(rule_report), String::new()));
        }
        let explained: Vec<Option<String>> = found
            .iter()
            .filter(|(_, m)| !m.is_empty())
            .map(|(r, _)| r.clone())
            .collect();
        for (resource, message) in found {
            // A clause without its own message (e.g. a failing `some` block) is
            // dropped when the same resource has an explained failure, and
            // otherwise says what the rule requires.
            let message = if !message.is_empty() {
                message
            } else if explained.contains(&resource) {
                continue;
            } else {
                let fix = rule(name).map_or("", |r| r.fix);
                format!("does not satisfy {name}: {fix}")
            };
            let failure = GuardFailure {
                rule: name.to_string(),
                resource,
                message,
            };
            if !failures.contains(&failure) {
                failures.push(failure);
            }
        }
    }
    if !failures.is_empty() {
        Ok(GuardStatus::Fail(failures))
    } else if listed("compliant") {
        Ok(GuardStatus::Pass)
    } else if listed("not_applicable") {
        Ok(GuardStatus::Skip)
    } else {
        Err(GuardError::Engine {
            rule: name.to_string(),
            template: template.to_string(),
            message: "the engine reported no outcome for the rule (does its file parse?)".into(),
        })
    }
}

/// Collect (resource, custom message) from every failing clause under a rule report.
fn collect_clauses(node: &Json, out: &mut Vec<(Option<String>, String)>) {
    match node {
        Json::Object(map) => {
            if let Some(messages) = map.get("messages") {
                let message = messages
                    .get("custom_message")
                    .and_then(Json::as_str)
                    .map(collapse)
                    .unwrap_or_default();
                if !message.is_empty() {
                    let item = (first_resource(node), message);
                    if !out.contains(&item) {
                        out.push(item);
                    }
                }
            }
            for (key, child) in map {
                if key != "messages" {
                    collect_clauses(child, out);
                }
            }
        }
        Json::Array(items) => items.iter().for_each(|c| collect_clauses(c, out)),
        _ => {}
    }
}

/// The logical id in the first "/Resources/<id>/..." path under a clause.
fn first_resource(node: &Json) -> Option<String> {
    match node {
        Json::Object(map) => {
            for (key, child) in map {
                if key == "path" {
                    if let Some(id) = child
                        .as_str()
                        .and_then(|p| p.strip_prefix("/Resources/"))
                        .and_then(|rest| rest.split('/').next())
                    {
                        return Some(id.to_string());
                    }
                }
            }
            map.values().find_map(first_resource)
        }
        Json::Array(items) => items.iter().find_map(first_resource),
        _ => None,
    }
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
