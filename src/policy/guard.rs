//! The cfn-guard rules of `policies/*.guard`, embedded in the binary and evaluated
//! in-process by the `cfn-guard` crate against one template's JSON.

use cfn_guard::commands::validate::{OutputFormatType, ShowSummaryType};
use cfn_guard::commands::Executable;
use cfn_guard::utils::reader::{ReadBuffer, Reader};
use cfn_guard::utils::writer::{WriteBuffer, Writer};
use cfn_guard::CommandBuilder;
use serde_json::Value as Json;
use std::collections::BTreeSet;
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
    #[error("guard rule {rule} on template {template}: unreadable engine report: {message}")]
    Report {
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
///
/// Uses cfn-guard's `validate` command in payload mode with structured JSON output,
/// written to memory. (`cfn_guard::run_checks` is not used: it returns only the
/// unflushed tail of its `BufWriter`, so a report over 8 KiB comes back cut.)
/// `template` names the template in errors (e.g. "us-east-1").
pub fn evaluate(
    rule: &GuardRule,
    template: &str,
    template_json: &str,
) -> Result<GuardStatus, GuardError> {
    let engine = |message: String| GuardError::Engine {
        rule: rule.name.to_string(),
        template: template.to_string(),
        message,
    };
    let payload = serde_json::json!({ "rules": [rule.source], "data": [template_json] });
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
    let code = command
        .execute(&mut writer, &mut reader)
        .map_err(|e| engine(e.to_string()))?;
    // cfn-guard's exit codes: 0 pass, 19 a rule failed, 5 an error (e.g. a rule file
    // that does not parse, reported on the error stream, which is discarded here).
    if code == 5 {
        return Err(engine(
            "the rule file or the template could not be read (cfn-guard exit 5)".into(),
        ));
    }
    let out = writer.into_string().map_err(|e| engine(e.to_string()))?;
    // Structured output: one report per (data, rules) pair; here exactly one.
    let reports: Json = serde_json::from_str(&out).map_err(|e| GuardError::Report {
        rule: rule.name.to_string(),
        template: template.to_string(),
        message: format!("{e}"),
    })?;
    let report = match reports.as_array().map(Vec::as_slice) {
        Some([one]) => one.to_string(),
        _ => {
            return Err(GuardError::Report {
                rule: rule.name.to_string(),
                template: template.to_string(),
                message: format!("expected one report, got {reports}"),
            })
        }
    };
    parse_report(rule.name, template, &report)
}

/// Read the engine's JSON report of one rule file into a status for rule `name`.
fn parse_report(name: &str, template: &str, report: &str) -> Result<GuardStatus, GuardError> {
    let bad = |message: String| GuardError::Report {
        rule: name.to_string(),
        template: template.to_string(),
        message,
    };
    let doc: Json = serde_json::from_str(report).map_err(|e| bad(format!("{e} in {report:?}")))?;
    let names = |key: &str| -> BTreeSet<String> {
        doc.get(key)
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut failures = Vec::new();
    for entry in doc
        .get("not_compliant")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let Some(rule_report) = entry.get("Rule") else {
            continue;
        };
        let rule_name = rule_report
            .get("name")
            .and_then(Json::as_str)
            .unwrap_or(name)
            .to_string();
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
                let fix = rule(&rule_name).map_or("", |r| r.fix);
                format!("does not satisfy {rule_name}: {fix}")
            };
            let failure = GuardFailure {
                rule: rule_name.clone(),
                resource,
                message,
            };
            if !failures.contains(&failure) {
                failures.push(failure);
            }
        }
    }
    if !failures.is_empty() {
        return Ok(GuardStatus::Fail(failures));
    }
    match doc.get("status").and_then(Json::as_str) {
        Some("FAIL") => Err(bad("status FAIL without a failing rule".into())),
        _ if names("compliant").contains(name) => Ok(GuardStatus::Pass),
        _ if names("not_applicable").contains(name) => Ok(GuardStatus::Skip),
        Some("PASS") => Ok(GuardStatus::Pass),
        Some("SKIP") => Ok(GuardStatus::Skip),
        other => Err(bad(format!("unexpected status {other:?}"))),
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
