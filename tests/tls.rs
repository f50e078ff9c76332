//! HTTPS in the sandbox, read back through ACM, Route 53 and ELBv2 (docs/sandbox.md,
//! "ACM certificates and HTTPS listeners"):
//! - a DNS-validated `AWS::CertificateManager::Certificate` writes its validation
//!   records into the zone and is ISSUED (DescribeCertificate), in its own region;
//! - one with no zone to validate in fails its stack instead of being created;
//! - a listener takes an issued certificate of its own region, and refuses another
//!   region's certificate or an unknown one;
//! - end to end, `strata deploy` of the example in an existing zone: every region's
//!   load balancer listens on 443 only, with an issued certificate of its region,
//!   and CloudFront's certificate in us-east-1 is issued for the public name.

mod support;

use strata::exit_code;
use support::{cli, sandbox, sdk};

fn cname_records(zone_id: &str) -> Vec<String> {
    let r53 = sdk::route53();
    sdk::block_on(async {
        let out = r53
            .list_resource_record_sets()
            .hosted_zone_id(zone_id)
            .send()
            .await
            .expect("ListResourceRecordSets");
        out.resource_record_sets()
            .iter()
            .filter(|r| r.r#type().as_str() == "CNAME")
            .map(|r| r.name().to_string())
            .collect()
    })
}

fn acm(region: &str) -> aws_sdk_acm::Client {
    aws_sdk_acm::Client::new(&sdk::config(region))
}

fn certificate_template(names: &[&str], zone_id: Option<&str>) -> serde_json::Value {
    let options: Vec<serde_json::Value> = names
        .iter()
        .map(|n| match zone_id {
            Some(z) => serde_json::json!({"DomainName": n, "HostedZoneId": z}),
            None => serde_json::json!({"DomainName": n}),
        })
        .collect();
    serde_json::json!({
        "Resources": {
            "Cert": {
                "Type": "AWS::CertificateManager::Certificate",
                "Properties": {
                    "DomainName": names[0],
                    "SubjectAlternativeNames": names[1..],
                    "ValidationMethod": "DNS",
                    "DomainValidationOptions": options
                }
            }
        }
    })
}

/// A DNS-validated certificate in `region` for `names`; returns its ARN.
fn issued_certificate(region: &str, zone_id: &str, names: &[&str]) -> String {
    let stack = sandbox::unique("tls-cert");
    let (status, reason) =
        sdk::create_and_settle(region, &stack, certificate_template(names, Some(zone_id)));
    assert_eq!(status, "CREATE_COMPLETE", "{reason}");
    sdk::physical_id(region, &stack, "Cert")
}

#[test]
fn a_dns_validated_certificate_writes_its_records_and_is_issued_in_its_region() {
    let _moto = sandbox::shared();
    let zone_name = format!("{}.example.net", sandbox::unique("tls"));
    let zone = sdk::create_zone(&zone_name);
    let origin = format!("origin.{zone_name}");
    let failover = format!("failover.{zone_name}");
    let arn = issued_certificate("us-west-2", &zone, &[&origin, &failover]);
    assert!(arn.starts_with("arn:aws:acm:us-west-2:"), "{arn}");

    let west = acm("us-west-2");
    let cert = sdk::block_on(async {
        west.describe_certificate()
            .certificate_arn(&arn)
            .send()
            .await
            .expect("DescribeCertificate")
    });
    let cert = cert.certificate().unwrap();
    assert_eq!(cert.status().unwrap().as_str(), "ISSUED");
    assert_eq!(cert.domain_name(), Some(origin.as_str()));
    let mut sans: Vec<&str> = cert
        .subject_alternative_names()
        .iter()
        .map(String::as_str)
        .collect();
    sans.sort();
    let mut want = vec![origin.as_str(), failover.as_str()];
    want.sort();
    assert_eq!(sans, want);

    // Every name's validation CNAME is in the zone.
    let records = cname_records(&zone);
    for option in cert.domain_validation_options() {
        let rr = option.resource_record().expect("a DNS validation record");
        assert!(
            records.contains(&rr.name().to_string()),
            "{rr:?} not in {records:?}"
        );
    }
    // Regional: the certificate is not in another region.
    let eu = acm("eu-west-1");
    let elsewhere =
        sdk::block_on(async { eu.describe_certificate().certificate_arn(&arn).send().await });
    assert!(elsewhere.is_err(), "{elsewhere:?}");
}

#[test]
fn a_certificate_with_no_zone_to_validate_in_fails_its_stack() {
    let _moto = sandbox::shared();
    let stack = sandbox::unique("tls-nozone");
    let name = format!("{}.example.net", sandbox::unique("nozone"));
    let (status, reason) =
        sdk::create_and_settle("us-east-1", &stack, certificate_template(&[&name], None));
    assert_eq!(status, "ROLLBACK_COMPLETE", "{reason}");
    assert!(reason.contains("HostedZoneId"), "{reason}");
    let east = acm("us-east-1");
    let listed = sdk::block_on(async {
        east.list_certificates()
            .send()
            .await
            .expect("ListCertificates")
    });
    assert!(
        !listed
            .certificate_summary_list()
            .iter()
            .any(|c| c.domain_name() == Some(name.as_str())),
        "no certificate is left for {name}"
    );
}

#[test]
fn a_listener_takes_only_an_issued_certificate_of_its_own_region() {
    let _moto = sandbox::shared();
    let zone_name = format!("{}.example.net", sandbox::unique("lst"));
    let zone = sdk::create_zone(&zone_name);
    let name = format!("origin.{zone_name}");
    let own = issued_certificate("us-west-2", &zone, &[&name]);
    let foreign = issued_certificate("us-east-1", &zone, &[&name]);

    let region = "us-west-2";
    let ec2 = sdk::ec2(region);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk::config(region));
    sdk::block_on(async {
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.99.0.0/16")
            .send()
            .await
            .unwrap();
        let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
        let mut subnets = Vec::new();
        for (i, az) in ["us-west-2a", "us-west-2b"].iter().enumerate() {
            let s = ec2
                .create_subnet()
                .vpc_id(&vpc_id)
                .cidr_block(format!("10.99.{i}.0/24"))
                .availability_zone(*az)
                .send()
                .await
                .unwrap();
            subnets.push(s.subnet().unwrap().subnet_id().unwrap().to_string());
        }
        let lb = elb
            .create_load_balancer()
            .name(
                sandbox::unique("tls-lb")
                    .chars()
                    .take(32)
                    .collect::<String>(),
            )
            .set_subnets(Some(subnets))
            .send()
            .await
            .unwrap();
        let lb_arn = lb.load_balancers()[0]
            .load_balancer_arn()
            .unwrap()
            .to_string();
        let tg = elb
            .create_target_group()
            .name(
                sandbox::unique("tls-tg")
                    .chars()
                    .take(32)
                    .collect::<String>(),
            )
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
            .port(8080)
            .vpc_id(&vpc_id)
            .send()
            .await
            .unwrap();
        let tg_arn = tg.target_groups()[0]
            .target_group_arn()
            .unwrap()
            .to_string();
        let https = |cert: &str, port: i32| {
            elb.create_listener()
                .load_balancer_arn(&lb_arn)
                .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Https)
                .port(port)
                .ssl_policy("ELBSecurityPolicy-TLS13-1-2-2021-06")
                .certificates(
                    aws_sdk_elasticloadbalancingv2::types::Certificate::builder()
                        .certificate_arn(cert)
                        .build(),
                )
                .default_actions(
                    aws_sdk_elasticloadbalancingv2::types::Action::builder()
                        .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::Forward)
                        .target_group_arn(&tg_arn)
                        .build(),
                )
                .send()
        };
        let unknown = format!(
            "arn:aws:acm:{region}:123456789012:certificate/00000000-0000-0000-0000-000000000000"
        );
        for (cert, what) in [(&foreign, "another region's"), (&unknown, "an unknown")] {
            let refused = https(cert, 443).await.expect_err(what);
            let code = refused
                .into_service_error()
                .meta()
                .code()
                .unwrap_or_default()
                .to_string();
            assert_eq!(code, "CertificateNotFound", "{what} certificate");
        }

        https(&own, 443)
            .await
            .expect("an issued certificate of the region");
        let listeners = elb
            .describe_listeners()
            .load_balancer_arn(&lb_arn)
            .send()
            .await
            .unwrap();
        let l = &listeners.listeners()[0];
        assert_eq!(l.port(), Some(443));
        assert_eq!(l.ssl_policy(), Some("ELBSecurityPolicy-TLS13-1-2-2021-06"));
        assert_eq!(l.certificates()[0].certificate_arn(), Some(own.as_str()));
    });
}

#[test]
fn the_example_deploys_over_https_with_issued_certificates_in_every_region() {
    let _moto = sandbox::exclusive();
    let zone = sdk::create_zone("example.com");
    let example = std::fs::read_to_string(sandbox::repo_dir().join("stacks/example.toml")).unwrap();
    assert!(example.contains("manage_zone = true\n"));
    let text = example.replace(
        "manage_zone = true\n",
        &format!("hosted_zone_id = \"{zone}\"\n"),
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("example-existing-zone.toml");
    std::fs::write(&file, text).unwrap();
    let run = cli::deploy_json(&file);
    run.expect_code(exit_code::SUCCESS);

    let records = cname_records(&zone);
    for region in ["us-east-1", "us-west-2", "eu-west-1"] {
        let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk::config(region));
        let certs = acm(region);
        sdk::block_on(async {
            let lbs = elb.describe_load_balancers().send().await.unwrap();
            let lb = lbs
                .load_balancers()
                .iter()
                .find(|l| l.vpc_id().is_some())
                .expect("the region's load balancer");
            let listeners = elb
                .describe_listeners()
                .load_balancer_arn(lb.load_balancer_arn().unwrap())
                .send()
                .await
                .unwrap();
            let mut ports: Vec<i32> = listeners
                .listeners()
                .iter()
                .filter_map(|l| l.port())
                .collect();
            ports.sort();
            // 443 only: behind CloudFront nothing listens on 80 (CloudFront redirects
            // its viewers; the load balancer admits only CloudFront, over HTTPS).
            assert_eq!(ports, [443], "{region}");
            for l in listeners.listeners() {
                {
                    assert_eq!(l.protocol().unwrap().as_str(), "HTTPS");
                    assert_eq!(l.ssl_policy(), Some("ELBSecurityPolicy-TLS13-1-2-2021-06"));
                    let arn = l.certificates()[0].certificate_arn().unwrap();
                    assert!(arn.starts_with(&format!("arn:aws:acm:{region}:")), "{arn}");
                    let cert = certs
                        .describe_certificate()
                        .certificate_arn(arn)
                        .send()
                        .await
                        .unwrap();
                    let cert = cert.certificate().unwrap();
                    assert_eq!(cert.status().unwrap().as_str(), "ISSUED", "{region}");
                    assert_eq!(cert.domain_name(), Some("origin.shop.example.com"));
                    assert!(cert
                        .subject_alternative_names()
                        .iter()
                        .any(|n| n == "failover.shop.example.com"));
                    for option in cert.domain_validation_options() {
                        let rr = option.resource_record().unwrap();
                        assert!(records.contains(&rr.name().to_string()), "{rr:?}");
                    }
                }
            }
        });
    }

    // CloudFront's certificate: in us-east-1, issued for the public name.
    let east = acm("us-east-1");
    let edge = sdk::block_on(async {
        let listed = east.list_certificates().send().await.unwrap();
        let mut found = Vec::new();
        for c in listed.certificate_summary_list() {
            if c.domain_name() == Some("shop.example.com") {
                let d = east
                    .describe_certificate()
                    .certificate_arn(c.certificate_arn().unwrap())
                    .send()
                    .await
                    .unwrap();
                let status = d
                    .certificate()
                    .unwrap()
                    .status()
                    .unwrap()
                    .as_str()
                    .to_string();
                found.push((c.certificate_arn().unwrap().to_string(), status));
            }
        }
        found
    });
    assert_eq!(edge.len(), 1, "{edge:?}");
    assert_eq!(edge[0].1, "ISSUED");

    // The distribution: the public name in its aliases, that certificate, SNI only,
    // TLS 1.2 at least, HTTPS only to the origin.
    let cloudfront = aws_sdk_cloudfront::Client::new(&sdk::config("us-east-1"));
    let id = sdk::physical_id("us-east-1", "shop-prod-global", "Distribution");
    let config = sdk::block_on(async {
        cloudfront
            .get_distribution_config()
            .id(&id)
            .send()
            .await
            .expect("GetDistributionConfig")
    });
    let config = config.distribution_config().unwrap();
    let aliases = config.aliases().unwrap().items();
    assert_eq!(aliases, ["shop.example.com"]);
    let viewer = config.viewer_certificate().unwrap();
    assert_eq!(viewer.acm_certificate_arn(), Some(edge[0].0.as_str()));
    assert_eq!(viewer.ssl_support_method().unwrap().as_str(), "sni-only");
    assert_eq!(
        viewer.minimum_protocol_version().unwrap().as_str(),
        "TLSv1.2_2021"
    );
    let origin = &config.origins().unwrap().items()[0];
    assert_eq!(origin.domain_name(), "origin.shop.example.com");
    assert_eq!(
        origin
            .custom_origin_config()
            .unwrap()
            .origin_protocol_policy()
            .as_str(),
        "https-only"
    );
}
