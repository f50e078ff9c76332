//! Rust names for schema names: the naming contract of the generated code.
//!
//! Types are heck UpperCamelCase, fields and modules heck snake_case, Rust keywords
//! get a trailing underscore; enum variants are made valid identifiers.

use heck::{ToSnakeCase, ToUpperCamelCase};

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "try", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield",
];

/// A type name: `VPCGatewayAttachment` -> `VpcGatewayAttachment`.
pub fn type_name(schema_name: &str) -> String {
    schema_name.to_upper_camel_case()
}

/// A field, module or method name: `Type` -> `type_`, `DNSName` -> `dns_name`.
pub fn field_name(schema_name: &str) -> String {
    let s = schema_name.to_snake_case();
    if KEYWORDS.contains(&s.as_str()) {
        format!("{s}_")
    } else {
        s
    }
}

/// The accessor name of a `Fn::GetAtt` attribute: `Endpoint.Address` -> `endpoint_address`.
pub fn attribute_method(attribute: &str) -> String {
    let joined = attribute
        .split('.')
        .map(|s| s.to_snake_case())
        .collect::<Vec<_>>()
        .join("_");
    field_name(&joined)
}

/// An enum variant for a string value: `dualstack-without-public-ipv4` ->
/// `DualstackWithoutPublicIpv4`, `1` -> `V1`, `*` -> `Value3` (its index).
pub fn variant_name(value: &str, index: usize) -> String {
    let camel: String = value
        .to_upper_camel_case()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    if camel.is_empty() {
        format!("Value{index}")
    } else if camel.starts_with(|c: char| c.is_ascii_digit()) {
        format!("V{camel}")
    } else if camel == "Self" {
        "Self_".to_string()
    } else {
        camel
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_contract() {
        assert_eq!(type_name("VPC"), "Vpc");
        assert_eq!(type_name("EIP"), "Eip");
        assert_eq!(type_name("VPCGatewayAttachment"), "VpcGatewayAttachment");
        assert_eq!(field_name("VPCGatewayAttachment"), "vpc_gateway_attachment");
        assert_eq!(field_name("NatGateway"), "nat_gateway");
        assert_eq!(field_name("Type"), "type_");
        assert_eq!(field_name("DNSName"), "dns_name");
        assert_eq!(field_name("Ipv6CidrBlock"), "ipv6_cidr_block");
        assert_eq!(attribute_method("Endpoint.Address"), "endpoint_address");
        assert_eq!(
            attribute_method("CanonicalHostedZoneID"),
            "canonical_hosted_zone_id"
        );
    }

    #[test]
    fn variants_are_identifiers() {
        assert_eq!(
            variant_name("dualstack-without-public-ipv4", 0),
            "DualstackWithoutPublicIpv4"
        );
        assert_eq!(variant_name("HTTP", 0), "Http");
        assert_eq!(variant_name("1", 0), "V1");
        assert_eq!(variant_name("*", 3), "Value3");
        assert_eq!(variant_name("self", 0), "Self_");
    }
}
