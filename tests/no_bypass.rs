//! No bypass (issue 14 item 2), end to end: after `strata deploy` of the example,
//! read back through EC2, ELBv2, CloudFront and CloudFormation that
//! - every security group of every region's load balancer admits its listener port
//!   only from the AWS-managed prefix lists of CloudFront's origin-facing servers and
//!   Route 53's health checkers (the ids DescribeManagedPrefixLists gives for those
//!   names in that region), never from a CIDR such as 0.0.0.0/0;
//! - the listener answers 403 by default, forwards the health-check path, and
//!   forwards requests carrying `X-Origin-Verify` with the very value CloudFront
//!   sends as that origin header;
//! - that value is a real secret (not the dynamic reference's text) and appears in
//!   no template, parameter, output or stack event, nor in anything strata printed.

mod support;

use strata::exit_code;
use support::{cli, sandbox, sdk};

const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

fn elb(region: &str) -> aws_sdk_elasticloadbalancingv2::Client {
    aws_sdk_elasticloadbalancingv2::Client::new(&sdk::config(region))
}

/// What the region's load balancer lets in, and the header value its rule wants.
struct Origin {
    /// (port, prefix list ids, CIDRs, source groups) of every ingress rule of
    /// every one of the load balancer's security groups.
    ingress: Vec<(i32, Vec<String>, Vec<String>, usize)>,
    default_action: String,
    fixed_status: Option<String>,
    header_values: Vec<String>,
    health_path_forwarded: bool,
}

fn origin(region: &str) -> Origin {
    let elb = elb(region);
    let ec2 = sdk::ec2(region);
    sdk::block_on(async {
        let lbs = elb.describe_load_balancers().send().await.unwrap();
        let lb = lbs
            .load_balancers()
            .iter()
            .find(|l| l.vpc_id().is_some())
            .expect("the region's load balancer");
        let groups = ec2
            .describe_security_groups()
            .set_group_ids(Some(lb.security_groups().to_vec()))
            .send()
            .await
            .unwrap();
        assert_eq!(groups.security_groups().len(), 2, "{region}: two groups");
        let mut ingress = Vec::new();
        for g in groups.security_groups() {
            for p in g.ip_permissions() {
                ingress.push((
                    p.from_port().unwrap_or(-1),
                    p.prefix_list_ids()
                        .iter()
                        .filter_map(|l| l.prefix_list_id().map(str::to_string))
                        .collect(),
                    p.ip_ranges()
                        .iter()
                        .filter_map(|r| r.cidr_ip().map(str::to_string))
                        .collect(),
                    p.user_id_group_pairs().len(),
                ));
            }
        }
        let listeners = elb
            .describe_listeners()
            .load_balancer_arn(lb.load_balancer_arn().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(listeners.listeners().len(), 1, "{region}: one listener");
        let l = &listeners.listeners()[0];
        assert_eq!(l.port(), Some(443));
        let default = &l.default_actions()[0];
        let rules = elb
            .describe_rules()
            .listener_arn(l.listener_arn().unwrap())
            .send()
            .await
            .unwrap();
        let mut header_values = Vec::new();
        let mut health_path_forwarded = false;
        for r in rules
            .rules()
            .iter()
            .filter(|r| r.is_default() != Some(true))
        {
            let forwards = r
                .actions()
                .iter()
                .any(|a| a.r#type().map(|t| t.as_str()) == Some("forward"));
            for c in r.conditions() {
                if let Some(h) = c.http_header_config() {
                    assert_eq!(h.http_header_name(), Some("X-Origin-Verify"));
                    assert!(forwards, "{region}: the header rule forwards");
                    header_values.extend(h.values().iter().cloned());
                }
                if let Some(p) = c.path_pattern_config() {
                    if p.values() == ["/health"] && forwards {
                        health_path_forwarded = true;
                    }
                }
            }
        }
        Origin {
            ingress,
            default_action: default.r#type().unwrap().as_str().to_string(),
            fixed_status: default
                .fixed_response_config()
                .and_then(|f| f.status_code().map(str::to_string)),
            header_values,
            health_path_forwarded,
        }
    })
}

/// The value CloudFront sends as `X-Origin-Verify`.
fn cloudfront_header() -> String {
    let cloudfront = aws_sdk_cloudfront::Client::new(&sdk::config("us-east-1"));
    let id = sdk::physical_id("us-east-1", "shop-prod-global", "Distribution");
    sdk::block_on(async {
        let config = cloudfront
            .get_distribution_config()
            .id(id)
            .send()
            .await
            .unwrap();
        let origin = &config
            .distribution_config()
            .unwrap()
            .origins()
            .unwrap()
            .items()[0];
        let headers = origin.custom_headers().expect("custom headers");
        let h = headers
            .items()
            .iter()
            .find(|h| h.header_name() == "X-Origin-Verify")
            .expect("the X-Origin-Verify header");
        h.header_value().to_string()
    })
}

/// Everything CloudFormation shows of a stack: its template, parameters, outputs
/// and events, as text.
fn stack_text(region: &str, stack: &str) -> String {
    let cfn = sdk::cloudformation(region);
    sdk::block_on(async {
        let template = cfn.get_template().stack_name(stack).send().await.unwrap();
        let described = cfn
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .unwrap();
        let events = cfn
            .describe_stack_events()
            .stack_name(stack)
            .send()
            .await
            .unwrap();
        format!(
            "{}\n{:?}\n{:?}",
            template.template_body().unwrap_or_default(),
            described.stacks(),
            events.stack_events()
        )
    })
}

#[test]
fn only_cloudfront_and_the_health_checkers_reach_the_load_balancers() {
    let _moto = sandbox::exclusive();
    let example = sandbox::repo_dir().join("stacks/example.toml");
    let run = cli::strata_sandbox(&[
        "--output",
        "json",
        "deploy",
        example.to_str().unwrap(),
        "--yes",
        "--bake",
        "0s",
    ]);
    run.expect_code(exit_code::SUCCESS);
    let (_, stdout, stderr) = run.into_parts();

    let secret = cloudfront_header();
    assert!(
        !secret.contains("resolve"),
        "the reference was resolved: {secret}"
    );
    assert_eq!(secret.len(), 48, "a generated 48-character value");
    assert!(secret.chars().all(|c| c.is_ascii_alphanumeric()));

    for region in REGIONS {
        let cloudfront_list =
            sdk::managed_prefix_list(region, "com.amazonaws.global.cloudfront.origin-facing");
        let checkers = sdk::managed_prefix_list(
            region,
            &format!("com.amazonaws.{region}.route53-healthchecks"),
        );
        let o = origin(region);
        let mut lists: Vec<String> = Vec::new();
        for (port, prefix_lists, cidrs, groups) in &o.ingress {
            assert_eq!(*port, 443, "{region}: only the HTTPS listener port");
            assert!(cidrs.is_empty(), "{region}: no CIDR is admitted: {cidrs:?}");
            assert_eq!(*groups, 0, "{region}: no security group is admitted");
            lists.extend(prefix_lists.iter().cloned());
        }
        lists.sort();
        let mut want = vec![cloudfront_list, checkers];
        want.sort();
        assert_eq!(
            lists, want,
            "{region}: exactly CloudFront's and the checkers' lists"
        );

        assert_eq!(o.default_action, "fixed-response", "{region}");
        assert_eq!(o.fixed_status.as_deref(), Some("403"), "{region}");
        assert!(
            o.health_path_forwarded,
            "{region}: the health path is forwarded"
        );
        assert_eq!(
            o.header_values,
            std::slice::from_ref(&secret),
            "{region}: CloudFront's value"
        );

        let shown = stack_text(region, &format!("shop-prod-{region}"));
        assert!(
            shown.contains("{{resolve:secretsmanager:"),
            "{region}: a reference"
        );
        assert!(
            !shown.contains(&secret),
            "{region}: the secret is in the stack"
        );
    }
    for stack in ["shop-prod-global", "shop-prod-dns"] {
        assert!(!stack_text("us-east-1", stack).contains(&secret), "{stack}");
    }
    assert!(!stdout.contains(&secret), "strata printed the secret");
    assert!(!stderr.contains(&secret), "strata logged the secret");
}
