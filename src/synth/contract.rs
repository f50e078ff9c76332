//! The application's contract: what each region publishes for the app on its
//! instances, as SSM parameters under `/<app>/<env>/` (docs/app-contract.md), the
//! instance role's read access to exactly that path, and the user data that starts
//! the app with it and tells CloudFormation when the app answers its health path.
//!
//! Parameters (SSM Parameter Store is regional, so each region has its own set):
//! `region`, `peers` (the other regions, a StringList; absent with one region and
//! in a region's first build, before it is wired to them),
//! `domain`, `bucket`, `tables/<name>` (the table's name) and `queues/<name>` (the
//! queue's URL). They are `String` parameters: names and URLs, no secret.

use super::context::RegionCtx;
use super::data::Data;
use super::lit::{opt, s, some, sub};
use super::naming;
use crate::cfn::gen::{s3, ssm};
use crate::cfn::{Handle, Intrinsic, Template, Value};
use serde_json::{json, Value as Json};

/// What the rest of the region template needs of the contract.
pub struct Contract {
    /// `/<app>/<env>/`, with both slashes: every parameter's name starts with it.
    pub path: String,
    /// The logical ids of the parameters: the instances must not boot before
    /// they exist (the app reads them at start).
    pub parameters: Vec<String>,
}

/// The path every parameter of the stack lives under.
pub fn path(ctx: &RegionCtx) -> String {
    format!("/{}/{}/", ctx.def.app.name, ctx.def.app.environment)
}

pub fn add(
    t: &mut Template,
    ctx: &RegionCtx,
    data: &Data,
    bucket: Option<&Handle<s3::Bucket>>,
) -> Contract {
    let path = path(ctx);
    let mut entries: Vec<(String, String, Value<String>, ssm::parameter::ParameterType)> = vec![
        (
            "Region".into(),
            "region".into(),
            s(ctx.region.name.as_str()),
            string(),
        ),
        (
            "Domain".into(),
            "domain".into(),
            s(ctx.def.dns.domain.as_str()),
            string(),
        ),
    ];
    // The regions this one is wired with: published once it is (a region's first
    // build knows no other region, and its peers may not exist yet).
    let peers: Vec<&str> = ctx.other_regions().map(|r| r.name.as_str()).collect();
    if !peers.is_empty() && ctx.phase == super::Phase::Wired {
        entries.push((
            "Peers".into(),
            "peers".into(),
            s(peers.join(",")),
            ssm::parameter::ParameterType::StringList,
        ));
    }
    if let Some(bucket) = bucket {
        entries.push(("Bucket".into(), "bucket".into(), bucket.ref_(), string()));
    }
    for table in &ctx.def.tables {
        entries.push((
            format!("Table{}", naming::pascal(&table.name)),
            format!("tables/{}", table.name),
            s(naming::table_name(ctx.def, &table.name)),
            string(),
        ));
    }
    for (q, pair) in ctx.def.queues.iter().zip(&data.queues) {
        entries.push((
            format!("Queue{}", naming::pascal(&q.name)),
            format!("queues/{}", q.name),
            pair.queue.ref_(),
            string(),
        ));
    }
    let mut parameters = Vec::new();
    for (id, name, value, kind) in entries {
        let full = format!("{path}{name}");
        let mut p = ssm::Parameter::new(value, Value::Lit(kind));
        p.name = some(full.as_str());
        p.description = some(format!(
            "{} contract: {name} (docs/app-contract.md)",
            ctx.def.stack_name()
        ));
        p.tier = opt(ssm::parameter::ParameterTier::Standard);
        p.tags = Some(
            super::tags::pairs(ctx.def, &ctx.region.name)
                .into_iter()
                .map(|(k, v)| (k, s(v)))
                .collect(),
        );
        let p = t.add(format!("Contract{id}"), p);
        parameters.push(p.logical_id().to_string());
    }
    Contract { path, parameters }
}

fn string() -> ssm::parameter::ParameterType {
    ssm::parameter::ParameterType::String
}

/// The instance role's statement: read the contract's parameters, nothing else in
/// Parameter Store. `GetParametersByPath` is authorized on the path itself
/// (`parameter/<app>/<env>`), the others on each parameter (`.../<app>/<env>/*`).
pub fn read_statement(contract: &Contract) -> Json {
    let trimmed = contract.path.trim_end_matches('/');
    let arn = |suffix: &str| {
        sub(format!(
            "arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter{trimmed}{suffix}"
        ))
        .to_json()
    };
    json!({
        "Sid": "AppContract",
        "Effect": "Allow",
        "Action": ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
        "Resource": [arn(""), arn("/*")]
    })
}

/// How long a new instance has to answer its health path before it signals
/// failure (and CloudFormation's `PauseTime`, the signal timeout, must cover it).
pub const HEALTH_WAIT_SECONDS: u32 = 600;

/// The user data: write the contract to `/etc/strata/app.env`, start the baked
/// AMI's app (`/opt/app/start`, docs/app-contract.md), wait until it answers its
/// health path on localhost, then send CloudFormation one resource signal for the
/// Auto Scaling group (`cfn-signal`, from aws-cfn-bootstrap on the AMI): success
/// when it answered within `HEALTH_WAIT_SECONDS`, failure otherwise.
pub fn user_data(ctx: &RegionCtx, contract: &Contract, asg_logical_id: &str) -> Value<String> {
    let c = &ctx.def.compute;
    let tries = HEALTH_WAIT_SECONDS / 5;
    let script = format!(
        r#"#!/bin/bash
# strata user data: start the app with its contract, then signal CloudFormation.
set -u
mkdir -p /etc/strata
cat > /etc/strata/app.env <<'ENV'
STRATA_APP={app}
STRATA_ENV={env}
STRATA_PARAMETERS={path}
AWS_REGION=${{AWS::Region}}
AWS_DEFAULT_REGION=${{AWS::Region}}
PORT={port}
HEALTH_PATH={health}
ENV
set -a; . /etc/strata/app.env; set +a
status=1
if [ -x /opt/app/start ]; then
  /opt/app/start
  for _ in $(seq 1 {tries}); do
    if curl -fsS -o /dev/null "http://127.0.0.1:{port}{health}"; then status=0; break; fi
    sleep 5
  done
fi
/opt/aws/bin/cfn-signal -e "$status" --stack ${{AWS::StackName}} --resource {asg} --region ${{AWS::Region}}
"#,
        app = ctx.def.app.name,
        env = ctx.def.app.environment,
        path = contract.path,
        port = c.app_port,
        health = c.health_check_path,
        asg = asg_logical_id,
    );
    Value::Expr(Intrinsic::Base64(Box::new(sub(script).to_json())))
}

#[cfg(test)]
mod tests {
    use crate::synth::{synthesize, Phase};
    use serde_json::Value as Json;
    use std::collections::BTreeSet;

    fn example() -> crate::stack::StackDef {
        crate::stack::load_str(
            include_str!("../../stacks/example.toml"),
            "stacks/example.toml",
        )
        .expect("the example loads")
    }

    /// A literal or `Fn::Sub` ARN with the pseudo parameters of one account and
    /// region; None for other intrinsics (`Fn::GetAtt` of a bucket or queue ARN:
    /// never a Parameter Store ARN).
    fn resolve(v: &Json, region: &str) -> Option<String> {
        let text = v["Fn::Sub"].as_str().or(v.as_str())?;
        Some(
            text.replace("${AWS::Partition}", "aws")
                .replace("${AWS::Region}", region)
                .replace("${AWS::AccountId}", "123456789012"),
        )
    }

    /// IAM's wildcard match: `*` any run of characters, `?` one.
    fn glob(pattern: &str, text: &str) -> bool {
        match (pattern.chars().next(), text.chars().next()) {
            (None, None) => true,
            (Some('*'), _) => {
                glob(&pattern[1..], text) || (!text.is_empty() && glob(pattern, &text[1..]))
            }
            (Some('?'), Some(c)) => glob(&pattern[1..], &text[c.len_utf8()..]),
            (Some(p), Some(c)) if p == c => glob(&pattern[1..], &text[c.len_utf8()..]),
            _ => false,
        }
    }

    /// Whether any statement of any IAM policy in the template lets a principal
    /// `action` on `arn`, and the logical ids of the resources whose policies do.
    fn allowed_by(template: &Json, region: &str, action: &str, arn: &str) -> Vec<String> {
        let mut who = Vec::new();
        for (id, res) in template["Resources"].as_object().unwrap() {
            let mut docs = Vec::new();
            if let Some(policies) = res["Properties"]["Policies"].as_array() {
                docs.extend(policies.iter().map(|p| p["PolicyDocument"].clone()));
            }
            if res["Properties"]["PolicyDocument"].is_object() {
                docs.push(res["Properties"]["PolicyDocument"].clone());
            }
            for doc in docs {
                for st in doc["Statement"].as_array().into_iter().flatten() {
                    if st["Effect"] != "Allow" {
                        continue;
                    }
                    let list = |v: &Json| -> Vec<Json> {
                        v.as_array().cloned().unwrap_or_else(|| vec![v.clone()])
                    };
                    let acts = list(&st["Action"]);
                    let hits_action = acts.iter().any(|a| glob(a.as_str().unwrap_or(""), action));
                    let hits_arn = list(&st["Resource"])
                        .iter()
                        .any(|r| resolve(r, region).is_some_and(|r| glob(&r, arn)));
                    if hits_action && hits_arn {
                        who.push(id.clone());
                    }
                }
            }
        }
        who
    }

    #[test]
    fn every_region_publishes_its_contract_and_only_the_instance_role_reads_exactly_it() {
        let def = example();
        let out = synthesize(&def, Phase::Wired);
        for (region, t) in def.regions.iter().zip(&out.regions) {
            assert_eq!(t.region, region.name);
            let template: Json = serde_json::from_str(&t.template.to_json_pretty()).unwrap();
            let params: Vec<(String, Json)> = template["Resources"]
                .as_object()
                .unwrap()
                .values()
                .filter(|r| r["Type"] == "AWS::SSM::Parameter")
                .map(|r| {
                    (
                        r["Properties"]["Name"].as_str().unwrap().to_string(),
                        r["Properties"]["Value"].clone(),
                    )
                })
                .collect();
            let names: BTreeSet<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
            let mut expected: BTreeSet<String> = ["region", "domain", "peers", "bucket"]
                .iter()
                .map(|n| format!("/shop/prod/{n}"))
                .collect();
            expected.extend(
                def.tables
                    .iter()
                    .map(|t| format!("/shop/prod/tables/{}", t.name)),
            );
            expected.extend(
                def.queues
                    .iter()
                    .map(|q| format!("/shop/prod/queues/{}", q.name)),
            );
            assert_eq!(
                names,
                expected.iter().map(String::as_str).collect(),
                "{}",
                region.name
            );
            let value = |n: &str| params.iter().find(|(p, _)| p == n).unwrap().1.clone();
            assert_eq!(value("/shop/prod/region"), region.name.as_str());
            assert_eq!(value("/shop/prod/domain"), "shop.example.com");
            let peers: Vec<&str> = def
                .regions
                .iter()
                .map(|r| r.name.as_str())
                .filter(|r| *r != region.name)
                .collect();
            assert_eq!(value("/shop/prod/peers"), peers.join(",").as_str());
            assert!(value("/shop/prod/bucket")["Ref"].is_string());

            let arn =
                |name: &str| format!("arn:aws:ssm:{}:123456789012:parameter{name}", region.name);
            for name in &names {
                for action in ["ssm:GetParameter", "ssm:GetParameters"] {
                    assert_eq!(
                        allowed_by(&template, &region.name, action, &arn(name)),
                        ["InstanceRole"],
                        "{action} {name}"
                    );
                }
            }
            assert_eq!(
                allowed_by(
                    &template,
                    &region.name,
                    "ssm:GetParametersByPath",
                    &arn("/shop/prod")
                ),
                ["InstanceRole"]
            );
            for outside in [
                "/shop/staging/region",
                "/shop/production/region",
                "/other/prod/region",
                "/shop",
            ] {
                for action in [
                    "ssm:GetParameter",
                    "ssm:GetParameters",
                    "ssm:GetParametersByPath",
                ] {
                    assert!(
                        allowed_by(&template, &region.name, action, &arn(outside)).is_empty(),
                        "{action} {outside} is allowed"
                    );
                }
            }
            // Nothing grants Parameter Store writes.
            assert!(allowed_by(
                &template,
                &region.name,
                "ssm:PutParameter",
                &arn("/shop/prod/region")
            )
            .is_empty());
        }
    }

    #[test]
    fn the_user_data_starts_the_app_with_the_contract_and_signals_the_group() {
        let def = example();
        let out = synthesize(&def, Phase::Wired);
        let template: Json =
            serde_json::from_str(&out.regions[0].template.to_json_pretty()).unwrap();
        let data = &template["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
            ["UserData"]["Fn::Base64"]["Fn::Sub"];
        let script = data.as_str().expect("user data is Fn::Base64 of Fn::Sub");
        assert!(script.starts_with("#!/bin/bash\n"));
        assert!(script.contains("STRATA_PARAMETERS=/shop/prod/\n"));
        assert!(script.contains("/opt/app/start"));
        assert!(script.contains("curl -fsS -o /dev/null \"http://127.0.0.1:8080/health\""));
        assert!(script.contains(
            "cfn-signal -e \"$status\" --stack ${AWS::StackName} --resource AutoScalingGroup --region ${AWS::Region}"
        ));
        assert!(template["Resources"]["AutoScalingGroup"].is_object());
    }
}
