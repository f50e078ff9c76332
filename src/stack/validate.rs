//! Semantic checks of a `StackDef` that deserialized cleanly. Collects every
//! problem (never stops at the first), each tied to the field path it is about.
//! Pure: no I/O, no AWS.

use super::diag::Problem;
use super::duration::{parse_duration, DURATION_HELP};
use super::fields::help_for;
use super::model::*;
use super::regions;
use super::source_map::FieldPath;
use ipnet::Ipv4Net;
use std::collections::HashMap;

/// Every problem in the definition; empty when it is valid.
pub fn validate(def: &StackDef) -> Vec<Problem> {
    validate_parts(&Parts {
        app: Some(&def.app),
        dns: Some(&def.dns),
        regions: Some(&def.regions),
        rollout: Some(&def.rollout),
        compute: Some(&def.compute),
        ami: Some(&def.ami),
        tables: Some(&def.tables),
        queues: Some(&def.queues),
        storage: Some(&def.storage),
        edge: Some(&def.edge),
        capacity: Some(&def.capacity),
        alarms: Some(&def.alarms),
        availability: Some(&def.availability),
        policy: Some(&def.policy),
        operations: Some(&def.operations),
        cost: Some(&def.cost),
        audit: Some(&def.audit),
    })
}

/// The sections of a definition that were read; `None` for a section whose
/// structure was wrong (already reported). Checks whose inputs are all present
/// run, so meaning problems are reported alongside structural ones.
#[derive(Default)]
pub struct Parts<'a> {
    pub app: Option<&'a App>,
    pub dns: Option<&'a Dns>,
    pub regions: Option<&'a [Region]>,
    pub rollout: Option<&'a Rollout>,
    pub compute: Option<&'a Compute>,
    pub ami: Option<&'a Ami>,
    pub tables: Option<&'a [Table]>,
    pub queues: Option<&'a [Queue]>,
    pub storage: Option<&'a Storage>,
    pub edge: Option<&'a Edge>,
    pub capacity: Option<&'a CapacityModel>,
    pub alarms: Option<&'a Alarms>,
    pub availability: Option<&'a Availability>,
    pub policy: Option<&'a Policy>,
    pub operations: Option<&'a Operations>,
    pub cost: Option<&'a CostUsage>,
    pub audit: Option<&'a AuditThresholds>,
}

/// Every problem in the sections that were read.
pub fn validate_parts(parts: &Parts<'_>) -> Vec<Problem> {
    let mut c = Checks::default();
    let regions = parts.regions;
    if let Some(app) = parts.app {
        c.app(app);
    }
    if let Some(dns) = parts.dns {
        c.dns(dns);
        c.tls(dns, parts.app, regions);
    }
    if let Some(regions) = regions {
        c.regions(regions);
        c.failover(regions);
    }
    if let (Some(rollout), Some(regions)) = (parts.rollout, regions) {
        c.rollout(rollout, regions);
    } else if let Some(rollout) = parts.rollout {
        c.durations(rollout);
    }
    if let Some(compute) = parts.compute {
        c.compute(compute);
    }
    if let Some(ami) = parts.ami {
        c.ami(ami, regions);
    }
    if let Some(tables) = parts.tables {
        c.tables(tables);
    }
    if let Some(queues) = parts.queues {
        c.queues(queues);
    }
    if let Some(storage) = parts.storage {
        c.storage(storage);
        if let Some(regions) = regions {
            c.bucket_namespaces(storage, regions);
        }
    }
    if let Some(edge) = parts.edge {
        c.edge(edge);
    }
    if let Some(capacity) = parts.capacity {
        c.capacity_model(capacity, regions);
    }
    if let Some(alarms) = parts.alarms {
        c.alarms(alarms, regions);
    }
    if let Some(availability) = parts.availability {
        c.availability(availability);
    }
    if let Some(policy) = parts.policy {
        c.policy(policy);
    }
    if let Some(operations) = parts.operations {
        c.operations(operations);
    }
    if let Some(cost) = parts.cost {
        c.cost(cost);
    }
    if let Some(audit) = parts.audit {
        c.audit(audit);
    }
    c.problems
}

#[derive(Default)]
struct Checks {
    problems: Vec<Problem>,
}

fn p(text: &str) -> FieldPath {
    FieldPath::parse(text)
}

impl Checks {
    /// A problem at `path` whose help is the field's rule.
    fn bad(&mut self, path: FieldPath, message: impl Into<String>) {
        let help = help_for(&path).unwrap_or("");
        self.problems.push(Problem::value(path, message, help));
    }

    /// A problem at `path` with a specific help text.
    fn bad_with(&mut self, path: FieldPath, message: impl Into<String>, help: impl Into<String>) {
        self.problems.push(Problem::value(path, message, help));
    }

    fn app(&mut self, app: &App) {
        for (field, value) in [("name", &app.name), ("environment", &app.environment)] {
            let path = p("app").key(field);
            if value.trim().is_empty() {
                self.bad(path, format!("app {field} is empty"));
            } else if !is_simple_name(value) {
                self.bad(
                    path,
                    format!("app {field} `{value}` has characters or a length that is not allowed"),
                );
            }
        }
        for (i, id) in app.account.iter().enumerate() {
            let path = p("app").key("account").index(i);
            if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
                self.bad(path, format!("`{id}` is not an AWS account id"));
            } else if app.account[..i].contains(id) {
                self.bad(path, format!("account {id} is named twice"));
            }
        }
    }

    fn dns(&mut self, dns: &Dns) {
        let zone = normalize_dns(&dns.hosted_zone);
        let zone_ok = self.dns_name(p("dns.hosted_zone"), "hosted zone", &dns.hosted_zone);
        let names = [
            ("domain", Some(&dns.domain)),
            ("origin_name", dns.origin_name.as_ref()),
            ("failover_name", dns.failover_name.as_ref()),
        ];
        for (field, value) in names {
            let Some(value) = value else { continue };
            let path = p("dns").key(field);
            if self.dns_name(path.clone(), field, value) && zone_ok && !in_zone(value, &zone) {
                self.bad_with(
                    path,
                    format!("`{value}` is outside the hosted zone `{zone}`"),
                    format!("a name equal to `{zone}` or ending in `.{zone}`"),
                );
            }
        }
        let domain = normalize_dns(&dns.domain);
        if dns.origin_name.is_some() && normalize_dns(&dns.origin_name()) == domain {
            self.bad(
                p("dns.origin_name"),
                "the origin name must differ from the public domain",
            );
        }
        if dns.failover_name.is_some() {
            let failover = normalize_dns(&dns.failover_name());
            if failover == domain || failover == normalize_dns(&dns.origin_name()) {
                self.bad(
                    p("dns.failover_name"),
                    "the failover name must differ from the public domain and the origin name",
                );
            }
        }
        if let Some(id) = &dns.hosted_zone_id {
            let bare = id.strip_prefix("/hostedzone/").unwrap_or(id);
            if bare.is_empty()
                || !bare
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            {
                self.bad(
                    p("dns.hosted_zone_id"),
                    format!("`{id}` is not a hosted zone id"),
                );
            } else if dns.manage_zone {
                self.bad_with(
                    p("dns.hosted_zone_id"),
                    "hosted_zone_id is set but manage_zone = true (strata creates the zone)",
                    "either manage_zone = true without hosted_zone_id, or the id of an existing zone",
                );
            }
        }
    }

    /// HTTPS: each of the user's certificates names a region of the stack and
    /// lies in it (ACM certificates are regional: a load balancer only uses one
    /// of its own region); a production stack cannot opt out of HTTPS.
    fn tls(&mut self, dns: &Dns, app: Option<&App>, regions: Option<&[Region]>) {
        for (region, arn) in &dns.certificates {
            let path = p("dns.certificates").key(region);
            if regions.is_some_and(|rs| !rs.iter().any(|r| &r.name == region)) {
                self.bad(
                    path,
                    format!("`{region}` is not one of the stack's regions"),
                );
            } else if !is_acm_arn(arn, None) {
                self.bad(path, format!("`{arn}` is not an ACM certificate ARN"));
            } else if !is_acm_arn(arn, Some(region)) {
                self.bad_with(
                    path,
                    format!(
                        "`{arn}` is a certificate of {}, not of {region}",
                        arn.split(':').nth(3).unwrap_or_default()
                    ),
                    "ACM certificates are regional: a load balancer uses a certificate of its own region (or omit the region and strata creates one)",
                );
            }
        }
        if dns.plain_http {
            if app.is_some_and(|a| a.production) {
                self.bad_with(
                    p("dns.plain_http"),
                    "a production stack cannot go out over plain HTTP",
                    "remove plain_http (strata then serves HTTPS with certificates it creates), or set app.production = false",
                );
            } else if !dns.certificates.is_empty() {
                self.bad_with(
                    p("dns.plain_http"),
                    "plain_http = true but dns.certificates names certificates",
                    "either plain_http = true without certificates, or HTTPS with them",
                );
            }
        }
    }

    /// Check a DNS name's shape; true when it is well formed.
    fn dns_name(&mut self, path: FieldPath, what: &str, value: &str) -> bool {
        let name = normalize_dns(value);
        if name.is_empty() {
            self.bad(path, format!("{what} is empty"));
            return false;
        }
        let labels_ok = name.len() <= 253
            && name.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !labels_ok || !name.contains('.') {
            self.bad_with(
                path,
                format!("`{value}` is not a DNS name"),
                "dot-separated labels of letters, digits and '-', e.g. \"shop.example.com\"",
            );
            return false;
        }
        true
    }

    fn regions(&mut self, regions: &[Region]) {
        if regions.is_empty() {
            self.bad(p("regions"), "the stack has no regions");
            return;
        }
        let mut first_seen: HashMap<&str, usize> = HashMap::new();
        let mut nets: Vec<(usize, Ipv4Net)> = Vec::new();
        for (i, r) in regions.iter().enumerate() {
            let base = p("regions").index(i);
            let name_known = self.region_name(base.key("name"), &r.name);
            if let Some(first) = first_seen.get(r.name.as_str()) {
                self.bad(
                    base.key("name"),
                    format!(
                        "region `{}` is listed twice (also regions[{first}])",
                        r.name
                    ),
                );
            } else {
                first_seen.insert(&r.name, i);
            }
            if let Some(net) = self.cidr(base.key("cidr"), &r.cidr) {
                nets.push((i, net));
            }
            if r.azs.len() < 2 {
                self.bad(
                    base.key("azs"),
                    format!(
                        "region `{}` has {} Availability Zone(s); at least two are needed",
                        r.name,
                        r.azs.len()
                    ),
                );
            }
            let mut seen_az: HashMap<&str, usize> = HashMap::new();
            for (k, az) in r.azs.iter().enumerate() {
                let path = base.key("azs").index(k);
                if name_known && !regions::az_in_region(az, &r.name) {
                    self.bad_with(
                        path.clone(),
                        format!("`{az}` is not an Availability Zone of {}", r.name),
                        format!("the region name plus one letter, e.g. \"{}a\"", r.name),
                    );
                } else if let Some(known) = regions::azs_of(&r.name).filter(|k| !k.contains(az)) {
                    self.bad_with(
                        path.clone(),
                        format!("`{az}` is not an Availability Zone of {}", r.name),
                        format!("{} has {}", r.name, known.join(", ")),
                    );
                }
                if let Some(first) = seen_az.get(az.as_str()) {
                    self.bad(
                        path,
                        format!("Availability Zone `{az}` is listed twice (also azs[{first}])"),
                    );
                } else {
                    seen_az.insert(az, k);
                }
            }
            if let Some(cap) = &r.capacity {
                self.capacity(base.key("capacity"), cap);
            }
        }
        for (a, (i, net_i)) in nets.iter().enumerate() {
            for (j, net_j) in nets.iter().skip(a + 1) {
                if net_i.contains(&net_j.network()) || net_j.contains(&net_i.network()) {
                    self.bad(
                        p("regions").index(*j).key("cidr"),
                        format!(
                            "{net_j} overlaps {net_i} of regions[{i}] ({})",
                            regions[*i].name
                        ),
                    );
                }
            }
        }
    }

    /// Check a region name; true when it is a known region.
    fn region_name(&mut self, path: FieldPath, name: &str) -> bool {
        if name.trim().is_empty() {
            self.bad(path, "region name is empty");
            return false;
        }
        if regions::is_known(name) {
            return true;
        }
        let help = match regions::suggest(name) {
            Some(s) => format!("did you mean \"{s}\"? (known regions are listed in docs/stack-reference.md)"),
            None => "an AWS region name such as \"us-east-1\" (known regions are listed in docs/stack-reference.md)".to_string(),
        };
        self.bad_with(path, format!("unknown region `{name}`"), help);
        false
    }

    fn cidr(&mut self, path: FieldPath, text: &str) -> Option<Ipv4Net> {
        let net: Ipv4Net = match text.parse() {
            Ok(n) => n,
            Err(_) => {
                self.bad(path, format!("`{text}` is not an IPv4 CIDR"));
                return None;
            }
        };
        if !(16..=24).contains(&net.prefix_len()) {
            self.bad(
                path,
                format!(
                    "`{text}` is a /{} network; a VPC here is /16 to /24",
                    net.prefix_len()
                ),
            );
            return None;
        }
        if net.addr() != net.network() {
            self.bad_with(
                path,
                format!("`{text}` has host bits set"),
                format!("the network address: did you mean \"{}\"?", net.trunc()),
            );
            return None;
        }
        Some(net)
    }

    fn capacity(&mut self, path: FieldPath, cap: &Capacity) {
        if cap.max == 0 {
            self.bad(path.key("max"), "max is 0; at least one instance is needed");
        }
        if cap.min > cap.desired {
            self.bad(
                path.key("min"),
                format!(
                    "min ({}) is greater than desired ({})",
                    cap.min, cap.desired
                ),
            );
        }
        if cap.desired > cap.max {
            self.bad(
                path.key("max"),
                format!(
                    "desired ({}) is greater than max ({})",
                    cap.desired, cap.max
                ),
            );
        }
    }

    fn failover(&mut self, regions: &[Region]) {
        let roles: Vec<(usize, FailoverRole)> = regions
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.failover.map(|f| (i, f)))
            .collect();
        if roles.is_empty() {
            return;
        }
        let help =
            "exactly one region with failover = \"primary\" and one or more with \"secondary\"";
        let primaries: Vec<usize> = roles
            .iter()
            .filter(|(_, f)| *f == FailoverRole::Primary)
            .map(|(i, _)| *i)
            .collect();
        let secondaries = roles.len() - primaries.len();
        match primaries.as_slice() {
            [] => self.bad_with(
                p("regions").index(roles[0].0).key("failover"),
                "failover roles are set but no region is the primary",
                help,
            ),
            [first, rest @ ..] => {
                for extra in rest {
                    self.bad_with(
                        p("regions").index(*extra).key("failover"),
                        format!(
                            "a second failover primary (`{}`; `{}` is already primary)",
                            regions[*extra].name, regions[*first].name
                        ),
                        help,
                    );
                }
                if secondaries == 0 {
                    self.bad_with(
                        p("regions").index(*first).key("failover"),
                        "a failover primary without any secondary",
                        help,
                    );
                }
            }
        }
    }

    fn rollout(&mut self, r: &Rollout, regions: &[Region]) {
        let (waves, base): (Vec<Vec<String>>, FieldPath) = match (&r.waves, &r.order) {
            (Some(_), Some(_)) => {
                self.bad_with(
                    p("rollout.order"),
                    "both `order` and `waves` are given",
                    "give one of them: `order` (one region per wave) or `waves`",
                );
                (Vec::new(), p("rollout"))
            }
            (None, None) => {
                self.bad_with(
                    p("rollout"),
                    "the rollout has neither `order` nor `waves`",
                    "give `order = [\"us-east-1\", ...]` or `waves = [[...], [...]]`",
                );
                (Vec::new(), p("rollout"))
            }
            (Some(w), None) => (w.clone(), p("rollout.waves")),
            (None, Some(o)) => (
                o.iter().map(|x| vec![x.clone()]).collect(),
                p("rollout.order"),
            ),
        };
        let is_order = r.waves.is_none() && r.order.is_some();
        if r.waves.is_some() != r.order.is_some() {
            if waves.is_empty() {
                self.bad(base.clone(), "the rollout is empty");
            }
            let mut seen: HashMap<&str, ()> = HashMap::new();
            for (w, wave) in waves.iter().enumerate() {
                if wave.is_empty() && !is_order {
                    self.bad(base.index(w), format!("wave {} is empty", w + 1));
                }
                for (k, name) in wave.iter().enumerate() {
                    let path = if is_order {
                        base.index(w)
                    } else {
                        base.index(w).index(k)
                    };
                    if !regions.iter().any(|x| x.name == *name) {
                        self.bad_with(
                            path,
                            format!("the rollout names `{name}`, which is not one of the stack's regions"),
                            format!("the stack's regions: {}", region_list(regions)),
                        );
                    } else if seen.insert(name.as_str(), ()).is_some() {
                        self.bad(
                            path,
                            format!("region `{name}` appears twice in the rollout"),
                        );
                    }
                }
            }
            let missing: Vec<&str> = regions
                .iter()
                .map(|x| x.name.as_str())
                .filter(|n| !seen.contains_key(n))
                .collect();
            if !missing.is_empty() {
                self.bad(
                    base,
                    format!("the rollout misses region(s) {}", quoted(&missing)),
                );
            }
        }
        self.durations(r);
        if let Some(c) = &r.canary {
            self.canary(r, c);
        }
    }

    /// The canary's margins, and a bake long enough to hold a minute of the load
    /// balancer's metrics (Elastic Load Balancing sends them in 60-second
    /// intervals:
    /// <https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html>).
    fn canary(&mut self, r: &Rollout, c: &Canary) {
        let base = p("rollout").key("canary");
        if !(0.0..=100.0).contains(&c.max_5xx_increase) {
            self.bad(
                base.key("max_5xx_increase"),
                format!(
                    "max_5xx_increase is {}; it is percentage points, from 0 to 100",
                    c.max_5xx_increase
                ),
            );
        }
        if !(c.max_p99_increase_ms >= 0.0 && c.max_p99_increase_ms.is_finite()) {
            self.bad(
                base.key("max_p99_increase_ms"),
                format!(
                    "max_p99_increase_ms is {}; it is milliseconds, 0 or more",
                    c.max_p99_increase_ms
                ),
            );
        }
        if matches!(parse_duration(&r.bake), Ok(d) if d < std::time::Duration::from_secs(60)) {
            self.bad(
                p("rollout").key("bake"),
                format!(
                    "bake is {}, but a canary compares the load balancer's metrics over the \
                     bake, which CloudWatch holds per minute: bake at least \"1m\" (\"5m\" or more \
                     to see a few minutes of traffic)",
                    r.bake
                ),
            );
        }
    }

    fn durations(&mut self, r: &Rollout) {
        for (field, text) in [("bake", &r.bake), ("gate_timeout", &r.gate_timeout)] {
            let path = p("rollout").key(field);
            match parse_duration(text) {
                Err(e) => self.bad_with(path, e.to_string(), DURATION_HELP),
                Ok(d) if field == "gate_timeout" && d.is_zero() => self.bad(
                    path,
                    "gate_timeout is 0; a region needs time to pass its health gate",
                ),
                Ok(_) => {}
            }
        }
    }

    fn compute(&mut self, c: &Compute) {
        let it = &c.instance_type;
        let shape_ok = match it.split_once('.') {
            Some((family, size)) => {
                !family.is_empty()
                    && !size.is_empty()
                    && family.starts_with(|ch: char| ch.is_ascii_lowercase())
                    && family
                        .chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
                    && size
                        .chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit())
            }
            None => false,
        };
        if !shape_ok {
            self.bad(
                p("compute.instance_type"),
                format!("`{it}` is not an EC2 instance type"),
            );
        }
        if c.app_port == 0 {
            self.bad(p("compute.app_port"), "app_port is 0");
        }
        let hc = &c.health_check_path;
        if !hc.starts_with('/') || hc.chars().any(char::is_whitespace) {
            self.bad(
                p("compute.health_check_path"),
                format!("health check path `{hc}` does not start with '/' or contains spaces"),
            );
        }
        let t = c.scaling_cpu_target;
        if !(t > 0.0 && t <= 100.0) {
            self.bad(
                p("compute.scaling_cpu_target"),
                format!("{t} is not a CPU percentage"),
            );
        }
        if !(8..=16384).contains(&c.root_volume_gib) {
            self.bad(
                p("compute.root_volume_gib"),
                format!("{} GiB is outside 8..16384", c.root_volume_gib),
            );
        }
        self.capacity(p("compute.capacity"), &c.capacity);
    }

    fn ami(&mut self, a: &Ami, regions: Option<&[Region]>) {
        if !is_ami_id(&a.id) {
            self.bad(p("ami.id"), format!("`{}` is not an AMI id", a.id));
        }
        if let Some(regions) = regions {
            if !regions.iter().any(|r| r.name == a.build_region) {
                self.bad_with(
                    p("ami.build_region"),
                    format!(
                        "the AMI's build region `{}` is not one of the stack's regions",
                        a.build_region
                    ),
                    format!("one of: {}", region_list(regions)),
                );
            }
        }
        if a.kms_key_id.is_some() && !a.encrypted {
            self.bad(
                p("ami.kms_key_id"),
                "kms_key_id is set but encrypted = false",
            );
        }
    }

    fn tables(&mut self, tables: &[Table]) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, t) in tables.iter().enumerate() {
            let base = p("tables").index(i);
            self.resource_name(base.key("name"), "table", &t.name, true, &mut seen, i);
            if t.partition_key.name.trim().is_empty() {
                self.bad(
                    base.key("partition_key").key("name"),
                    "partition key name is empty",
                );
            }
            if let Some(sk) = &t.sort_key {
                if sk.name.trim().is_empty() {
                    self.bad(base.key("sort_key").key("name"), "sort key name is empty");
                } else if sk.name == t.partition_key.name {
                    self.bad(
                        base.key("sort_key").key("name"),
                        format!("sort key `{}` is also the partition key", sk.name),
                    );
                }
            }
            match t.billing {
                Billing::Provisioned => {
                    for (field, v) in [
                        ("read_capacity", t.read_capacity),
                        ("write_capacity", t.write_capacity),
                    ] {
                        match v {
                            None => self.bad_with(
                                base.key("billing"),
                                format!(
                                    "table `{}` has provisioned billing but no {field}",
                                    t.name
                                ),
                                "give read_capacity and write_capacity (whole numbers above 0), \
                                 or billing = \"on-demand\"",
                            ),
                            Some(0) => self.bad(base.key(field), format!("{field} is 0")),
                            Some(_) => {}
                        }
                    }
                }
                Billing::OnDemand => {
                    for (field, v) in [
                        ("read_capacity", t.read_capacity),
                        ("write_capacity", t.write_capacity),
                    ] {
                        if v.is_some() {
                            self.bad(
                                base.key(field),
                                format!(
                                    "{field} is set but table `{}` is billed on demand",
                                    t.name
                                ),
                            );
                        }
                    }
                }
            }
        }
    }

    fn queues(&mut self, queues: &[Queue]) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, q) in queues.iter().enumerate() {
            let base = p("queues").index(i);
            self.resource_name(base.key("name"), "queue", &q.name, false, &mut seen, i);
            if !(1..=1000).contains(&q.max_receive_count) {
                self.bad(
                    base.key("max_receive_count"),
                    format!("{} is outside 1..1000", q.max_receive_count),
                );
            }
            if q.visibility_timeout_seconds > 43_200 {
                self.bad(
                    base.key("visibility_timeout_seconds"),
                    format!(
                        "{} seconds is more than 12 hours",
                        q.visibility_timeout_seconds
                    ),
                );
            }
            if !(60..=1_209_600).contains(&q.dead_letter_retention_seconds) {
                self.bad(
                    base.key("dead_letter_retention_seconds"),
                    format!(
                        "{} seconds is outside 60..1209600",
                        q.dead_letter_retention_seconds
                    ),
                );
            }
        }
    }

    fn resource_name<'a>(
        &mut self,
        path: FieldPath,
        what: &str,
        name: &'a str,
        dots: bool,
        seen: &mut HashMap<&'a str, usize>,
        index: usize,
    ) {
        if name.trim().is_empty() {
            self.bad(path, format!("{what} name is empty"));
            return;
        }
        let chars_ok = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || (dots && c == '.'));
        if !chars_ok || name.len() > 64 {
            self.bad(path.clone(), format!("{what} name `{name}` is not allowed"));
        }
        if let Some(first) = seen.get(name) {
            self.bad(
                path,
                format!("{what} `{name}` is defined twice (also [{first}])"),
            );
        } else {
            seen.insert(name, index);
        }
    }

    fn storage(&mut self, storage: &Storage) {
        if storage.noncurrent_version_days == 0 {
            self.bad(
                p("storage.noncurrent_version_days"),
                "noncurrent_version_days is 0 (S3 needs at least one day)",
            );
        }
        if storage.replication && !storage.enabled {
            self.bad_with(
                p("storage.replication"),
                "replication = true but storage is disabled",
                "set enabled = true, or replication = false",
            );
        }
    }

    /// Each region's bucket lives in the account's regional namespace
    /// (`synth::naming::bucket_name`), which S3 does not offer everywhere.
    fn bucket_namespaces(&mut self, storage: &Storage, regions: &[Region]) {
        if !storage.enabled {
            return;
        }
        for (i, r) in regions.iter().enumerate() {
            if regions::NO_ACCOUNT_REGIONAL_NAMESPACE.contains(&r.name.as_str()) {
                self.bad_with(
                    p("regions").index(i).key("name"),
                    format!(
                        "{} has no S3 account regional namespace, where strata names the \
                         region's bucket so that no other account can take its name",
                        r.name
                    ),
                    "use another region, or set storage.enabled = false",
                );
            }
        }
    }

    fn edge(&mut self, e: &Edge) {
        if !["PriceClass_100", "PriceClass_200", "PriceClass_All"].contains(&e.price_class.as_str())
        {
            self.bad(
                p("edge.price_class"),
                format!("`{}` is not a CloudFront price class", e.price_class),
            );
        }
        if let Some(arn) = &e.certificate_arn {
            if !is_acm_arn(arn, Some("us-east-1")) {
                self.bad_with(
                    p("edge.certificate_arn"),
                    format!("`{arn}` is not an ACM certificate ARN in us-east-1"),
                    "CloudFront only uses certificates from us-east-1: \"arn:aws:acm:us-east-1:<account>:certificate/<id>\"",
                );
            }
        }
    }

    fn capacity_model(&mut self, c: &CapacityModel, regions: Option<&[Region]>) {
        if c.peak_rps == 0 {
            self.bad(p("capacity.peak_rps"), "peak_rps is 0");
        }
        if c.rps_per_instance == 0 {
            self.bad(p("capacity.rps_per_instance"), "rps_per_instance is 0");
        }
        let region_count = regions.map_or(usize::MAX, <[Region]>::len);
        if c.tolerate == Tolerate::Region && region_count < 2 {
            self.bad_with(
                p("capacity.tolerate"),
                format!(
                    "surviving the loss of a region needs at least two regions; the stack has {}",
                    region_count
                ),
                "add a region, or tolerate = \"az\"",
            );
        }
    }

    fn alarms(&mut self, a: &Alarms, regions: Option<&[Region]>) {
        let mut seen = std::collections::BTreeSet::new();
        for (i, target) in a.notify.iter().enumerate() {
            let path = p("alarms.notify").index(i);
            if !seen.insert(target.as_str()) {
                self.bad(
                    path.clone(),
                    format!("`{}` is listed twice", target.as_str()),
                );
            }
            if let (NotifyTarget::Topic { region, arn }, Some(regions)) = (target, regions) {
                if !regions.iter().any(|r| &r.name == region) {
                    self.bad(
                        path,
                        format!(
                            "`{arn}` is in {region}, where this stack runs nothing: an alarm \
                             acts only on topics of its own region"
                        ),
                    );
                }
            }
        }
        for (field, v) in [
            ("http_5xx_per_minute", a.http_5xx_per_minute),
            ("unhealthy_hosts", a.unhealthy_hosts),
            ("replication_latency_ms", a.replication_latency_ms),
            ("target_5xx_per_minute", a.target_5xx_per_minute),
            ("target_response_time_ms", a.target_response_time_ms),
            (
                "replication_failures_per_minute",
                a.replication_failures_per_minute,
            ),
        ] {
            if v == 0 {
                self.bad(p("alarms").key(field), format!("{field} is 0"));
            }
        }
    }

    fn availability(&mut self, a: &Availability) {
        if let Some(m) = a.minimum {
            if !is_percentage(m) {
                self.bad(
                    p("availability.minimum"),
                    format!("{m} is not a percentage between 0 and 100"),
                );
            }
        }
        if let Some(v) = a.downtime_cost_per_hour {
            if !(v.is_finite() && v >= 0.0) {
                self.bad(
                    p("availability.downtime_cost_per_hour"),
                    format!("downtime_cost_per_hour = {v} is not an amount of USD of 0 or more"),
                );
            }
        }
        for (name, v) in &a.components {
            if !is_percentage(*v) {
                self.bad(
                    p("availability.components").key(name),
                    format!("{name} = {v} is not a percentage between 0 and 100"),
                );
            }
        }
    }

    fn cost(&mut self, c: &CostUsage) {
        for (field, v) in [
            ("requests_per_month", c.requests_per_month),
            ("gb_out_per_month", c.gb_out_per_month),
            ("gb_stored", c.gb_stored),
            ("gb_written_per_month", c.gb_written_per_month),
            ("writes_per_month", c.writes_per_month),
            ("reads_per_month", c.reads_per_month),
            ("table_gb_stored", c.table_gb_stored),
            ("nat_gb_per_month", c.nat_gb_per_month),
            ("queue_messages_per_month", c.queue_messages_per_month),
            ("dns_queries_per_month", c.dns_queries_per_month),
        ] {
            if let Some(v) = v {
                if !(v.is_finite() && v >= 0.0) {
                    self.bad(
                        p("cost").key(field),
                        format!("{field} = {v} is not a quantity of 0 or more"),
                    );
                }
            }
        }
        if let Some(v) = c.instance_hour_usd {
            if !(v.is_finite() && v > 0.0) {
                self.bad(
                    p("cost.instance_hour_usd"),
                    format!("instance_hour_usd = {v} is not a price above 0"),
                );
            }
        }
    }

    fn audit(&mut self, a: &AuditThresholds) {
        for (field, v) in [
            ("access_key_max_age_days", a.access_key_max_age_days),
            ("unused_days", a.unused_days),
            ("min_admins", a.min_admins),
        ] {
            if v == 0 {
                self.bad(p("audit").key(field), format!("{field} is 0"));
            }
        }
    }

    fn policy(&mut self, policy: &Policy) {
        for (i, rule) in policy.advisory.iter().enumerate() {
            let base = p("policy.advisory").index(i);
            if rule.rule.trim().is_empty() {
                self.bad(base.key("rule"), "advisory rule name is empty");
            }
            if rule.reason.trim().is_empty() {
                self.bad(
                    base.key("reason"),
                    format!("advisory rule `{}` has no reason", rule.rule),
                );
            }
        }
    }

    fn operations(&mut self, ops: &Operations) {
        const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        if !(1..=5).contains(&ops.approvals) {
            self.bad(
                p("operations").key("approvals"),
                format!(
                    "approvals = {} is outside 1..5 (people, the deployer counted)",
                    ops.approvals
                ),
            );
        }
        for (i, w) in ops.windows.iter().enumerate() {
            let base = p("operations.windows").index(i);
            if w.days.is_empty() {
                self.bad(base.key("days"), "a deploy window with no days");
            }
            let mut seen: Vec<&str> = Vec::new();
            for (k, day) in w.days.iter().enumerate() {
                if !DAYS.contains(&day.as_str()) {
                    self.bad(base.key("days").index(k), format!("`{day}` is not a day"));
                } else if seen.contains(&day.as_str()) {
                    self.bad(
                        base.key("days").index(k),
                        format!("`{day}` is listed twice"),
                    );
                } else {
                    seen.push(day);
                }
            }
            if w.start_hour > 23 {
                self.bad(
                    base.key("start_hour"),
                    format!("start_hour {} is not an hour 0-23", w.start_hour),
                );
            }
            if !(1..=24).contains(&w.end_hour) {
                self.bad(
                    base.key("end_hour"),
                    format!("end_hour {} is not an hour 1-24", w.end_hour),
                );
            } else if w.start_hour <= 23 && w.start_hour >= w.end_hour {
                self.bad(
                    base.key("end_hour"),
                    format!(
                        "the window ends (hour {}) before it starts (hour {})",
                        w.end_hour, w.start_hour
                    ),
                );
            }
        }
    }
}

/// Lowercase letters, digits and '-', 1-32 characters, starting with a letter, not ending in '-'.
fn is_simple_name(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn normalize_dns(s: &str) -> String {
    s.trim().trim_end_matches('.').to_ascii_lowercase()
}

fn in_zone(name: &str, zone: &str) -> bool {
    let name = normalize_dns(name);
    name == zone || name.ends_with(&format!(".{zone}"))
}

/// "ami-" and 8 or 17 lowercase hex digits.
pub fn is_ami_id(id: &str) -> bool {
    match id.strip_prefix("ami-") {
        Some(hex) => {
            (hex.len() == 8 || hex.len() == 17)
                && hex
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        }
        None => false,
    }
}

fn is_acm_arn(arn: &str, region: Option<&str>) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "acm"
        && region.is_none_or(|r| parts[3] == r)
        && !parts[3].is_empty()
        && parts[5].starts_with("certificate/")
}

fn is_percentage(v: f64) -> bool {
    v > 0.0 && v < 100.0
}

fn region_list(regions: &[Region]) -> String {
    let names: Vec<&str> = regions.iter().map(|r| r.name.as_str()).collect();
    quoted(&names)
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(a: &str, b: &str) -> bool {
        let a: Ipv4Net = a.parse().unwrap();
        let b: Ipv4Net = b.parse().unwrap();
        a.contains(&b.network()) || b.contains(&a.network())
    }

    #[test]
    fn cidr_overlap_is_detected_both_ways() {
        assert!(nets("10.0.0.0/16", "10.0.0.0/16"));
        assert!(nets("10.0.0.0/16", "10.0.128.0/20"));
        assert!(nets("10.0.128.0/20", "10.0.0.0/16"));
        assert!(!nets("10.0.0.0/16", "10.1.0.0/16"));
        assert!(!nets("10.0.0.0/24", "10.0.1.0/24"));
    }

    #[test]
    fn cidr_checks_prefix_and_host_bits() {
        let mut c = Checks::default();
        assert!(c.cidr(p("x"), "10.0.0.0/16").is_some());
        assert!(c.cidr(p("x"), "10.0.0.0/24").is_some());
        assert!(c.problems.is_empty());
        assert!(c.cidr(p("x"), "10.0.0.0/8").is_none());
        assert!(c.cidr(p("x"), "10.0.0.0/28").is_none());
        assert!(c.cidr(p("x"), "10.0.0.1/16").is_none());
        assert!(c.cidr(p("x"), "10.0.0/16").is_none());
        assert_eq!(c.problems.len(), 4);
        assert!(c.problems[2].help.contains("10.0.0.0/16"));
    }

    #[test]
    fn ami_ids() {
        assert!(is_ami_id("ami-0123abcd"));
        assert!(is_ami_id("ami-0123456789abcdef0"));
        assert!(!is_ami_id("ami-0123ABCD"));
        assert!(!is_ami_id("ami-123"));
        assert!(!is_ami_id("0123456789abcdef0"));
    }

    #[test]
    fn names_and_zones() {
        assert!(is_simple_name("shop"));
        assert!(is_simple_name("shop-2"));
        assert!(!is_simple_name("Shop"));
        assert!(!is_simple_name("-shop"));
        assert!(!is_simple_name("shop_"));
        assert!(in_zone("shop.example.com.", "example.com"));
        assert!(in_zone("example.com", "example.com"));
        assert!(!in_zone("shopexample.com", "example.com"));
    }

    #[test]
    fn acm_arns() {
        let arn = "arn:aws:acm:us-east-1:123456789012:certificate/abc";
        assert!(is_acm_arn(arn, Some("us-east-1")));
        assert!(!is_acm_arn(arn, Some("eu-west-1")));
        assert!(!is_acm_arn("arn:aws:iam::123:role/x", None));
    }
}
