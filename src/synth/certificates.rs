//! The TLS certificates HTTPS needs: the user's own (`dns.certificates`, one per
//! region; `edge.certificate_arn` in us-east-1) or ACM certificates strata
//! requests, DNS-validated in the stack's hosted zone — CloudFormation writes the
//! validation records into the zone named by `HostedZoneId` and the certificate
//! is created once ACM has issued it
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-certificatemanager-certificate.html>).
//! A regional certificate covers the names a region's load balancer answers to;
//! CloudFront's is in us-east-1, the only region CloudFront takes certificates from
//! (<https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-and-https-requirements.html>).

use super::context::{latency_name, RegionCtx};
use super::dns::zone_id;
use super::lit::{opt, s, some};
use super::tags;
use crate::cfn::gen::certificatemanager as acm;
use crate::cfn::{Template, Value};
use crate::stack::{StackDef, GLOBAL_REGION};
use acm::certificate::{
    CertificateCertificateTransparencyLoggingPreference as CtLogging, DomainValidationOption,
};

/// The names a region's load balancer serves over HTTPS: the latency name
/// (CloudFront's origin, or the public name without CloudFront) and, when the
/// stack uses failover routing, the failover name.
pub fn regional_names(def: &StackDef) -> Vec<String> {
    let mut names = vec![latency_name(def)];
    if def.regions.iter().any(|r| r.failover.is_some()) {
        names.push(def.dns.failover_name());
    }
    names
}

/// The certificate of this region's HTTPS listener: the user's, or one strata
/// requests (`RegionalCertificate`).
pub fn regional(t: &mut Template, ctx: &RegionCtx) -> Value<String> {
    match ctx.def.dns.certificate_for(&ctx.region.name) {
        Some(arn) => s(arn),
        None => {
            let cert = requested(t, ctx.def, &regional_names(ctx.def), tags::standard(ctx));
            t.add("RegionalCertificate", cert).ref_()
        }
    }
}

/// CloudFront's certificate for the public name (in the global stack, us-east-1):
/// the user's, or one strata requests (`EdgeCertificate`).
pub fn edge(t: &mut Template, def: &StackDef) -> Value<String> {
    match &def.edge.certificate_arn {
        Some(arn) => s(arn.as_str()),
        None => {
            let names = vec![def.dns.domain.clone()];
            let cert = requested(t, def, &names, tags::of(def, GLOBAL_REGION, &[]));
            t.add("EdgeCertificate", cert).ref_()
        }
    }
}

/// An ACM certificate for `names` (the first is the subject), each validated by
/// DNS in the stack's zone, RSA 2048, logged to Certificate Transparency.
fn requested(
    t: &mut Template,
    def: &StackDef,
    names: &[String],
    tags: Vec<acm::certificate::Tag>,
) -> acm::Certificate {
    let zone = zone_id(t, def);
    let mut cert = acm::Certificate::new(s(names[0].as_str()));
    if names.len() > 1 {
        cert.subject_alternative_names = Some(names[1..].iter().map(|n| s(n.as_str())).collect());
    }
    cert.validation_method = some("DNS");
    cert.key_algorithm = some("RSA_2048");
    cert.certificate_transparency_logging_preference = opt(CtLogging::Enabled);
    cert.domain_validation_options = Some(
        names
            .iter()
            .map(|n| {
                let mut o = DomainValidationOption::default();
                o.domain_name = some(n.as_str());
                o.hosted_zone_id = Some(zone.clone());
                o
            })
            .collect(),
    );
    cert.tags = Some(tags);
    cert
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{synthesize, Phase};

    fn example() -> StackDef {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/example.toml"))
                .unwrap();
        crate::stack::load_str(&text, "example.toml").unwrap()
    }

    fn json(t: &Template) -> serde_json::Value {
        serde_json::to_value(t).unwrap()
    }

    #[test]
    fn a_region_without_its_own_certificate_requests_one_validated_in_the_managed_zone() {
        let def = example();
        let wired = synthesize(&def, Phase::Wired);
        let t = json(&wired.regions[0].template);
        let cert = &t["Resources"]["RegionalCertificate"]["Properties"];
        assert_eq!(cert["DomainName"], "origin.shop.example.com");
        assert_eq!(
            cert["SubjectAlternativeNames"],
            serde_json::json!(["failover.shop.example.com"])
        );
        for option in cert["DomainValidationOptions"].as_array().unwrap() {
            assert_eq!(option["HostedZoneId"]["Ref"], "HostedZoneId");
        }
        assert_eq!(
            t["Parameters"]["HostedZoneId"]["Type"],
            "AWS::Route53::HostedZone::Id"
        );
    }

    #[test]
    fn the_users_certificate_of_a_region_and_an_existing_zone_id_are_used_as_given() {
        let mut def = example();
        def.dns.manage_zone = false;
        def.dns.hosted_zone_id = Some("/hostedzone/Z0123456789ABC".into());
        let arn = "arn:aws:acm:us-west-2:123456789012:certificate/abc";
        def.dns.certificates.insert("us-west-2".into(), arn.into());
        let wired = synthesize(&def, Phase::Wired);
        for r in &wired.regions {
            let t = json(&r.template);
            let listener = &t["Resources"]["HttpsListener"]["Properties"];
            let cert = &t["Resources"]["RegionalCertificate"]["Properties"];
            if r.region == "us-west-2" {
                assert_eq!(listener["Certificates"][0]["CertificateArn"], arn);
                assert!(cert.is_null(), "no certificate requested in us-west-2");
            } else {
                assert_eq!(
                    cert["DomainValidationOptions"][0]["HostedZoneId"],
                    "Z0123456789ABC"
                );
            }
            assert!(t["Parameters"]["HostedZoneId"].is_null());
        }
        let global = json(wired.global.as_ref().unwrap());
        let edge = &global["Resources"]["EdgeCertificate"]["Properties"];
        assert_eq!(edge["DomainName"], "shop.example.com");
    }

    #[test]
    fn plain_http_makes_no_regional_certificate_but_cloudfront_keeps_its_own() {
        let mut def = example();
        def.app.production = false;
        def.dns.plain_http = true;
        let wired = synthesize(&def, Phase::Wired);
        for r in &wired.regions {
            let t = json(&r.template);
            assert!(t["Resources"]["RegionalCertificate"].is_null());
            assert!(t["Resources"]["HttpsListener"].is_null());
            // Behind CloudFront: 403 unless CloudFront's header or the health path.
            let http = &t["Resources"]["HttpListener"]["Properties"];
            assert_eq!(http["Port"], 80);
            assert_eq!(http["DefaultActions"][0]["Type"], "fixed-response");
            assert!(!t["Resources"]["OriginVerifiedRule"].is_null());
        }
        let global = json(wired.global.as_ref().unwrap());
        assert!(!global["Resources"]["EdgeCertificate"].is_null());
    }
}
