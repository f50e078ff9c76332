//! Fixes for known defects of the vendored registry schemas, applied in memory before
//! generation (the vendored files stay byte-for-byte as published).
//!
//! Each patch names its type, says why it exists, and fails loudly when the defect it
//! fixes is no longer there, so a schema update cannot leave a stale patch behind.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value as Json};

/// Key under which patches list extra `Fn::GetAtt` attributes (JSON pointers, like
/// `readOnlyProperties`) that CloudFormation supports but the schema does not declare.
pub const EXTRA_ATTRIBUTES: &str = "x-strata-extra-attributes";

/// One schema fix.
pub struct Patch {
    pub type_name: &'static str,
    pub id: &'static str,
    /// Why the schema is wrong, in one sentence.
    pub reason: &'static str,
    pub fix: Fix,
}

/// What a patch does.
pub enum Fix {
    /// Rewrite part of the schema.
    Edit(fn(&mut Json) -> Result<()>),
    /// Declare extra `Fn::GetAtt` attributes (JSON pointers to existing properties).
    ExtraAttributes(&'static [&'static str]),
    /// Add properties (JSON pointers to existing properties) to
    /// `createOnlyProperties`: AWS replaces the resource when one changes, as the
    /// type's page in the CloudFormation Template Reference says ("Update requires:
    /// Replacement"), but the schema does not list it, so the plan would not say
    /// REPLACES.
    CreateOnly(&'static [&'static str]),
}

/// CloudFormation answers `Fn::GetAtt` for every property of a few types (the
/// CloudFormation User Guide documents them, and cfn-lint's `_all_property_types`
/// encodes it), but their schemas declare only the read-only ones. We add the
/// documented attributes strata needs, nothing more.
const GETATT_REASON: &str =
    "documented Fn::GetAtt attributes are writable properties, so readOnlyProperties omits them";

/// Why the DynamoDB patches exist: the CloudFormation Template Reference pages
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-globaltable.html
/// and .../aws-resource-dynamodb-table.html give `KeySchema` and
/// `LocalSecondaryIndexes` "Update requires: Replacement" (a table's primary key
/// and its local indexes are fixed at creation: DynamoDB's UpdateTable cannot
/// change them), while the registry schemas list only `TableName`.
const DYNAMODB_CREATE_ONLY_REASON: &str =
    "KeySchema and LocalSecondaryIndexes require replacement (Template Reference) but are not in createOnlyProperties";

/// Every patch, in the order they are applied.
pub const PATCHES: &[Patch] = &[
    Patch {
        type_name: "AWS::DynamoDB::GlobalTable",
        id: "dynamodb-globaltable-create-only",
        reason: DYNAMODB_CREATE_ONLY_REASON,
        fix: Fix::CreateOnly(&["/properties/KeySchema", "/properties/LocalSecondaryIndexes"]),
    },
    Patch {
        type_name: "AWS::DynamoDB::Table",
        id: "dynamodb-table-create-only",
        reason: DYNAMODB_CREATE_ONLY_REASON,
        fix: Fix::CreateOnly(&["/properties/KeySchema", "/properties/LocalSecondaryIndexes"]),
    },
    Patch {
        type_name: "AWS::DynamoDB::Table",
        id: "dynamodb-table-key-schema",
        // The schema (as shipped by cfn-lint) types `KeySchema` as `oneOf: [KeySchema
        // list, JSON string/object]`, the second branch being a legacy allowance. A
        // table's primary key is a list of key elements; an untyped
        // `serde_json::Value` would let any typo through.
        reason: "KeySchema is a oneOf of the key list and a free-form JSON blob",
        fix: Fix::Edit(dynamodb_table_key_schema),
    },
    Patch {
        type_name: "AWS::EC2::VPC",
        id: "ec2-vpc-getatt",
        reason: GETATT_REASON,
        fix: Fix::ExtraAttributes(&["/properties/CidrBlock"]),
    },
    Patch {
        type_name: "AWS::EC2::Subnet",
        id: "ec2-subnet-getatt",
        reason: GETATT_REASON,
        fix: Fix::ExtraAttributes(&[
            "/properties/AvailabilityZone",
            "/properties/AvailabilityZoneId",
            "/properties/CidrBlock",
            "/properties/OutpostArn",
            "/properties/VpcId",
        ]),
    },
    Patch {
        type_name: "AWS::EC2::SecurityGroup",
        id: "ec2-securitygroup-getatt",
        reason: GETATT_REASON,
        fix: Fix::ExtraAttributes(&["/properties/VpcId"]),
    },
    Patch {
        type_name: "AWS::ElasticLoadBalancingV2::LoadBalancer",
        id: "elbv2-loadbalancer-getatt",
        reason: GETATT_REASON,
        fix: Fix::ExtraAttributes(&["/properties/SecurityGroups"]),
    },
    Patch {
        type_name: "AWS::SQS::Queue",
        id: "sqs-queue-getatt",
        reason: GETATT_REASON,
        fix: Fix::ExtraAttributes(&["/properties/QueueName"]),
    },
];

fn dynamodb_table_key_schema(s: &mut Json) -> Result<()> {
    let prop = pointer_mut(s, "/properties/KeySchema")?;
    let one_of = prop
        .get("oneOf")
        .and_then(Json::as_array)
        .context("KeySchema has no oneOf any more")?;
    if !one_of
        .iter()
        .any(|b| b.get("$ref") == Some(&json!("#/definitions/KeySchema")))
    {
        bail!("KeySchema's oneOf no longer offers #/definitions/KeySchema");
    }
    let mut fixed = json!({ "$ref": "#/definitions/KeySchema" });
    if let Some(d) = prop.get("description") {
        fixed["description"] = d.clone();
    }
    *prop = fixed;
    Ok(())
}

fn add_extra_attributes(s: &mut Json, pointers: &[&str]) -> Result<()> {
    let read_only: Vec<String> = s
        .get("readOnlyProperties")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    for p in pointers {
        if read_only.iter().any(|r| r == p) {
            bail!("{p} is now in readOnlyProperties: drop it from the patch");
        }
        pointer_mut(s, p)?;
    }
    let list = s
        .as_object_mut()
        .context("schema is not an object")?
        .entry(EXTRA_ATTRIBUTES)
        .or_insert_with(|| json!([]));
    let list = list
        .as_array_mut()
        .context("extra attributes is not a list")?;
    list.extend(pointers.iter().map(|p| json!(p)));
    Ok(())
}

fn add_create_only(s: &mut Json, pointers: &[&str]) -> Result<()> {
    for p in pointers {
        pointer_mut(s, p)?;
    }
    let list = s
        .as_object_mut()
        .context("schema is not an object")?
        .entry("createOnlyProperties")
        .or_insert_with(|| json!([]));
    let list = list
        .as_array_mut()
        .context("createOnlyProperties is not a list")?;
    for p in pointers {
        if list.iter().any(|v| v == p) {
            bail!("{p} is now in createOnlyProperties: drop it from the patch");
        }
        list.push(json!(p));
    }
    Ok(())
}

fn pointer_mut<'a>(s: &'a mut Json, pointer: &str) -> Result<&'a mut Json> {
    s.pointer_mut(pointer)
        .with_context(|| format!("schema has no {pointer}"))
}

/// Apply every patch for `type_name`; returns the ids applied.
pub fn apply(type_name: &str, schema: &mut Json) -> Result<Vec<&'static str>> {
    let mut applied = Vec::new();
    for p in PATCHES.iter().filter(|p| p.type_name == type_name) {
        match p.fix {
            Fix::Edit(edit) => edit(schema),
            Fix::ExtraAttributes(pointers) => add_extra_attributes(schema, pointers),
            Fix::CreateOnly(pointers) => add_create_only(schema, pointers),
        }
        .with_context(|| {
            format!(
                "schema patch {} ({}) no longer applies to {type_name}",
                p.id, p.reason
            )
        })?;
        applied.push(p.id);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vendored(file: &str) -> Json {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../schemas/registry")
            .join(file);
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    #[test]
    fn dynamodb_key_schema_becomes_the_typed_list() {
        let mut s = vendored("aws-dynamodb-table.json");
        assert!(s["properties"]["KeySchema"].get("oneOf").is_some());
        let applied = apply("AWS::DynamoDB::Table", &mut s).unwrap();
        assert_eq!(
            applied,
            ["dynamodb-table-create-only", "dynamodb-table-key-schema"]
        );
        let ks = &s["properties"]["KeySchema"];
        assert_eq!(ks["$ref"], "#/definitions/KeySchema");
        assert!(ks.get("oneOf").is_none());
        assert!(ks["description"].as_str().unwrap().contains("primary key"));
    }

    #[test]
    fn a_patch_whose_defect_is_gone_fails_loudly() {
        let mut s = vendored("aws-dynamodb-table.json");
        s["properties"]["KeySchema"] = json!({ "$ref": "#/definitions/KeySchema" });
        let err = apply("AWS::DynamoDB::Table", &mut s).unwrap_err();
        assert!(format!("{err:#}").contains("no longer applies"), "{err:#}");
    }

    #[test]
    fn documented_getatt_attributes_are_added() {
        let mut s = vendored("aws-ec2-subnet.json");
        apply("AWS::EC2::Subnet", &mut s).unwrap();
        let extra = s[EXTRA_ATTRIBUTES].as_array().unwrap();
        assert!(extra.contains(&json!("/properties/AvailabilityZone")));
        assert!(extra.contains(&json!("/properties/VpcId")));
        let mut vpc = vendored("aws-ec2-vpc.json");
        apply("AWS::EC2::VPC", &mut vpc).unwrap();
        assert_eq!(vpc[EXTRA_ATTRIBUTES], json!(["/properties/CidrBlock"]));
    }

    #[test]
    fn an_extra_attribute_that_became_read_only_fails() {
        let mut s = vendored("aws-ec2-vpc.json");
        s["readOnlyProperties"]
            .as_array_mut()
            .unwrap()
            .push(json!("/properties/CidrBlock"));
        assert!(apply("AWS::EC2::VPC", &mut s).is_err());
    }

    #[test]
    fn a_tables_key_schema_and_local_indexes_become_create_only() {
        for (file, ty) in [
            (
                "aws-dynamodb-globaltable.json",
                "AWS::DynamoDB::GlobalTable",
            ),
            ("aws-dynamodb-table.json", "AWS::DynamoDB::Table"),
        ] {
            let mut s = vendored(file);
            apply(ty, &mut s).unwrap();
            let create_only = s["createOnlyProperties"].as_array().unwrap();
            assert!(
                create_only.contains(&json!("/properties/TableName")),
                "{ty}"
            );
            assert!(
                create_only.contains(&json!("/properties/KeySchema")),
                "{ty}"
            );
            assert!(
                create_only.contains(&json!("/properties/LocalSecondaryIndexes")),
                "{ty}"
            );
            // Once the schema lists them itself, the patch fails loudly.
            assert!(apply(ty, &mut s).is_err(), "{ty}");
        }
    }

    #[test]
    fn types_without_patches_are_untouched() {
        let mut s = vendored("aws-ec2-vpc.json");
        let before = vendored("aws-ec2-route.json");
        let mut route = before.clone();
        assert!(apply("AWS::EC2::Route", &mut route).unwrap().is_empty());
        assert_eq!(route, before);
        apply("AWS::EC2::VPC", &mut s).unwrap();
    }
}
