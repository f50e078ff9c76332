//! The internet-facing Application Load Balancer across the public subnets, its
//! target group (health-checked on the definition's path, cross-zone), and its one
//! listener: HTTPS on 443 with a current TLS policy (the default), or plain HTTP on
//! 80 when the stack opts out (`dns.plain_http`). Behind CloudFront the listener
//! answers 403 except to CloudFront's verified requests and the health-check path
//! (`origin_access`).

use super::certificates;
use super::context::RegionCtx;
use super::lit::{int, opt, s, some, yes};
use super::network::Network;
use super::origin_access::{self, behind_cloudfront};
use super::security::{listener_port, SecurityGroups};
use super::tags;
use crate::cfn::gen::elasticloadbalancingv2 as elb;
use crate::cfn::{Handle, Options, Template};
use elb::listener::{Action, ActionType, Certificate, FixedResponseConfig, ListenerProtocol};
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
    alb.security_groups = Some(
        std::iter::once(&sgs.alb)
            .chain(sgs.health_checkers.as_ref())
            .map(|g| g.group_id())
            .collect(),
    );
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

    let forward = || {
        let mut a = Action::new(ActionType::Forward);
        a.target_group_arn = Some(target_group.ref_());
        a
    };
    // Behind CloudFront the listener answers 403 unless a rule below forwards.
    let default = if behind_cloudfront(ctx) {
        let mut a = Action::new(ActionType::FixedResponse);
        let mut body = FixedResponseConfig::new(s("403"));
        body.content_type = some("text/plain");
        body.message_body = some("Forbidden");
        a.fixed_response_config = Some(body);
        a
    } else {
        forward()
    };
    let mut listener = elb::Listener::new(alb.ref_(), vec![default]);
    listener.port = Some(int(listener_port(ctx)));
    listener.tags = Some(tags::standard(ctx));
    let listener = if ctx.https() {
        let mut c = Certificate::default();
        c.certificate_arn = Some(certificates::regional(t, ctx));
        listener.protocol = opt(ListenerProtocol::Https);
        listener.ssl_policy = some(SSL_POLICY);
        listener.certificates = Some(vec![c]);
        t.add("HttpsListener", listener)
    } else {
        listener.protocol = opt(ListenerProtocol::Http);
        t.add("HttpListener", listener)
    };
    if behind_cloudfront(ctx) {
        add_origin_rules(t, ctx, &listener, &target_group);
    }
    LoadBalancer { alb, target_group }
}

/// Behind CloudFront, the listener's rules: the health-check path for Route 53's
/// checkers (which cannot send a header; the security groups admit only them and
/// CloudFront), and, once wired, every request carrying CloudFront's
/// `X-Origin-Verify` secret (`origin_access`). The header rule is in the wired
/// phase only: a region's first build may come before the home region has
/// replicated the secret to it, and nothing routes to a region before its wiring.
fn add_origin_rules(
    t: &mut Template,
    ctx: &RegionCtx,
    listener: &Handle<elb::Listener>,
    target_group: &Handle<elb::TargetGroup>,
) {
    use elb::listener_rule as rule;
    let forward = || {
        let mut a = rule::Action::new(rule::ActionType::Forward);
        a.target_group_arn = Some(target_group.ref_());
        a
    };
    if ctx.wired() {
        let mut header = rule::HttpHeaderConfig::default();
        header.http_header_name = some(origin_access::ORIGIN_VERIFY_HEADER);
        header.values = Some(vec![s(origin_access::secret_reference(ctx.def))]);
        let mut condition = rule::RuleCondition::default();
        condition.field = some("http-header");
        condition.http_header_config = Some(header);
        let mut r = elb::ListenerRule::new(vec![forward()], int(1), vec![condition]);
        r.listener_arn = Some(listener.ref_());
        r.tags = Some(tags::standard(ctx));
        t.add("OriginVerifiedRule", r);
    }
    let mut path = rule::PathPatternConfig::default();
    path.values = Some(vec![s(ctx.def.compute.health_check_path.as_str())]);
    let mut condition = rule::RuleCondition::default();
    condition.field = some("path-pattern");
    condition.path_pattern_config = Some(path);
    let mut r = elb::ListenerRule::new(vec![forward()], int(2), vec![condition]);
    r.listener_arn = Some(listener.ref_());
    r.tags = Some(tags::standard(ctx));
    t.add("HealthCheckPathRule", r);
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
