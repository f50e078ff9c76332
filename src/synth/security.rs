//! Security groups of least privilege: the load balancer's listener port (443, or
//! 80 when `dns.plain_http`) is reachable from CloudFront's origin-facing servers
//! and Route 53's health checkers only when CloudFront is in front
//! (`origin_access`), from the internet otherwise; instances are reachable only
//! from the load balancer's group on the app port.

use super::context::RegionCtx;
use super::lit::{int, s, some};
use super::network::Network;
use super::origin_access::{self, behind_cloudfront};
use super::tags;
use crate::cfn::gen::ec2;
use crate::cfn::gen::ec2::security_group::{Egress, Ingress};
use crate::cfn::{Handle, Template};

pub struct SecurityGroups {
    pub alb: Handle<ec2::SecurityGroup>,
    /// Behind CloudFront: the group admitting Route 53's health checkers.
    pub health_checkers: Option<Handle<ec2::SecurityGroup>>,
    pub instances: Handle<ec2::SecurityGroup>,
}

/// The one port the load balancer listens on: 443, or 80 when the stack opts out
/// of HTTPS (`dns.plain_http`). Nothing listens on 80 to redirect: behind
/// CloudFront the viewers' redirect is CloudFront's, and a public load balancer
/// admits no plain HTTP from the internet.
pub fn listener_port(ctx: &RegionCtx) -> u16 {
    if ctx.https() {
        443
    } else {
        80
    }
}

pub fn add(t: &mut Template, ctx: &RegionCtx, net: &Network) -> SecurityGroups {
    let stack = ctx.def.stack_name();
    let app_port = ctx.def.compute.app_port;

    // Instances: all ingress is the separate rule below (from the ALB group only);
    // egress is HTTPS out through the AZ's NAT (AWS APIs, package mirrors).
    let mut instances = ec2::SecurityGroup::new(s(format!(
        "{stack} instances: app port {app_port} from the load balancer only"
    )));
    instances.vpc_id = Some(net.vpc.ref_());
    instances.security_group_egress =
        Some(vec![tcp_egress_cidr(443, "0.0.0.0/0", "HTTPS to AWS APIs")]);
    instances.tags = Some(tags::named(ctx, &format!("{stack}-instances")));
    let instances = t.add("InstanceSecurityGroup", instances);

    let port = listener_port(ctx);
    let mut alb = ec2::SecurityGroup::new(s(if behind_cloudfront(ctx) {
        format!("{stack} load balancer: {port} from the CloudFront origin-facing servers only")
    } else {
        format!("{stack} load balancer: {port} from the internet")
    }));
    alb.vpc_id = Some(net.vpc.ref_());
    let mut ingress = Ingress::new(s("tcp"));
    ingress.from_port = Some(int(port));
    ingress.to_port = Some(int(port));
    if behind_cloudfront(ctx) {
        ingress.source_prefix_list_id = Some(origin_access::prefix_list_id(
            t,
            origin_access::CLOUDFRONT_PREFIX_LIST_PARAMETER,
            origin_access::CLOUDFRONT_PREFIX_LIST,
        ));
        ingress.description =
            some("from the CloudFront origin-facing servers (managed prefix list)");
    } else {
        ingress.cidr_ip = some("0.0.0.0/0");
        ingress.description = some(if port == 443 {
            "HTTPS from the internet"
        } else {
            "HTTP from the internet"
        });
    }
    alb.security_group_ingress = Some(vec![ingress]);
    let mut to_instances = Egress::new(s("tcp"));
    to_instances.from_port = Some(int(app_port));
    to_instances.to_port = Some(int(app_port));
    to_instances.destination_security_group_id = Some(instances.group_id());
    to_instances.description = some("to the instances on the app port");
    alb.security_group_egress = Some(vec![to_instances.clone()]);
    alb.tags = Some(tags::named(ctx, &format!("{stack}-alb")));
    let alb = t.add("AlbSecurityGroup", alb);
    let health_checkers =
        behind_cloudfront(ctx).then(|| health_checker_group(t, ctx, net, port, to_instances));

    let mut from_alb = ec2::SecurityGroupIngress::new(s("tcp"));
    from_alb.group_id = Some(instances.group_id());
    from_alb.source_security_group_id = Some(alb.group_id());
    from_alb.from_port = Some(int(app_port));
    from_alb.to_port = Some(int(app_port));
    from_alb.description = some("app port from the load balancer");
    t.add("InstanceIngressFromAlb", from_alb);

    SecurityGroups {
        alb,
        health_checkers,
        instances,
    }
}

/// Behind CloudFront, the second group of the load balancer: the listener port
/// from Route 53's health checkers (its own group: with CloudFront's list, whose
/// weight is 55, the two would pass the 60 inbound rules a group may hold).
fn health_checker_group(
    t: &mut Template,
    ctx: &RegionCtx,
    net: &Network,
    port: u16,
    to_instances: Egress,
) -> Handle<ec2::SecurityGroup> {
    let stack = ctx.def.stack_name();
    let mut g = ec2::SecurityGroup::new(s(format!(
        "{stack} load balancer: {port} from the Route 53 health checkers only"
    )));
    g.vpc_id = Some(net.vpc.ref_());
    let mut ingress = Ingress::new(s("tcp"));
    ingress.from_port = Some(int(port));
    ingress.to_port = Some(int(port));
    ingress.source_prefix_list_id = Some(origin_access::prefix_list_id(
        t,
        origin_access::HEALTH_CHECK_PREFIX_LIST_PARAMETER,
        &origin_access::health_check_prefix_list(&ctx.region.name),
    ));
    ingress.description = some("from the Route 53 health checkers (managed prefix list)");
    g.security_group_ingress = Some(vec![ingress]);
    // The same egress as the first group (the instances' app port), instead of the
    // default allow-all.
    g.security_group_egress = Some(vec![to_instances]);
    g.tags = Some(tags::named(ctx, &format!("{stack}-alb-health-checkers")));
    t.add("AlbHealthCheckSecurityGroup", g)
}

fn tcp_egress_cidr(port: u16, cidr: &str, description: &str) -> Egress {
    let mut e = Egress::new(s("tcp"));
    e.from_port = Some(int(port));
    e.to_port = Some(int(port));
    e.cidr_ip = some(cidr);
    e.description = some(description);
    e
}
