//! What each field of a stack file allows, in words: the `help` of a diagnostic.
//! The same texts are the "rule" column of `docs/stack-reference.md`.

use super::source_map::{FieldPath, Segment};

/// The sections a stack file may have, for "unknown section" help.
pub const SECTIONS: &str = "[app], [dns], [[regions]], [rollout], [compute], [ami], [[tables]], \
[[queues]], [storage], [edge], [capacity], [alarms], [availability], [policy], [operations], [cost], [audit]";

/// Help for the field at `path` (array indices ignored), if there is a rule to state.
pub fn help_for(path: &FieldPath) -> Option<&'static str> {
    let pattern: Vec<&str> = path
        .0
        .iter()
        .filter_map(|s| match s {
            Segment::Key(k) => Some(k.as_str()),
            Segment::Index(_) => None,
        })
        .collect();
    let text = match pattern.as_slice() {
        ["app"] => "a table with `name` and `environment`",
        ["app", "name"] | ["app", "environment"] => {
            "a string of lowercase letters, digits and '-', 1-32 characters, starting with a letter"
        }
        ["app", "production"] => "true or false (default false)",
        ["app", "account"] => {
            "an array of 12-digit AWS account ids, e.g. [\"123456789012\"], each once"
        }
        ["dns"] => "a table with `domain` and `hosted_zone`",
        ["dns", "domain"] => "a DNS name inside `hosted_zone`, e.g. \"shop.example.com\"",
        ["dns", "hosted_zone"] => "the Route 53 zone name, e.g. \"example.com\"",
        ["dns", "hosted_zone_id"] => "a Route 53 zone id such as \"Z0123456789ABCDEFGHIJ\"",
        ["dns", "manage_zone"] => "true or false (default false)",
        ["dns", "origin_name"] | ["dns", "failover_name"] => {
            "a DNS name inside `hosted_zone`, different from `domain`"
        }
        ["dns", "certificates"] => {
            "a table of region name = ACM certificate ARN of that region, e.g. { \"us-east-1\" = \"arn:aws:acm:us-east-1:<account>:certificate/<id>\" }"
        }
        ["dns", "certificates", _] => {
            "an ACM certificate ARN in this region, \"arn:aws:acm:<region>:<account>:certificate/<id>\""
        }
        ["dns", "plain_http"] => {
            "true or false (default false); true is refused when app.production = true"
        }
        ["edge", "certificate_arn"] => {
            "an ACM certificate ARN in us-east-1, \"arn:aws:acm:us-east-1:<account>:certificate/<id>\""
        }
        ["regions"] => "one [[regions]] table per region, each with `name`, `cidr` and `azs`",
        ["regions", "name"] => "an AWS region name such as \"us-east-1\", each region once",
        ["regions", "cidr"] => {
            "an IPv4 network \"a.b.c.d/n\" with n from 16 to 24, not overlapping another region's"
        }
        ["regions", "azs"] => {
            "two or more distinct Availability Zones of the region, e.g. [\"us-east-1a\", \"us-east-1b\"]"
        }
        ["regions", "failover"] => "\"primary\" or \"secondary\" (omit for latency routing only)",
        ["regions", "capacity"] | ["compute", "capacity"] => {
            "a table { min, desired, max } of whole numbers with min <= desired <= max and max >= 1"
        }
        ["regions", "capacity", _] | ["compute", "capacity", _] => {
            "a whole number, with min <= desired <= max"
        }
        ["rollout"] => "a table with `order` or `waves`",
        ["rollout", "order"] => "an array of the stack's region names, each exactly once",
        ["rollout", "waves"] => {
            "an array of non-empty arrays of region names, each region in exactly one wave"
        }
        ["rollout", "bake"] | ["rollout", "gate_timeout"] => {
            "a duration: a whole number followed by s, m or h, e.g. \"90s\", \"5m\", \"1h30m\""
        }
        ["rollout", "on_failure"] => "\"rollback-region\" or \"rollback-all\"",
        ["rollout", "canary"] => {
            "a table with `max_5xx_increase`, `max_p99_increase_ms` and `min_requests` (each optional)"
        }
        ["rollout", "canary", "max_5xx_increase"] => {
            "percentage points from 0 to 100 (default 1.0)"
        }
        ["rollout", "canary", "max_p99_increase_ms"] => "milliseconds, 0 or more (default 100)",
        ["rollout", "canary", "min_requests"] => "a whole number of requests (default 100)",
        ["compute"] => "a table with `instance_type`, `app_port`, `health_check_path` and `capacity`",
        ["compute", "instance_type"] => "an EC2 instance type such as \"t3.micro\"",
        ["compute", "app_port"] => "a port number from 1 to 65535",
        ["compute", "health_check_path"] => "a URL path starting with '/', e.g. \"/health\"",
        ["compute", "scaling_cpu_target"] => "a percentage above 0 and at most 100 (default 50)",
        ["compute", "health_check_grace_seconds"] => "a whole number of seconds (default 120)",
        ["compute", "root_volume_gib"] => "a whole number of GiB from 8 to 16384 (default 20)",
        ["ami"] => "a table with `id` and `build_region`",
        ["ami", "id"] => "\"ami-\" followed by 8 or 17 lowercase hex digits",
        ["ami", "build_region"] => "one of the stack's regions",
        ["ami", "encrypted"] => "true or false (default false)",
        ["ami", "kms_key_id"] => "a KMS key id or ARN, only with `encrypted = true`",
        ["tables"] => "one [[tables]] table per DynamoDB table",
        ["tables", "name"] | ["queues", "name"] => {
            "letters, digits, '-', '_' (and '.' for tables), 1-64 characters, unique"
        }
        ["tables", "partition_key"] | ["tables", "sort_key"] => {
            "a table { name = \"...\", type = \"S\" | \"N\" | \"B\" }"
        }
        ["tables", _, "type"] => "\"S\" (string), \"N\" (number) or \"B\" (binary)",
        ["tables", "billing"] => "\"on-demand\" (default) or \"provisioned\"",
        ["tables", "read_capacity"] | ["tables", "write_capacity"] => {
            "a whole number above 0, only with billing = \"provisioned\""
        }
        ["tables", "global"] => "true (default: a replica in every region) or false",
        ["queues"] => "one [[queues]] table per queue",
        ["queues", "max_receive_count"] => "a whole number from 1 to 1000 (default 5)",
        ["queues", "visibility_timeout_seconds"] => "seconds, 0 to 43200 (default 30)",
        ["queues", "dead_letter_retention_seconds"] => {
            "seconds, 60 to 1209600 (default 1209600, 14 days)"
        }
        ["storage", "noncurrent_version_days"] => "a whole number of days above 0 (default 90)",
        ["storage", _] => "true or false (default true)",
        ["edge", "cloudfront"] => "true (default) or false",
        ["edge", "price_class"] => "\"PriceClass_100\" (default), \"PriceClass_200\" or \"PriceClass_All\"",
        ["capacity"] => "a table with `peak_rps` and `rps_per_instance`",
        ["capacity", "peak_rps"] | ["capacity", "rps_per_instance"] => {
            "a whole number of requests per second, above 0"
        }
        ["capacity", "tolerate"] => "\"region\" (default: lose one region and one AZ) or \"az\"",
        ["alarms", "notify"] | ["alarms", "notify", _] => {
            "a list of e-mail addresses, https:// URLs or SNS topic ARNs"
        }
        ["alarms", _] => "a whole number above 0",
        ["availability", "minimum"] | ["availability", "components", _] => {
            "a percentage above 0 and below 100, e.g. 99.99"
        }
        ["availability", "components"] => "a table of component name = percentage",
        ["availability", "downtime_cost_per_hour"] => {
            "USD lost per hour of the whole service down, 0 or more, e.g. 5000"
        }
        ["cost", "instance_hour_usd"] => "a USD price per instance-hour above 0, e.g. 0.0104",
        ["cost", _] => "a quantity of 0 or more (a number; see docs/cost.md for the default)",
        ["audit", "access_key_max_age_days"] | ["audit", "unused_days"] => {
            "a whole number of days above 0 (default 90)"
        }
        ["audit", "min_admins"] => "a whole number above 0 (default 2)",
        ["audit", "allow_key_pairs"] => "true or false (default false)",
        ["policy", "advisory"] => "an array of { rule = \"...\", reason = \"...\" }",
        ["policy", "advisory", _] => "a non-empty string",
        ["operations", "require_dri"] => "true or false (default false)",
        ["operations", "promote_from"] => {
            "the path of the stack file to promote from, relative to this file, e.g. \"staging.toml\""
        }
        ["operations", "approvals"] => {
            "a whole number of people from 1 (default: no approval) to 5, the deployer counted"
        }
        ["operations", "windows"] => "an array of { days, start_hour, end_hour }",
        ["operations", "windows", "days"] => {
            "an array of distinct days \"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\""
        }
        ["operations", "windows", "start_hour"] => "a UTC hour from 0 to 23, before end_hour",
        ["operations", "windows", "end_hour"] => "a UTC hour from 1 to 24, after start_hour",
        _ => return None,
    };
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_do_not_matter() {
        assert_eq!(
            help_for(&FieldPath::parse("regions[2].cidr")),
            help_for(&FieldPath::parse("regions.cidr"))
        );
        assert!(help_for(&FieldPath::parse("tables[0].sort_key.type"))
            .unwrap()
            .contains("\"S\""));
        assert_eq!(help_for(&FieldPath::parse("nothing")), None);
    }

    /// Every field path of a definition, arrays of tables written `name[]`.
    fn leaf_paths(prefix: &str, value: &toml::Value, out: &mut Vec<String>) {
        match value {
            toml::Value::Table(t)
                if prefix != "availability.components" && prefix != "dns.certificates" =>
            {
                for (k, v) in t {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    leaf_paths(&path, v, out);
                }
            }
            toml::Value::Array(items) if items.iter().any(|i| i.is_table()) => {
                // Top-level arrays of tables are documented by their `[[name]]` heading.
                if prefix.contains('.') {
                    out.push(prefix.to_string());
                }
                for item in items {
                    leaf_paths(&format!("{prefix}[]"), item, out);
                }
            }
            _ => out.push(prefix.to_string()),
        }
    }

    #[test]
    fn the_reference_documents_every_field() {
        use crate::stack::model::*;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let doc = std::fs::read_to_string(root.join("docs/stack-reference.md")).unwrap();
        let mut def = crate::stack::load(&root.join("stacks/example.toml")).unwrap();
        // Fill every optional field so it shows up in the serialized form.
        def.dns.hosted_zone_id = Some("Z1".into());
        def.dns.origin_name = Some("o.example.com".into());
        def.dns.failover_name = Some("f.example.com".into());
        def.dns
            .certificates
            .insert("us-east-1".into(), "arn".into());
        def.regions[0].capacity = Some(def.compute.capacity);
        def.rollout.waves = Some(vec![vec!["us-east-1".into()]]);
        def.ami.kms_key_id = Some("k".into());
        def.tables[0].read_capacity = Some(1);
        def.tables[0].write_capacity = Some(1);
        def.edge.certificate_arn = Some("arn".into());
        def.availability.components.insert("alb".into(), 99.99);
        def.availability.downtime_cost_per_hour = Some(1.0);
        def.cost = CostUsage {
            requests_per_month: Some(1.0),
            gb_out_per_month: Some(1.0),
            gb_stored: Some(1.0),
            gb_written_per_month: Some(1.0),
            writes_per_month: Some(1.0),
            reads_per_month: Some(1.0),
            table_gb_stored: Some(1.0),
            nat_gb_per_month: Some(1.0),
            queue_messages_per_month: Some(1.0),
            dns_queries_per_month: Some(1.0),
            instance_hour_usd: Some(1.0),
        };
        def.policy.advisory.push(AdvisoryRule {
            rule: "r".into(),
            reason: "x".into(),
        });
        let value = toml::Value::try_from(&def).unwrap();
        let mut paths = Vec::new();
        leaf_paths("", &value, &mut paths);
        let missing: Vec<&String> = paths
            .iter()
            .filter(|p| !doc.contains(&format!("`{p}`")))
            .collect();
        assert!(paths.len() > 60, "{paths:?}");
        assert!(
            missing.is_empty(),
            "docs/stack-reference.md lacks {missing:?}"
        );
    }
}
