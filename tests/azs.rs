//! Availability Zones: the sandbox's DescribeAvailabilityZones agrees with strata's
//! table (`stack::regions::AZ_LETTERS`) for every region of the shipped stacks, and
//! `plan` refuses (exit 2, naming the AZ, nothing changed) a definition whose AZ the
//! account does not list, read through the fault proxy as an account that lacks it.

mod support;

use strata::exit_code;
use support::cli;
use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::{sandbox, sdk};

#[test]
fn the_sandbox_lists_the_tables_zones_for_every_stack_region() {
    let _moto = sandbox::shared();
    let mut regions = std::collections::BTreeSet::new();
    for name in ["example.toml", "staging.toml", "four-region.toml"] {
        let def = strata::stack::load(&sandbox::repo_dir().join("stacks").join(name)).unwrap();
        regions.extend(def.regions.iter().map(|r| r.name.clone()));
    }
    for region in regions {
        let ec2 = sdk::ec2(&region);
        let mut listed: Vec<String> = sdk::block_on(ec2.describe_availability_zones().send())
            .expect("DescribeAvailabilityZones")
            .availability_zones()
            .iter()
            .filter_map(|z| z.zone_name().map(str::to_string))
            .collect();
        listed.sort();
        assert_eq!(
            Some(listed),
            strata::stack::regions::azs_of(&region),
            "{region}"
        );
    }
}

#[test]
fn plan_refuses_an_az_the_account_does_not_list_before_any_change() {
    let _moto = sandbox::shared();
    let proxy = FaultProxy::in_front_of_sandbox();
    // This "account" has no us-west-2b.
    proxy.add(
        Rule::new(Fault::rewrite("us-west-2b", "us-west-2z"))
            .region("us-west-2")
            .action("DescribeAvailabilityZones"),
    );
    let file = sandbox::repo_dir().join("stacks/example.toml");
    let run = cli::strata_at(&proxy.url(), &["plan", file.to_str().unwrap()]);
    run.expect_code(exit_code::INVALID_INPUT);
    assert!(
        run.stderr
            .contains("`us-west-2b` is not an Availability Zone this account can use"),
        "{run:?}"
    );
    assert!(
        proxy.mutating_calls().is_empty(),
        "{:?}",
        proxy.mutating_calls()
    );
    assert!(
        proxy.count(
            Some("us-west-2"),
            Some("ec2"),
            Some("DescribeAvailabilityZones")
        ) > 0
    );
}
