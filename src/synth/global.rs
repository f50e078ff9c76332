//! The global template, deployed in us-east-1: a CloudFront distribution whose
//! origin is the latency-routed origin name, and the public DNS name as an alias
//! A record to the distribution.
//!
//! Caching is for an API: only GET and HEAD are cached, every method is forwarded,
//! the default TTL is 0 (the origin's Cache-Control decides), and the query string,
//! cookies and the headers an API needs (not Host, so that CloudFront verifies
//! the origin's certificate against the origin name) reach the origin.

use super::certificates;
use super::context::fqdn;
use super::dns::zone_id;
use super::lit::{int, opt, s, some, yes};
use super::origin_access;
use super::tags;
use crate::cfn::gen::{cloudfront, route53};
use crate::cfn::{Template, Value};
use crate::stack::{StackDef, GLOBAL_REGION};

pub use cloudfront::distribution::DistributionConfigPriceClass as PriceClass;

/// The CloudFront price class a definition names (`edge.price_class`).
pub fn price_class(name: &str) -> Option<PriceClass> {
    match name {
        "PriceClass_100" => Some(PriceClass::PriceClass100),
        "PriceClass_200" => Some(PriceClass::PriceClass200),
        "PriceClass_All" => Some(PriceClass::PriceClassAll),
        _ => None,
    }
}

/// The hosted zone id of every CloudFront distribution, for alias records.
pub const CLOUDFRONT_HOSTED_ZONE_ID: &str = "Z2FDTNDATAQYW2";
/// The origin's id inside the distribution.
const ORIGIN_ID: &str = "regions";
/// Request headers forwarded to the origin (and so part of the cache key).
const FORWARDED_HEADERS: [&str; 5] = [
    "Accept",
    "Accept-Language",
    "Authorization",
    "Content-Type",
    "Origin",
];
/// The longest a response may be cached, even if the origin asks for more.
const MAX_TTL_SECONDS: f64 = 86_400.0;

pub fn template(def: &StackDef, price_class: PriceClass) -> Template {
    use cloudfront::distribution as cf;
    let mut t = Template::new(format!(
        "strata: {} global edge (CloudFront in front of {})",
        def.stack_name(),
        def.dns.origin_name()
    ));
    let https_origin = def.dns.https();

    let mut custom = cf::CustomOriginConfig::new(s(if https_origin {
        "https-only"
    } else {
        "http-only"
    }));
    custom.http_port = Some(int(80));
    custom.https_port = Some(int(443));
    custom.origin_ssl_protocols = Some(vec![s("TLSv1.2")]);
    custom.origin_read_timeout = Some(int(30));
    custom.origin_keepalive_timeout = Some(int(5));
    let mut origin = cf::Origin::new(s(def.dns.origin_name()), s(ORIGIN_ID));
    origin.custom_origin_config = Some(custom);
    // The load balancers forward only requests carrying the origin secret; the
    // template holds the reference, CloudFormation resolves the us-east-1 replica.
    origin.origin_custom_headers = Some(vec![cf::OriginCustomHeader::new(
        s(origin_access::secret_reference(def)),
        s(origin_access::ORIGIN_VERIFY_HEADER),
    )]);

    let mut forwarded = cf::ForwardedValues::new(yes(true));
    forwarded.headers = Some(FORWARDED_HEADERS.iter().map(|h| s(*h)).collect());
    forwarded.cookies = Some(cf::Cookies::new(s("all")));
    let mut behavior = cf::DefaultCacheBehavior::new(
        s(ORIGIN_ID),
        cf::DefaultCacheBehaviorViewerProtocolPolicy::RedirectToHttps,
    );
    behavior.allowed_methods = Some(
        ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
            .into_iter()
            .map(s)
            .collect(),
    );
    behavior.cached_methods = Some(vec![s("GET"), s("HEAD")]);
    behavior.forwarded_values = Some(forwarded);
    behavior.min_ttl = Some(Value::Lit(0.0));
    behavior.default_ttl = Some(Value::Lit(0.0));
    behavior.max_ttl = Some(Value::Lit(MAX_TTL_SECONDS));
    behavior.compress = Some(yes(true));

    // The public name is an alternate domain name of the distribution, which
    // CloudFront accepts only with a certificate covering it (even for HTTP
    // viewers), so the distribution always has one, whatever `dns.plain_http` says.
    let mut viewer = cf::ViewerCertificate::default();
    viewer.acm_certificate_arn = Some(certificates::edge(&mut t, def));
    viewer.ssl_support_method = opt(cf::ViewerCertificateSslSupportMethod::SniOnly);
    viewer.minimum_protocol_version = opt(cf::ViewerCertificateMinimumProtocolVersion::TlSv122021);

    let mut config = cf::DistributionConfig::new(yes(true), behavior);
    config.comment = some(format!("{} edge", def.stack_name()));
    config.origins = Some(vec![origin]);
    config.viewer_certificate = Some(viewer);
    config.price_class = opt(price_class);
    config.http_version = opt(cf::DistributionConfigHttpVersion::Http2);
    config.ipv6_enabled = Some(yes(false));
    config.aliases = Some(vec![s(def.dns.domain.as_str())]);
    let mut distribution = cloudfront::Distribution::new(config);
    distribution.tags = Some(tags::of(def, GLOBAL_REGION, &[]));
    let distribution = t.add("Distribution", distribution);

    let mut target = route53::record_set::AliasTarget::new(
        s(CLOUDFRONT_HOSTED_ZONE_ID),
        distribution.domain_name(),
    );
    target.evaluate_target_health = Some(yes(false));
    let mut record = route53::RecordSet::new(s("A"), s(fqdn(&def.dns.domain)));
    record.hosted_zone_id = Some(zone_id(&mut t, def));
    record.alias_target = Some(target);
    t.add("PublicAliasRecord", record);

    t.output(
        "DistributionId",
        "The CloudFront distribution's id",
        &distribution.ref_::<String>(),
    );
    t.output(
        "DistributionDomainName",
        "The CloudFront distribution's domain name",
        &distribution.domain_name(),
    );
    t
}
