//! The internet-facing Application Load Balancer across the public subnets, its
//! target group (health-checked on the definition's path, cross-zone), and its
//! listeners: HTTPS on 443 with a current TLS policy and port 80 only redirecting
//! to it (the default), or plain HTTP on 80 when the stack opts out
//! (`dns.plain_http`).

use super::certificates;
use super::context::RegionCtx;
use super::lit::{int, opt, some, yes};
use super::network::Network;
use super::security::SecurityGroups;
use super::tags;
use crate::cfn::gen::elasticloadbalancingv2 as elb;
use crate::cfn::{Handle, Options, Template};
use elb::listener::{
    Action, ActionType, Certificate, ListenerProtocol, RedirectConfig, RedirectConfigStatusCode,
};
use elb::load_balancer::{LoadBalancerIpAddressType, LoadBalancerScheme, LoadBalancerType};
use elb::target_group::{
    TargetGroupHealthCheckProtocol, TargetGroupProtocol, TargetGroupTargetType,
};

/// TLS policy of the HTTPS listener: TLS 1.3 and 1.2 only, forward secrecy
/// (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html>:
/// the recommended policy).
pub const SSL_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";

pub struct LoadBalancer {
    pub alb: Handle<elb::LoadBalancer>,
    pub target_group: Handle<elb::TargetGroup>,
}

pub fn add(t: &mut Template, ctx: &RegionCtx, net: &Network, sgs: &SecurityGroups) -> LoadBalancer {
    let compute = &ctx.def.compute;

    let mut alb = elb::LoadBalancer::default();
    alb.type_ = opt(LoadBalancerType::Application);
    alb.scheme = opt(LoadBalancerScheme::InternetFacing);
    alb.ip_address_type = opt(LoadBalancerIpAddressType::Ipv4);
    alb.subnets = Some(net.public_subnets.iter().map(|h| h.ref_()).collect());
    alb.security_groups = Some(vec![sgs.alb.group_id()]);
    alb.load_balancer_attributes = Some(vec![
        lb_attribute("routing.http.drop_invalid_header_fields.enabled", "true"),
        lb_attribute("idle_timeout.timeout_seconds", "60"),
    ]);
    alb.tags = Some(tags::standard(ctx));
    let alb = t.add_with(
        "Alb",
        alb,
        Options::default().depends_on(&net.gateway_attachment),
    );

    let mut tg = elb::TargetGroup::default();
    tg.vpc_id = Some(net.vpc.ref_());
    tg.port = Some(int(compute.app_port));
    tg.protocol = opt(TargetGroupProtocol::Http);
    tg.target_type = opt(TargetGroupTargetType::Instance);
    tg.health_check_enabled = Some(yes(true));
    tg.health_check_protocol = opt(TargetGroupHealthCheckProtocol::Http);
    tg.health_check_path = some(compute.health_check_path.as_str());
    tg.health_check_interval_seconds = Some(int(15));
    tg.health_check_timeout_seconds = Some(int(5));
    tg.healthy_threshold_count = Some(int(2));
    tg.unhealthy_threshold_count = Some(int(3));
    let mut matcher = elb::target_group::Matcher::default();
    matcher.http_code = some("200");
    tg.matcher = Some(matcher);
    tg.target_group_attributes = Some(vec![
        tg_attribute("load_balancing.cross_zone.enabled", "true"),
        tg_attribute("deregistration_delay.timeout_seconds", "30"),
    ]);
    tg.tags = Some(tags::standard(ctx));
    let target_group = t.add("TargetGroup", tg);

    let forward = {
        let mut a = Action::new(ActionType::Forward);
        a.target_group_arn = Some(target_group.ref_());
        a
    };
    if ctx.https() {
        let mut c = Certificate::default();
        c.certificate_arn = Some(certificates::regional(t, ctx));
        let mut https = elb::Listener::new(alb.ref_(), vec![forward]);
        https.port = Some(int(443));
        https.protocol = opt(ListenerProtocol::Https);
        https.ssl_policy = some(SSL_POLICY);
        https.certificates = Some(vec![c]);
        https.tags = Some(tags::standard(ctx));
        t.add("HttpsListener", https);

        let mut redirect = RedirectConfig::new(RedirectConfigStatusCode::Http301);
        redirect.protocol = some("HTTPS");
        redirect.port = some("443");
        let mut a = Action::new(ActionType::Redirect);
        a.redirect_config = Some(redirect);
        let mut http = elb::Listener::new(alb.ref_(), vec![a]);
        http.port = Some(int(80));
        http.protocol = opt(ListenerProtocol::Http);
        http.tags = Some(tags::standard(ctx));
        t.add("HttpListener", http);
    } else {
        let mut http = elb::Listener::new(alb.ref_(), vec![forward]);
        http.port = Some(int(80));
        http.protocol = opt(ListenerProtocol::Http);
        http.tags = Some(tags::standard(ctx));
        t.add("HttpListener", http);
    }
    LoadBalancer { alb, target_group }
}

fn lb_attribute(key: &str, value: &str) -> elb::load_balancer::LoadBalancerAttribute {
    let mut a = elb::load_balancer::LoadBalancerAttribute::default();
    a.key = some(key);
    a.value = some(value);
    a
}

fn tg_attribute(key: &str, value: &str) -> elb::target_group::TargetGroupAttribute {
    let mut a = elb::target_group::TargetGroupAttribute::default();
    a.key = some(key);
    a.value = some(value);
    a
}
