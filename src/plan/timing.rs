//! The time model of a rollout (issue 21): how long a plan takes on real AWS at the
//! least, from the durations in `sandbox/aws_durations.json`.
//!
//! Pure. A stack's execution is the longest chain of its resources (edges from
//! `DependsOn`, `Ref`, `Fn::GetAtt` and `Fn::Sub`), each weighing what CloudFormation
//! waits for: create for an added resource, update for a modified one, create for a
//! replacement with the old one's delete in the cleanup, nothing for an unchanged
//! one. An Auto Scaling group whose launch template changes weighs its rolling
//! update, read from the template's `UpdatePolicy`. The rollout composes the stacks
//! the way `deploy::rollout` runs them: the change sets of every region at once
//! overlapped with the AMI copies, the zone stack, the waves one after another (the
//! regions of a wave at the same time; each region executed, gated, baked), the
//! wiring pass wave by wave (again the regions of a wave at the same time, each
//! wave's change sets made while the step before it runs), the
//! global stack, then leaving regions deleted.

use super::{ChangeAction, Desired, DesiredStack, Plan, RegionPlan, StackAction, StackRole};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// The table, compiled in.
pub const DURATIONS_JSON: &str = include_str!("../../sandbox/aws_durations.json");

/// One resource type's durations, seconds on real AWS.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct TypeDurations {
    pub create: f64,
    pub update: f64,
    pub delete: f64,
}

/// One of strata's own waits.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Operation {
    pub seconds: f64,
}

/// `sandbox/aws_durations.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct Durations {
    /// The sandbox's default divisor (sandbox seconds = AWS seconds / scale).
    pub scale: f64,
    pub default: TypeDurations,
    pub types: BTreeMap<String, TypeDurations>,
    pub operations: BTreeMap<String, Operation>,
}

impl Durations {
    /// The compiled-in table.
    pub fn aws() -> &'static Durations {
        static TABLE: OnceLock<Durations> = OnceLock::new();
        TABLE.get_or_init(|| {
            Durations::parse(DURATIONS_JSON).expect("sandbox/aws_durations.json is valid")
        })
    }

    pub fn parse(text: &str) -> Result<Durations, serde_json::Error> {
        serde_json::from_str(text)
    }

    pub fn of(&self, resource_type: &str) -> TypeDurations {
        self.types
            .get(resource_type)
            .copied()
            .unwrap_or(self.default)
    }

    /// One of strata's own waits (0 when the table lacks it).
    pub fn op(&self, name: &str) -> f64 {
        self.operations.get(name).map(|o| o.seconds).unwrap_or(0.0)
    }
}

/// What the deploy settings add to the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Waits {
    /// `rollout.bake` (or `--bake`), seconds.
    pub bake: f64,
    /// Whether some region needs an AMI copy before anything executes.
    pub ami_copies: bool,
}

/// The floor of one stack in one phase.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackEstimate {
    pub region: String,
    pub stack: String,
    /// Creating this pass's change set (the wiring pass plans again).
    pub change_set_s: f64,
    /// ExecuteChangeSet to `*_COMPLETE`: the longest resource chain, the cleanup,
    /// CloudFormation's own overhead.
    pub execute_s: f64,
    pub gate_s: f64,
    pub bake_s: f64,
    pub total_s: f64,
    /// The resources on the longest chain, first to last.
    pub critical_path: Vec<String>,
}

/// One step of the rollout; its stacks run at the same time unless `serial`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseEstimate {
    pub phase: String,
    pub serial: bool,
    pub stacks: Vec<StackEstimate>,
    pub seconds: f64,
}

/// The floor of a whole plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub phases: Vec<PhaseEstimate>,
    pub total_s: f64,
    /// The same stacks deployed whole, one region after another (CloudFormation
    /// StackSets' sequential order: each region's stack created or updated to its
    /// final template, gated and baked, before the next starts).
    pub sequential_s: f64,
}

impl Estimate {
    pub fn phase(&self, name: &str) -> Option<&PhaseEstimate> {
        self.phases.iter().find(|p| p.phase == name)
    }
}

/// The floor of `plan` (whose templates are in `desired`) on real AWS.
pub fn estimate(plan: &Plan, desired: &Desired, table: &Durations, waits: Waits) -> Estimate {
    let mut phases = Vec::new();
    if plan.is_no_change() {
        return Estimate {
            phases,
            total_s: 0.0,
            sequential_s: 0.0,
        };
    }
    let change_set = table.op("change_set_create");
    let copy = if waits.ami_copies {
        table.op("ami_copy")
    } else {
        0.0
    };
    // Change sets of every region at once, while the copies become available.
    phases.push(PhaseEstimate {
        phase: "prepare".into(),
        serial: false,
        stacks: Vec::new(),
        seconds: change_set.max(copy),
    });
    let building = plan
        .waves
        .iter()
        .flatten()
        .any(|p| p.role == StackRole::Region && p.action == StackAction::Create);
    let find = |p: &RegionPlan| {
        desired
            .stacks()
            .find(|d| d.region == p.region && d.stack_name == p.stack_name)
    };
    if let Some(z) = &plan.zone {
        if let Some(d) = find(z) {
            push(
                &mut phases,
                "zone",
                false,
                vec![first_pass(z, d, building, table, waits)],
            );
        }
    }
    for (n, wave) in plan.waves.iter().enumerate() {
        let stacks = wave
            .iter()
            .filter_map(|p| find(p).map(|d| first_pass(p, d, building, table, waits)))
            .collect();
        push(&mut phases, &format!("wave {}", n + 1), false, stacks);
    }
    // The wiring pass: a stack built without cross-region references, or running
    // while others are built, goes to its final template; wave by wave, the
    // regions of a wave at the same time.
    for (n, wave) in plan.waves.iter().enumerate() {
        let wiring: Vec<StackEstimate> = wave
            .iter()
            .filter_map(|p| {
                let d = find(p)?;
                let from = wiring_from(p, d, building)?;
                let (execute_s, critical_path) = diff_floor(&from, &d.template_body, table);
                // Its change set is made while the step before runs
                // (`deploy::rollout::ahead_of`), which outlasts a change set.
                Some(stack_estimate(
                    p,
                    0.0,
                    execute_s,
                    0.0,
                    bake_of(p, waits),
                    critical_path,
                ))
            })
            .collect();
        push(&mut phases, &format!("wiring {}", n + 1), false, wiring);
    }
    if let Some(g) = &plan.global {
        if let Some(d) = find(g) {
            push(
                &mut phases,
                "global",
                false,
                vec![first_pass(g, d, building, table, waits)],
            );
        }
    }
    let removals = plan
        .removals
        .iter()
        .map(|p| {
            let (s, path) = p
                .previous
                .as_ref()
                .map(|prev| delete_floor(&prev.template_body, table))
                .unwrap_or_default();
            stack_estimate(p, 0.0, s, 0.0, 0.0, path)
        })
        .collect();
    push(&mut phases, "removals", true, removals);
    let total_s = phases.iter().map(|p| p.seconds).sum();
    Estimate {
        phases,
        total_s,
        sequential_s: sequential(plan, desired, table, waits),
    }
}

fn push(phases: &mut Vec<PhaseEstimate>, name: &str, serial: bool, stacks: Vec<StackEstimate>) {
    if stacks.is_empty() {
        return;
    }
    let seconds = if serial {
        stacks.iter().map(|s| s.total_s).sum()
    } else {
        stacks.iter().map(|s| s.total_s).fold(0.0, f64::max)
    };
    phases.push(PhaseEstimate {
        phase: name.into(),
        serial,
        stacks,
        seconds,
    });
}

fn stack_estimate(
    p: &RegionPlan,
    change_set_s: f64,
    execute_s: f64,
    gate_s: f64,
    bake_s: f64,
    critical_path: Vec<String>,
) -> StackEstimate {
    StackEstimate {
        region: p.region.clone(),
        stack: p.stack_name.clone(),
        change_set_s,
        execute_s,
        gate_s,
        bake_s,
        total_s: change_set_s + execute_s + gate_s + bake_s,
        critical_path,
    }
}

/// A region stack that stays is gated and baked after it executed.
fn bake_of(p: &RegionPlan, waits: Waits) -> f64 {
    if p.role == StackRole::Region {
        waits.bake
    } else {
        0.0
    }
}

/// The first pass of one stack: its plan's changes (or the whole template it is
/// created from), the gate and the bake.
fn first_pass(
    p: &RegionPlan,
    d: &DesiredStack,
    building: bool,
    table: &Durations,
    waits: Waits,
) -> StackEstimate {
    let (execute_s, path, fresh_instances) = match p.action {
        StackAction::NoChange | StackAction::Remove => (0.0, Vec::new(), false),
        StackAction::Create => {
            let body = match (
                &d.build_template_body,
                building && d.role == StackRole::Region,
            ) {
                (Some(b), true) => b.as_str(),
                _ => d.template_body.as_str(),
            };
            let (s, path) = create_floor(body, table);
            (s, path, true)
        }
        StackAction::Update => {
            let body = wiring_from(p, d, building).unwrap_or_else(|| d.template_body.clone());
            let graph = Graph::parse(&body);
            let mut changed: BTreeMap<String, Weight> = p
                .changes
                .iter()
                .map(|c| {
                    let w = match (c.action, c.replaces) {
                        (ChangeAction::Add, _) | (ChangeAction::Modify, true) => Weight::Create,
                        (ChangeAction::Modify, false) | (ChangeAction::Import, _) => Weight::Update,
                        (ChangeAction::Remove, _) => Weight::Delete,
                    };
                    (c.logical_id.clone(), w)
                })
                .collect();
            // A changed parameter (the AMI id) modifies every resource that refers
            // to it, whether or not the change set lists it (the sandbox's does not).
            let params = changed_parameters(p, d);
            for (id, n) in &graph.nodes {
                if n.params.iter().any(|x| params.contains(x)) {
                    changed.entry(id.clone()).or_insert(Weight::Update);
                }
            }
            let new_template: BTreeSet<String> = changed
                .iter()
                .filter(|(id, w)| {
                    matches!(w, Weight::Update)
                        && graph
                            .nodes
                            .get(*id)
                            .is_some_and(|n| n.ty == LAUNCH_TEMPLATE)
                })
                .map(|(id, _)| id.clone())
                .collect();
            // An Auto Scaling group on a changed launch template rolls its instances
            // (CloudFormation lists it as a dynamic Modify on real AWS).
            for (id, n) in &graph.nodes {
                if n.ty == ASG && n.deps.iter().any(|d| new_template.contains(d)) {
                    changed.insert(id.clone(), Weight::Rolling);
                }
            }
            let cleanup = p
                .changes
                .iter()
                .filter(|c| c.action == ChangeAction::Remove || c.replaces)
                .map(|c| table.of(&c.resource_type).delete)
                .fold(0.0, f64::max);
            let (s, path) = graph.longest(|id, ty| match changed.get(id) {
                Some(Weight::Create) => table.of(ty).create,
                Some(Weight::Rolling) => graph
                    .rolling_update(id, table)
                    .unwrap_or(table.of(ty).update),
                Some(Weight::Update) => table.of(ty).update,
                Some(Weight::Delete) | None => 0.0,
            });
            let overhead = table.op("stack_overhead");
            // A rolling update's pauses cover the new targets' health checks.
            (s + cleanup + overhead, path, false)
        }
    };
    let executes = execute_s > 0.0;
    let gate_s = if executes && p.role == StackRole::Region && fresh_instances {
        table
            .op("target_healthy")
            .max(table.op("route53_health_check"))
    } else {
        0.0
    };
    let bake_s = if executes { bake_of(p, waits) } else { 0.0 };
    stack_estimate(p, 0.0, execute_s, gate_s, bake_s, path)
}

/// The template a stack runs after the first pass when it then needs the wiring
/// pass (the rule of `deploy::rollout`'s first pass), `None` when it needs none.
fn wiring_from(p: &RegionPlan, d: &DesiredStack, building: bool) -> Option<String> {
    if !(building && p.role == StackRole::Region) {
        return None;
    }
    let current = match &p.previous {
        Some(prev) => Some(&prev.template_body),
        None => d.build_template_body.as_ref(),
    }?;
    (*current != d.template_body).then(|| current.clone())
}

/// Creating the whole stack: every resource created, plus CloudFormation's overhead.
pub fn create_floor(template: &str, table: &Durations) -> (f64, Vec<String>) {
    let graph = Graph::parse(template);
    let (s, path) = graph.longest(|_, ty| table.of(ty).create);
    (s + table.op("stack_overhead"), path)
}

/// Deleting the whole stack: resources are deleted after what depends on them, so
/// the longest chain of deletes is the same chain walked backwards.
pub fn delete_floor(template: &str, table: &Durations) -> (f64, Vec<String>) {
    let graph = Graph::parse(template);
    let (s, mut path) = graph.longest(|_, ty| table.of(ty).delete);
    path.reverse();
    (s + table.op("stack_overhead"), path)
}

/// Going from one template to another, without a change set: a resource only in
/// `to` is created, one whose definition differs is updated, one only in `from` is
/// deleted in the cleanup.
pub fn diff_floor(from: &str, to: &str, table: &Durations) -> (f64, Vec<String>) {
    let old = Graph::parse(from);
    let new = Graph::parse(to);
    let (s, path) = new.longest(|id, ty| match old.nodes.get(id) {
        None => table.of(ty).create,
        Some(n) if Some(n) != new.nodes.get(id) => table.of(ty).update,
        Some(_) => 0.0,
    });
    let cleanup = old
        .nodes
        .iter()
        .filter(|(id, _)| !new.nodes.contains_key(*id))
        .map(|(_, n)| table.of(&n.ty).delete)
        .fold(0.0, f64::max);
    if s == 0.0 && cleanup == 0.0 {
        return (0.0, path);
    }
    (s + cleanup + table.op("stack_overhead"), path)
}

/// StackSets' sequential order under the same model: one region after another,
/// each stack from what it runs to its final template in one go, gated and baked;
/// the zone and global stacks as strata runs them.
fn sequential(plan: &Plan, desired: &Desired, table: &Durations, waits: Waits) -> f64 {
    let mut total = table.op("change_set_create");
    if waits.ami_copies {
        total = total.max(table.op("ami_copy"));
    }
    for p in plan.stacks() {
        if p.action == StackAction::NoChange {
            continue;
        }
        let Some(d) = desired
            .stacks()
            .find(|d| d.region == p.region && d.stack_name == p.stack_name)
        else {
            if let Some(prev) = &p.previous {
                total += delete_floor(&prev.template_body, table).0;
            }
            continue;
        };
        let one = match p.action {
            StackAction::Create => {
                let (s, _) = create_floor(&d.template_body, table);
                let gate = if p.role == StackRole::Region {
                    table
                        .op("target_healthy")
                        .max(table.op("route53_health_check"))
                } else {
                    0.0
                };
                s + gate + bake_of(p, waits)
            }
            _ => first_pass(p, d, false, table, waits).total_s,
        };
        total += table.op("change_set_create") + one;
    }
    total
}

const ASG: &str = "AWS::AutoScaling::AutoScalingGroup";
const LAUNCH_TEMPLATE: &str = "AWS::EC2::LaunchTemplate";

#[derive(Debug, Clone, Copy)]
enum Weight {
    Create,
    Update,
    Rolling,
    Delete,
}

/// The parameters whose value this deploy changes.
fn changed_parameters(p: &RegionPlan, d: &DesiredStack) -> BTreeSet<String> {
    let Some(prev) = &p.previous else {
        return BTreeSet::new();
    };
    d.parameters
        .iter()
        .filter(|(k, v)| prev.parameters.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
struct Node {
    ty: String,
    body: Json,
    deps: BTreeSet<String>,
    /// Names it refers to that are not resources: parameters, pseudo parameters.
    params: BTreeSet<String>,
}

/// A template's resources and what each waits for.
struct Graph {
    nodes: BTreeMap<String, Node>,
}

impl Graph {
    fn parse(template: &str) -> Graph {
        let doc: Json = serde_json::from_str(template).unwrap_or(Json::Null);
        let resources = doc
            .get("Resources")
            .and_then(Json::as_object)
            .cloned()
            .unwrap_or_default();
        let ids: BTreeSet<String> = resources.keys().cloned().collect();
        let nodes = resources
            .iter()
            .map(|(id, r)| {
                let mut deps = BTreeSet::new();
                match r.get("DependsOn") {
                    Some(Json::String(s)) => {
                        deps.insert(s.clone());
                    }
                    Some(Json::Array(a)) => {
                        deps.extend(a.iter().filter_map(|v| v.as_str().map(str::to_string)))
                    }
                    _ => {}
                }
                if let Some(props) = r.get("Properties") {
                    references(props, &mut deps);
                }
                let params = deps.iter().filter(|d| !ids.contains(*d)).cloned().collect();
                deps.retain(|d| ids.contains(d) && d != id);
                let ty = r
                    .get("Type")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_string();
                (
                    id.clone(),
                    Node {
                        ty,
                        body: r.clone(),
                        deps,
                        params,
                    },
                )
            })
            .collect();
        Graph { nodes }
    }

    /// The longest chain of weights through the dependency graph (a resource
    /// starts when everything it waits for is complete) and the chain itself.
    fn longest(&self, weight: impl Fn(&str, &str) -> f64) -> (f64, Vec<String>) {
        // Per resource: when it completes, its own weight, the dependency it waited on last.
        let mut finish: BTreeMap<&str, (f64, f64, Option<&str>)> = BTreeMap::new();
        // Kahn's order; a cycle (CloudFormation rejects those) leaves nodes out.
        let mut pending: BTreeMap<&str, usize> = self
            .nodes
            .iter()
            .map(|(id, n)| (id.as_str(), n.deps.len()))
            .collect();
        let mut ready: Vec<&str> = pending
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(id, _)| *id)
            .collect();
        while let Some(id) = ready.pop() {
            let node = &self.nodes[id];
            let mut start = 0.0;
            let mut via = None;
            for d in &node.deps {
                let t = finish.get(d.as_str()).map(|f| f.0).unwrap_or(0.0);
                if via.is_none() || t > start {
                    start = t;
                    via = Some(d.as_str());
                }
            }
            let own = weight(id, &node.ty);
            finish.insert(id, (start + own, own, via));
            for (other, n) in &self.nodes {
                if n.deps.contains(id) {
                    let left = pending
                        .get_mut(other.as_str())
                        .expect("every node is pending");
                    *left -= 1;
                    if *left == 0 {
                        ready.push(other.as_str());
                    }
                }
            }
        }
        let Some((last, &(total, _, _))) = finish
            .iter()
            .max_by(|a, b| a.1 .0.total_cmp(&b.1 .0).then(b.0.cmp(a.0)))
        else {
            return (0.0, Vec::new());
        };
        if total <= 0.0 {
            return (0.0, Vec::new());
        }
        // The chain, first to last; only resources that cost something name it.
        let mut path = Vec::new();
        let mut at = Some(*last);
        while let Some(id) = at {
            let (_, own, via) = finish[id];
            if own > 0.0 {
                path.push(id.to_string());
            }
            at = via;
        }
        path.reverse();
        (total, path)
    }

    /// An Auto Scaling group's rolling update from its `UpdatePolicy`: the desired
    /// instances replaced `MaxBatchSize` at a time, each batch one instance boot and
    /// the `PauseTime` (CloudFormation pauses that long after each batch when it does
    /// not wait on signals).
    fn rolling_update(&self, id: &str, table: &Durations) -> Option<f64> {
        let node = self.nodes.get(id)?;
        let policy = node
            .body
            .get("UpdatePolicy")?
            .get("AutoScalingRollingUpdate")?;
        let desired = number(node.body.get("Properties")?.get("DesiredCapacity")?)?;
        let batch = policy
            .get("MaxBatchSize")
            .and_then(number)
            .unwrap_or(1.0)
            .max(1.0);
        let pause = policy
            .get("PauseTime")
            .and_then(Json::as_str)
            .and_then(iso8601_seconds)
            .unwrap_or(0.0);
        let batches = (desired / batch).ceil().max(1.0);
        Some(batches * (table.op("instance_boot") + pause))
    }
}

/// A literal number, or a string holding one (CloudFormation's numbers in strings).
fn number(v: &Json) -> Option<f64> {
    match v {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// `PT5M`, `PT1M30S`, `PT90S` → seconds.
fn iso8601_seconds(s: &str) -> Option<f64> {
    let rest = s.strip_prefix("PT")?;
    let mut total = 0.0;
    let mut digits = String::new();
    for c in rest.chars() {
        match c {
            '0'..='9' | '.' => digits.push(c),
            'H' | 'M' | 'S' => {
                let n: f64 = digits.parse().ok()?;
                digits.clear();
                total += n * match c {
                    'H' => 3600.0,
                    'M' => 60.0,
                    _ => 1.0,
                };
            }
            _ => return None,
        }
    }
    digits.is_empty().then_some(total)
}

/// Every logical id a value refers to: `Ref`, `Fn::GetAtt`, `${X}` in `Fn::Sub`.
fn references(v: &Json, out: &mut BTreeSet<String>) {
    match v {
        Json::Object(map) => {
            for (k, inner) in map {
                match (k.as_str(), inner) {
                    ("Ref", Json::String(id)) => {
                        out.insert(id.clone());
                    }
                    ("Fn::GetAtt", Json::Array(a)) => {
                        if let Some(id) = a.first().and_then(Json::as_str) {
                            out.insert(id.to_string());
                        }
                    }
                    ("Fn::GetAtt", Json::String(s)) => {
                        out.insert(s.split('.').next().unwrap_or_default().to_string());
                    }
                    ("Fn::Sub", Json::String(s)) => sub_refs(s, out),
                    ("Fn::Sub", Json::Array(a)) => {
                        if let Some(s) = a.first().and_then(Json::as_str) {
                            sub_refs(s, out);
                        }
                        a.iter().skip(1).for_each(|x| references(x, out));
                    }
                    _ => references(inner, out),
                }
            }
        }
        Json::Array(a) => a.iter().for_each(|x| references(x, out)),
        _ => {}
    }
}

fn sub_refs(s: &str, out: &mut BTreeSet<String>) {
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.starts_with('!') {
            out.insert(name.split('.').next().unwrap_or_default().to_string());
        }
        rest = &after[end + 1..];
    }
}

#[cfg(test)]
mod tests;
