use super::*;
use crate::plan::{Deployed, ResourceChange};
use serde_json::json;

fn table() -> Durations {
    Durations::parse(
        &json!({
            "scale": 100,
            "default": {"create": 1, "update": 1, "delete": 1},
            "types": {
                "AWS::EC2::VPC": {"create": 10, "update": 2, "delete": 4},
                "AWS::EC2::Subnet": {"create": 5, "update": 5, "delete": 3},
                "AWS::EC2::EIP": {"create": 7, "update": 7, "delete": 1},
                "AWS::EC2::NatGateway": {"create": 100, "update": 100, "delete": 50},
                "AWS::EC2::LaunchTemplate": {"create": 2, "update": 2, "delete": 2},
                "AWS::AutoScaling::AutoScalingGroup": {"create": 200, "update": 20, "delete": 90},
                "AWS::Route53::RecordSet": {"create": 40, "update": 40, "delete": 40}
            },
            "operations": {
                "change_set_create": {"seconds": 15},
                "stack_overhead": {"seconds": 10},
                "ami_copy": {"seconds": 600},
                "instance_boot": {"seconds": 90},
                "target_healthy": {"seconds": 60},
                "route53_health_check": {"seconds": 30}
            }
        })
        .to_string(),
    )
    .unwrap()
}

/// VPC -> Subnet -> NAT (by Ref), EIP -> NAT (by GetAtt), a record naming the
/// NAT in a Sub, an ASG on a launch template with a rolling update policy.
fn template() -> String {
    json!({"Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {}},
        "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}}},
        "Eip": {"Type": "AWS::EC2::EIP", "Properties": {}},
        "Nat": {"Type": "AWS::EC2::NatGateway", "Properties": {
            "SubnetId": {"Ref": "Subnet"}, "AllocationId": {"Fn::GetAtt": ["Eip", "AllocationId"]}}},
        "Record": {"Type": "AWS::Route53::RecordSet", "Properties": {
            "Name": {"Fn::Sub": "${Nat}.${AWS::Region}.example.com"}}},
        "Lt": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {"ImageId": {"Ref": "Ami"}}},
        "Asg": {"Type": "AWS::AutoScaling::AutoScalingGroup",
            "DependsOn": "Nat",
            "Properties": {"DesiredCapacity": "3",
                "LaunchTemplate": {"Version": {"Fn::GetAtt": "Lt.LatestVersionNumber"}}},
            "UpdatePolicy": {"AutoScalingRollingUpdate": {"MaxBatchSize": "1", "PauseTime": "PT5M"}}}
    }})
    .to_string()
}

#[test]
fn create_floor_is_the_longest_chain_plus_overhead() {
    // Vpc 10 + Subnet 5 + Nat 100 + Asg 200 = 315 (the EIP's 7 runs beside the
    // VPC and subnet; the record's 40 after the NAT is shorter than the ASG).
    let (s, path) = create_floor(&template(), &table());
    assert_eq!(s, 315.0 + 10.0);
    assert_eq!(path, ["Vpc", "Subnet", "Nat", "Asg"]);
}

#[test]
fn delete_floor_walks_the_chain_backwards() {
    // Asg 90 + Nat 50 + Subnet 3 + Vpc 4.
    let (s, path) = delete_floor(&template(), &table());
    assert_eq!(s, 147.0 + 10.0);
    assert_eq!(path, ["Asg", "Nat", "Subnet", "Vpc"]);
}

#[test]
fn references_come_from_ref_getatt_both_forms_sub_and_depends_on() {
    let g = Graph::parse(&template());
    let deps = |id: &str| g.nodes[id].deps.iter().cloned().collect::<Vec<_>>();
    assert_eq!(deps("Nat"), ["Eip", "Subnet"]);
    assert_eq!(deps("Record"), ["Nat"]);
    // `Ami` is a parameter, not a resource: no edge.
    assert!(deps("Lt").is_empty());
    assert_eq!(deps("Asg"), ["Lt", "Nat"]);
}

#[test]
fn rolling_update_is_batches_of_boot_plus_pause() {
    let g = Graph::parse(&template());
    // 3 instances, one at a time: 3 x (90 s boot + 300 s pause).
    assert_eq!(g.rolling_update("Asg", &table()), Some(3.0 * 390.0));
    assert_eq!(iso8601_seconds("PT1M30S"), Some(90.0));
    assert_eq!(iso8601_seconds("PT2H"), Some(7200.0));
    assert_eq!(iso8601_seconds("5M"), None);
}

#[test]
fn diff_floor_weighs_only_what_differs() {
    let from = template();
    let mut to: Json = serde_json::from_str(&from).unwrap();
    to["Resources"]["Record"]["Properties"]["TTL"] = json!("60");
    to["Resources"]["Record2"] =
        json!({"Type": "AWS::Route53::RecordSet", "Properties": {"Name": "x"}});
    let (s, path) = diff_floor(&from, &to.to_string(), &table());
    // Both records take 40 s at the same time; nothing else changes.
    assert_eq!(s, 40.0 + 10.0);
    assert_eq!(path.len(), 1);
    assert_eq!(diff_floor(&from, &from, &table()).0, 0.0);
}

fn stack(region: &str, role: StackRole, body: &str, build: Option<&str>) -> DesiredStack {
    DesiredStack {
        region: region.into(),
        stack_name: format!("s-{region}"),
        role,
        template_body: body.into(),
        build_template_body: build.map(str::to_string),
        parameters: BTreeMap::new(),
        create_only: BTreeMap::new(),
    }
}

fn plan_of(d: &DesiredStack, action: StackAction, changes: Vec<ResourceChange>) -> RegionPlan {
    RegionPlan {
        region: d.region.clone(),
        stack_name: d.stack_name.clone(),
        role: d.role,
        action,
        changes,
        parameters: vec![],
        previous: (action != StackAction::Create).then(|| Deployed {
            template_body: d.template_body.clone(),
            parameters: BTreeMap::new(),
            tags: BTreeMap::new(),
        }),
        change_set: None,
        replica_steps: vec![],
    }
}

fn change(id: &str, ty: &str, action: ChangeAction) -> ResourceChange {
    ResourceChange {
        logical_id: id.into(),
        resource_type: ty.into(),
        action,
        replaces: false,
        properties: vec![],
    }
}

#[test]
fn a_cold_build_composes_waves_wiring_and_global() {
    let body = template();
    let mut wired: Json = serde_json::from_str(&body).unwrap();
    wired["Resources"]["Latency"] =
        json!({"Type": "AWS::Route53::RecordSet", "Properties": {"Name": "y"}});
    let wired = wired.to_string();
    let a = stack("a", StackRole::Region, &wired, Some(&body));
    let b = stack("b", StackRole::Region, &wired, Some(&body));
    let c = stack("c", StackRole::Region, &wired, Some(&body));
    let mut g = stack(
        "a",
        StackRole::Global,
        &json!({"Resources": {"R": {"Type": "AWS::Route53::RecordSet"}}}).to_string(),
        None,
    );
    g.stack_name = "s-global".into();
    let desired = Desired {
        zone: None,
        waves: vec![vec![a.clone()], vec![b.clone(), c.clone()]],
        global: Some(g.clone()),
        version: "v".into(),
        absent: Vec::new(),
        awaiting_zone: vec![],
        zone_stack: None,
    };
    let plan = Plan {
        deployment_id: "d".into(),
        version: "v".into(),
        zone: None,
        waves: vec![
            vec![plan_of(&a, StackAction::Create, vec![])],
            vec![
                plan_of(&b, StackAction::Create, vec![]),
                plan_of(&c, StackAction::Create, vec![]),
            ],
        ],
        global: Some(plan_of(&g, StackAction::Create, vec![])),
        removals: Vec::new(),
        at_risk: Vec::new(),
        awaiting_zone: vec![],
    };
    let waits = Waits {
        bake: 60.0,
        ami_copies: true,
    };
    let e = estimate(&plan, &desired, &table(), waits);
    let names: Vec<&str> = e.phases.iter().map(|p| p.phase.as_str()).collect();
    assert_eq!(
        names,
        ["prepare", "wave 1", "wave 2", "wiring 1", "wiring 2", "global"]
    );
    let secs = |name: &str| e.phase(name).unwrap().seconds;
    // The change sets (15 s) overlap the AMI copies (600 s).
    assert_eq!(secs("prepare"), 600.0);
    // Built from the build template: 325 s, then the gate (targets healthy, 60 s,
    // beside the Route 53 check's 30 s) and the bake.
    assert_eq!(secs("wave 1"), 325.0 + 60.0 + 60.0);
    // The regions of a wave at the same time.
    assert_eq!(secs("wave 2"), secs("wave 1"));
    // Wired wave by wave: the new record (40 s + overhead), the bake; the change
    // set was made while the step before ran; the second wave's two regions at
    // the same time.
    assert_eq!(secs("wiring 1"), 50.0 + 60.0);
    let second = e.phase("wiring 2").unwrap();
    assert!(!second.serial);
    assert_eq!(second.stacks.len(), 2);
    assert_eq!(secs("wiring 2"), secs("wiring 1"));
    assert_eq!(secs("global"), 50.0);
    assert_eq!(e.total_s, 600.0 + 445.0 + 445.0 + 220.0 + 50.0);
    // StackSets' order: every stack whole, one after another, each with its change set.
    assert_eq!(e.sequential_s, 600.0 + 3.0 * (15.0 + 445.0) + (15.0 + 50.0));
}

#[test]
fn an_ami_update_weighs_the_rolling_update_and_no_change_weighs_nothing() {
    let body = template();
    let a = stack("a", StackRole::Region, &body, None);
    let desired = Desired {
        zone: None,
        waves: vec![vec![a.clone()]],
        global: None,
        version: "v".into(),
        absent: Vec::new(),
        awaiting_zone: vec![],
        zone_stack: None,
    };
    let changes = vec![
        change("Lt", "AWS::EC2::LaunchTemplate", ChangeAction::Modify),
        change(
            "Asg",
            "AWS::AutoScaling::AutoScalingGroup",
            ChangeAction::Modify,
        ),
    ];
    let mut plan = Plan {
        deployment_id: "d".into(),
        version: "v".into(),
        zone: None,
        waves: vec![vec![plan_of(&a, StackAction::Update, changes)]],
        global: None,
        removals: Vec::new(),
        at_risk: Vec::new(),
        awaiting_zone: vec![],
    };
    let waits = Waits {
        bake: 60.0,
        ami_copies: false,
    };
    let e = estimate(&plan, &desired, &table(), waits);
    let wave = e.phase("wave 1").unwrap();
    // Launch template 2 s, then 3 x (90 s + PT5M); no gate wait (the pauses cover
    // the new targets' health checks), then the bake.
    assert_eq!(wave.stacks[0].execute_s, 2.0 + 1170.0 + 10.0);
    assert_eq!(wave.stacks[0].gate_s, 0.0);
    assert_eq!(wave.stacks[0].critical_path, ["Lt", "Asg"]);
    assert_eq!(e.total_s, 15.0 + 1182.0 + 60.0);
    assert!(e.phases.iter().all(|p| !p.phase.starts_with("wiring")));

    plan.waves[0][0].action = StackAction::NoChange;
    plan.waves[0][0].changes.clear();
    let none = estimate(&plan, &desired, &table(), waits);
    assert_eq!(none.total_s, 0.0);
    assert!(none.phases.is_empty());
}

#[test]
fn a_replacement_adds_the_old_resources_delete_in_the_cleanup() {
    let body = template();
    let a = stack("a", StackRole::Region, &body, None);
    let desired = Desired {
        zone: None,
        waves: vec![vec![a.clone()]],
        global: None,
        version: "v".into(),
        absent: Vec::new(),
        awaiting_zone: vec![],
        zone_stack: None,
    };
    let mut nat = change("Nat", "AWS::EC2::NatGateway", ChangeAction::Modify);
    nat.replaces = true;
    let plan = Plan {
        deployment_id: "d".into(),
        version: "v".into(),
        zone: None,
        waves: vec![vec![plan_of(&a, StackAction::Update, vec![nat])]],
        global: None,
        removals: Vec::new(),
        at_risk: Vec::new(),
        awaiting_zone: vec![],
    };
    let e = estimate(
        &plan,
        &desired,
        &table(),
        Waits {
            bake: 0.0,
            ami_copies: false,
        },
    );
    // The new NAT (100 s), then the old one deleted (50 s), then the overhead.
    assert_eq!(
        e.phase("wave 1").unwrap().stacks[0].execute_s,
        100.0 + 50.0 + 10.0
    );
}

#[test]
fn the_shipped_table_covers_every_type_strata_emits() {
    let table = Durations::aws();
    assert!(table.scale >= 1.0);
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files = vec![golden];
    let mut missing = BTreeSet::new();
    let mut seen = 0;
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        for n in Graph::parse(&text).nodes.values() {
            seen += 1;
            if !table.types.contains_key(&n.ty) {
                missing.insert(n.ty.clone());
            }
        }
    }
    assert!(seen > 100, "read the golden templates");
    assert!(
        missing.is_empty(),
        "no duration for {missing:?} in sandbox/aws_durations.json"
    );
    for name in [
        "change_set_create",
        "stack_overhead",
        "ami_copy",
        "instance_boot",
        "target_healthy",
        "route53_health_check",
    ] {
        assert!(table.op(name) > 0.0, "operations.{name}");
    }
}

#[test]
fn a_changed_ami_parameter_rolls_the_group_even_when_the_change_set_lists_nothing() {
    let mut a = stack("a", StackRole::Region, &template(), None);
    a.parameters.insert("Ami".into(), "ami-new".into());
    let desired = Desired {
        zone: None,
        waves: vec![vec![a.clone()]],
        global: None,
        version: "v".into(),
        absent: Vec::new(),
        awaiting_zone: vec![],
        zone_stack: None,
    };
    // plan_of's previous stack ran without the parameter's new value.
    let plan = Plan {
        deployment_id: "d".into(),
        version: "v".into(),
        zone: None,
        waves: vec![vec![plan_of(&a, StackAction::Update, vec![])]],
        global: None,
        removals: Vec::new(),
        at_risk: Vec::new(),
        awaiting_zone: vec![],
    };
    let e = estimate(
        &plan,
        &desired,
        &table(),
        Waits {
            bake: 0.0,
            ami_copies: false,
        },
    );
    let s = &e.phase("wave 1").unwrap().stacks[0];
    assert_eq!(s.execute_s, 2.0 + 1170.0 + 10.0);
    assert_eq!(s.critical_path, ["Lt", "Asg"]);
}
