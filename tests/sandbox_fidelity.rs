//! End-to-end tests that the sandbox models what the shipped stack files need:
//! the example stack deploys completely (CloudFront distribution in the global
//! stack, public alias record on it) and the stack files' source AMIs exist, so
//! `strata ami copy` copies them. Both through the real binary, on a fresh moto.

mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use strata::exit_code;
use support::{cli, sandbox, sdk};

const EXAMPLE: &str = "stacks/example.toml";

fn example() -> String {
    sandbox::repo_dir()
        .join(EXAMPLE)
        .to_string_lossy()
        .into_owned()
}

/// The global stack's status and outputs.
fn global_stack() -> (String, BTreeMap<String, String>) {
    let cfn = sdk::cloudformation("us-east-1");
    sdk::block_on(async {
        let out = cfn
            .describe_stacks()
            .stack_name("shop-prod-global")
            .send()
            .await
            .expect("describe shop-prod-global");
        let stack = &out.stacks()[0];
        let outputs = stack
            .outputs()
            .iter()
            .map(|o| {
                (
                    o.output_key().unwrap_or_default().to_string(),
                    o.output_value().unwrap_or_default().to_string(),
                )
            })
            .collect();
        (stack.stack_status().unwrap().as_str().to_string(), outputs)
    })
}

/// The alias target (DNS name) of the A record `name` in the zone `zone`, if any.
fn alias_record(zone: &str, name: &str) -> Option<String> {
    let r53 = sdk::route53();
    sdk::block_on(async {
        let zones = r53
            .list_hosted_zones_by_name()
            .dns_name(zone)
            .send()
            .await
            .expect("list hosted zones");
        let zone = zones.hosted_zones().iter().find(|z| z.name() == zone)?;
        let records = r53
            .list_resource_record_sets()
            .hosted_zone_id(zone.id())
            .send()
            .await
            .expect("list resource record sets");
        records
            .resource_record_sets()
            .iter()
            .find(|r| r.name() == name && r.r#type().as_str() == "A")
            .and_then(|r| r.alias_target())
            .map(|a| a.dns_name().to_string())
    })
}

#[test]
fn the_example_stack_deploys_with_its_cloudfront_distribution_and_public_alias() {
    let _moto = sandbox::exclusive();
    let run = cli::strata_sandbox(&["deploy", &example(), "--yes", "--bake", "0s"]);
    run.expect_code(exit_code::SUCCESS);

    let (status, outputs) = global_stack();
    assert_eq!(status, "CREATE_COMPLETE", "{outputs:?}");
    let domain = &outputs["DistributionDomainName"];
    assert!(domain.ends_with(".cloudfront.net"), "{outputs:?}");
    assert!(!outputs["DistributionId"].is_empty(), "{outputs:?}");

    let alias = alias_record("example.com.", "shop.example.com.")
        .expect("the public name's alias record exists");
    assert_eq!(
        alias.trim_end_matches('.'),
        domain.trim_end_matches('.'),
        "the public name points at the distribution"
    );
}

#[test]
fn the_example_stacks_source_ami_is_copied_into_its_other_regions() {
    let _moto = sandbox::exclusive();
    let run = cli::strata_sandbox(&["--output", "json", "ami", "copy", &example()]);
    run.expect_code(exit_code::SUCCESS);
    let out: &Value = &run.json_lines()[0];
    let regions: BTreeMap<String, String> =
        serde_json::from_value(out["regions"].clone()).expect("regions map");
    let source = "ami-0123456789abcdef0";
    assert_eq!(
        regions["us-east-1"], source,
        "the build region uses the source: {run}"
    );

    for region in ["us-west-2", "eu-west-1"] {
        let copy = &regions[region];
        assert_ne!(copy, source, "{region} gets its own copy: {run}");
        let ec2 = sdk::ec2(region);
        let image = sdk::block_on(async {
            ec2.describe_images()
                .image_ids(copy)
                .send()
                .await
                .expect("describe the copy")
                .images()
                .first()
                .cloned()
        })
        .unwrap_or_else(|| panic!("{region}: copy {copy} exists"));
        assert_eq!(image.state().unwrap().as_str(), "available", "{region}");
        let tags: BTreeMap<&str, &str> = image
            .tags()
            .iter()
            .map(|t| (t.key().unwrap(), t.value().unwrap()))
            .collect();
        assert_eq!(tags["strata:source-ami"], source, "{region}: {tags:?}");
        assert_eq!(tags["strata:stack"], "shop-prod", "{region}: {tags:?}");
        assert_eq!(
            tags["strata:version"], "shop-app-1.4.2",
            "{region}: {tags:?}"
        );
    }
}
