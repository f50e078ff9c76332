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
