//! Security groups of least privilege: the internet reaches the load balancer
//! (443, and 80 only to be redirected, by default; 80 when `dns.plain_http`);
//! instances are reachable only from the load balancer's group on the app port.

use super::context::RegionCtx;
use super::lit::{int, s, some};
use super::network::Network;
use super::tags;
use crate::cfn::gen::ec2;
use crate::cfn::gen::ec2::security_group::{Egress, Ingress};
use crate::cfn::{Handle, Template};

pub struct SecurityGroups {
    pub alb: Handle<ec2::SecurityGroup>,
    pub instances: Handle<ec2::SecurityGroup>,
}

/// The ports the load balancer accepts from the internet.
pub fn alb_ports(ctx: &RegionCtx) -> Vec<u16> {
    if ctx.https() {
        vec![80, 443]
    } else {
        vec![80]
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

    let mut alb = ec2::SecurityGroup::new(s(format!(
        "{stack} load balancer: {} from the internet",
        alb_ports(ctx)
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(" and ")
    )));
    alb.vpc_id = Some(net.vpc.ref_());
    alb.security_group_ingress = Some(
        alb_ports(ctx)
            .into_iter()
            .map(|port| {
                let mut i = Ingress::new(s("tcp"));
                i.from_port = Some(int(port));
                i.to_port = Some(int(port));
                i.cidr_ip = some("0.0.0.0/0");
                i.description = some(if port == 80 && ctx.https() {
                    "HTTP, redirected to HTTPS"
                } else if port == 443 {
                    "HTTPS from the internet"
                } else {
                    "HTTP from the internet"
                });
                i
            })
            .collect(),
    );
    let mut to_instances = Egress::new(s("tcp"));
    to_instances.from_port = Some(int(app_port));
    to_instances.to_port = Some(int(app_port));
    to_instances.destination_security_group_id = Some(instances.group_id());
    to_instances.description = some("to the instances on the app port");
    alb.security_group_egress = Some(vec![to_instances]);
    alb.tags = Some(tags::named(ctx, &format!("{stack}-alb")));
    let alb = t.add("AlbSecurityGroup", alb);

    let mut from_alb = ec2::SecurityGroupIngress::new(s("tcp"));
    from_alb.group_id = Some(instances.group_id());
    from_alb.source_security_group_id = Some(alb.group_id());
    from_alb.from_port = Some(int(app_port));
    from_alb.to_port = Some(int(app_port));
    from_alb.description = some("app port from the load balancer");
    t.add("InstanceIngressFromAlb", from_alb);

    SecurityGroups { alb, instances }
}

fn tcp_egress_cidr(port: u16, cidr: &str, description: &str) -> Egress {
    let mut e = Egress::new(s("tcp"));
    e.from_port = Some(int(port));
    e.to_port = Some(int(port));
    e.cidr_ip = some(cidr);
    e.description = some(description);
    e
}
