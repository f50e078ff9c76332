//! The audit's rules on hand-made accounts.

use super::*;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);

fn admin(name: &str) -> User {
    User {
        name: name.into(),
        created: datetime!(2026-11-20 0:00 UTC),
        mfa: true,
        password: true,
        password_last_used: Some(datetime!(2026-11-30 0:00 UTC)),
        admin: true,
        access_keys: vec![],
    }
}

fn clean() -> Account {
    Account {
        root_mfa: true,
        root_access_keys: false,
        users: vec![admin("ana"), admin("bo")],
        password_policy: Some(PasswordPolicy { minimum_length: 14 }),
        key_pairs: vec![],
    }
}

fn rules(r: &Report) -> Vec<(&'static str, String)> {
    r.findings
        .iter()
        .map(|f| (f.rule, f.subject.clone()))
        .collect()
}

#[test]
fn a_clean_account_has_no_finding() {
    let r = audit(&clean(), &AuditThresholds::default(), NOW);
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    assert_eq!(r.admins_with_mfa, vec!["ana", "bo"]);
}

#[test]
fn each_rule_fires_on_its_own_problem_most_severe_first() {
    let mut a = clean();
    a.root_mfa = false;
    a.root_access_keys = true;
    a.users[1].mfa = false; // one admin left with MFA; bo now lacks MFA
    a.users[0].access_keys.push(AccessKey {
        id: "AKIAOLD".into(),
        active: true,
        created: datetime!(2026-07-01 0:00 UTC),
        last_used: Some(NOW),
    });
    a.users.push(User {
        name: "ghost".into(),
        created: datetime!(2026-01-01 0:00 UTC),
        mfa: true,
        password: false,
        password_last_used: None,
        admin: false,
        access_keys: vec![AccessKey {
            id: "AKIAIDLE".into(),
            active: true,
            created: datetime!(2026-11-01 0:00 UTC),
            last_used: Some(datetime!(2026-06-01 0:00 UTC)),
        }],
    });
    a.password_policy = Some(PasswordPolicy { minimum_length: 8 });
    a.key_pairs.push(KeyPair {
        region: "us-east-1".into(),
        name: "old-ssh".into(),
    });
    let r = audit(&a, &AuditThresholds::default(), NOW);
    assert_eq!(
        rules(&r),
        vec![
            ("root_mfa", "account".to_string()),
            ("root_access_keys", "account".into()),
            ("break_glass_admins", "account".into()),
            ("access_key_age", "ana/AKIAOLD".into()),
            ("user_without_mfa", "bo".into()),
            ("access_key_age", "ghost/AKIAIDLE".into()),
            ("user_unused", "ghost".into()),
            ("password_policy", "account".into()),
            ("ec2_key_pair", "us-east-1/old-ssh".into()),
        ]
    );
    let old = &r.findings[3];
    assert!(
        old.message.contains("153 days old (limit 90)"),
        "{}",
        old.message
    );
    let idle = &r.findings[5];
    assert!(
        idle.message.contains("unused for 183 days"),
        "{}",
        idle.message
    );
    assert!(r.findings.iter().all(|f| !f.fix.is_empty()));
}

#[test]
fn thresholds_come_from_the_stack_file() {
    let mut a = clean();
    a.users[0].access_keys.push(AccessKey {
        id: "AKIA30".into(),
        active: true,
        created: datetime!(2026-10-20 0:00 UTC),
        last_used: Some(NOW),
    });
    a.key_pairs.push(KeyPair {
        region: "eu-west-1".into(),
        name: "k".into(),
    });
    let t = AuditThresholds {
        access_key_max_age_days: 30,
        allow_key_pairs: true,
        min_admins: 3,
        ..Default::default()
    };
    let r = audit(&a, &t, NOW);
    assert_eq!(
        rules(&r),
        vec![
            ("break_glass_admins", "account".to_string()),
            ("access_key_age", "ana/AKIA30".into())
        ]
    );
    // An inactive key is not flagged.
    a.users[0].access_keys[0].active = false;
    assert_eq!(audit(&a, &t, NOW).findings.len(), 1);
}

#[test]
fn the_credential_report_is_read_by_column_name() {
    // The shape AWS documents (root row first); moto leaves the root row out.
    let csv = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active\n\
<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,2026-11-01T10:00:00+00:00,not_supported,not_supported,true,true,2020-01-01T00:00:00+00:00,N/A,N/A,N/A,false\n\
ana,arn:aws:iam::123456789012:user/ana,2026-01-01T00:00:00+00:00,true,no_information,2026-01-01T00:00:00+00:00,N/A,false,false,N/A,N/A,N/A,N/A,false\n";
    let rows = parse_credential_report(csv).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].user, ROOT_ROW);
    assert!(rows[0].access_key_1_active);
    assert_eq!(
        rows[0].password_last_used,
        Some(datetime!(2026-11-01 10:00 UTC))
    );
    assert!(rows[1].password_enabled && rows[1].password_last_used.is_none());
    assert!(parse_credential_report("user,arn\nx,y\n").is_err());
}
