//! `strata audit` through the real binary against the sandbox: moto's default
//! account (root without MFA, no administrators, no password policy), a clean
//! account (reports none), then a user without MFA, an access key dated 120 days
//! back and an EC2 key pair: exactly those three are reported (exit 3), and the
//! stack file's `[audit]` thresholds change what is reported.
//!
//! What no AWS API can set (a key's age, the root user's MFA) is set through the
//! sandbox's control endpoint (`sandbox/moto_iam.py`), never through strata.

mod support;

use serde_json::Value;
use std::io::{Read, Write};
use strata::exit_code;
use support::{cli, sandbox, sdk};

/// POST one action to the sandbox's IAM control endpoint.
fn control(body: serde_json::Value) -> Value {
    let body = body.to_string();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", sandbox::port())).unwrap();
    write!(
        s,
        "POST /moto-api/strata/iam HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    serde_json::from_str(out.split("\r\n\r\n").nth(1).unwrap()).unwrap()
}

fn audit(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["audit", "--output", "json"];
    all.extend_from_slice(args);
    let run = cli::strata_sandbox(&all);
    let v: Value = serde_json::from_str(run.stdout.trim())
        .unwrap_or_else(|e| panic!("not one JSON object ({e})\n{run}"));
    (run.code, v)
}

fn findings(v: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["subject"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Two administrators (AdministratorAccess through a group) with virtual MFA
/// devices, a 14-character password policy, and root MFA.
fn make_clean() {
    let iam = sdk::iam();
    sdk::block_on(async {
        iam.create_group()
            .group_name("admins")
            .send()
            .await
            .unwrap();
        iam.attach_group_policy()
            .group_name("admins")
            .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
            .send()
            .await
            .unwrap();
        for name in ["ana", "bo"] {
            iam.create_user().user_name(name).send().await.unwrap();
            iam.add_user_to_group()
                .group_name("admins")
                .user_name(name)
                .send()
                .await
                .unwrap();
            let device = iam
                .create_virtual_mfa_device()
                .virtual_mfa_device_name(name)
                .send()
                .await
                .unwrap();
            let serial = device
                .virtual_mfa_device()
                .unwrap()
                .serial_number()
                .to_string();
            iam.enable_mfa_device()
                .user_name(name)
                .serial_number(serial)
                .authentication_code1("123456")
                .authentication_code2("654321")
                .send()
                .await
                .unwrap();
        }
        iam.update_account_password_policy()
            .minimum_password_length(14)
            .send()
            .await
            .unwrap();
    });
    control(serde_json::json!({"action": "root-mfa", "enabled": true}));
}

#[test]
fn moto_default_account_lacks_root_mfa_admins_and_a_password_policy() {
    let _moto = sandbox::exclusive();
    let (code, v) = audit(&["--region", "us-east-1"]);
    assert_eq!(code, exit_code::POLICY_VIOLATION, "{v}");
    assert_eq!(
        findings(&v),
        vec![
            ("break_glass_admins".to_string(), "account".to_string()),
            ("password_policy".into(), "account".into()),
            ("root_mfa".into(), "account".into()),
        ]
    );
    // moto's credential report has no <root_account> row: said, not hidden.
    assert!(
        v["gaps"][0].as_str().unwrap().contains("<root_account>"),
        "{v}"
    );
}

#[test]
fn a_clean_account_reports_none_then_exactly_what_a_test_breaks() {
    let _moto = sandbox::exclusive();
    make_clean();
    let (code, v) = audit(&["--region", "us-east-1"]);
    assert_eq!(findings(&v), vec![], "{v}");
    assert_eq!(code, exit_code::SUCCESS);
    assert_eq!(v["admins_with_mfa"], serde_json::json!(["ana", "bo"]));

    let iam = sdk::iam();
    let ec2 = sdk::ec2("us-east-1");
    let key = sdk::block_on(async {
        iam.create_user().user_name("carol").send().await.unwrap();
        let key = iam
            .create_access_key()
            .user_name("ana")
            .send()
            .await
            .unwrap();
        ec2.create_key_pair()
            .key_name("old-ssh")
            .send()
            .await
            .unwrap();
        key.access_key().unwrap().access_key_id().to_string()
    });
    control(serde_json::json!({
        "action": "backdate-access-key", "user": "ana", "access_key_id": key, "days": 120
    }));
    let (code, v) = audit(&["--region", "us-east-1"]);
    assert_eq!(code, exit_code::POLICY_VIOLATION);
    assert_eq!(
        findings(&v),
        vec![
            ("access_key_age".to_string(), format!("ana/{key}")),
            ("ec2_key_pair".into(), "us-east-1/old-ssh".into()),
            ("user_without_mfa".into(), "carol".into()),
        ],
        "{v}"
    );
    let aged = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "access_key_age")
        .unwrap();
    assert_eq!(aged["severity"], "high");
    assert!(
        aged["message"]
            .as_str()
            .unwrap()
            .contains("120 days old (limit 90)"),
        "{aged}"
    );
    assert!(aged["fix"]
        .as_str()
        .unwrap()
        .contains("aws iam create-access-key --user-name ana"));

    // The human report names each finding with its fix.
    let run = cli::strata_sandbox(&["audit", "--region", "us-east-1"]);
    assert_eq!(run.code, exit_code::POLICY_VIOLATION, "{run}");
    assert!(
        run.stdout.contains("user_without_mfa [medium] carol"),
        "{run}"
    );
    assert!(run.stdout.contains("3 finding(s) (exit 3)"), "{run}");

    // The stack file's thresholds: keys may be a year old, key pairs allowed.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.toml");
    let text = std::fs::read_to_string(sandbox::repo_dir().join("stacks/example.toml")).unwrap();
    std::fs::write(
        &file,
        format!("{text}\n[audit]\naccess_key_max_age_days = 365\nunused_days = 365\nallow_key_pairs = true\n"),
    )
    .unwrap();
    let (code, v) = audit(&[file.to_str().unwrap()]);
    assert_eq!(code, exit_code::POLICY_VIOLATION);
    assert_eq!(
        findings(&v),
        vec![("user_without_mfa".to_string(), "carol".to_string())],
        "{v}"
    );
    assert_eq!(
        v["regions"],
        serde_json::json!(["us-east-1", "us-west-2", "eu-west-1"])
    );
}

#[test]
fn an_unreachable_account_is_an_environment_error() {
    let run = cli::strata_at("http://127.0.0.1:9", &["audit", "--region", "us-east-1"]);
    assert_eq!(run.code, exit_code::ENVIRONMENT, "{run}");
    assert!(run.stderr.contains("iam.GetAccountSummary"), "{run}");
}
