//! The region's network: a VPC, a public and a private subnet in every AZ, an
//! internet gateway, and in every AZ an EIP + NAT gateway with a private route
//! table whose default route goes to that AZ's own NAT (no AZ depends on another).

use super::context::RegionCtx;
use super::lit::{some, yes};
use super::tags;
use crate::cfn::gen::ec2;
use crate::cfn::{Handle, Options, Template};

/// What the other parts of the template need from the network.
pub struct Network {
    pub vpc: Handle<ec2::Vpc>,
    /// Public subnet of each AZ, in AZ order.
    pub public_subnets: Vec<Handle<ec2::Subnet>>,
    /// Private subnet of each AZ, in AZ order.
    pub private_subnets: Vec<Handle<ec2::Subnet>>,
    /// The internet gateway's attachment: an internet-facing load balancer (and
    /// anything else that needs a public address) must be created after it and
    /// deleted before it, which CloudFormation only knows through `DependsOn`
    /// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html#gatewayattachment).
    pub gateway_attachment: Handle<ec2::VpcGatewayAttachment>,
    /// The logical ids of each AZ's private default route and its subnet's route
    /// table association: what an instance in a private subnet needs to reach
    /// anything outside the VPC (Parameter Store, the AWS APIs) when it boots.
    pub private_egress: Vec<String>,
}

pub fn add(t: &mut Template, ctx: &RegionCtx) -> Network {
    let stack = ctx.def.stack_name();
    let mut vpc = ec2::Vpc::default();
    vpc.cidr_block = some(ctx.region.cidr.as_str());
    vpc.enable_dns_hostnames = Some(yes(true));
    vpc.enable_dns_support = Some(yes(true));
    vpc.tags = Some(tags::named(ctx, &format!("{stack}-{}", ctx.region.name)));
    let vpc = t.add("Vpc", vpc);

    let mut igw = ec2::InternetGateway::default();
    igw.tags = Some(tags::named(ctx, &format!("{stack}-igw")));
    let igw = t.add("InternetGateway", igw);
    let mut attach = ec2::VpcGatewayAttachment::new(vpc.ref_());
    attach.internet_gateway_id = Some(igw.ref_());
    let attach = t.add("InternetGatewayAttachment", attach);

    let mut public_rt = ec2::RouteTable::new(vpc.ref_());
    public_rt.tags = Some(tags::named(ctx, &format!("{stack}-public")));
    let public_rt = t.add("PublicRouteTable", public_rt);
    let mut default_route = ec2::Route::new(public_rt.ref_());
    default_route.destination_cidr_block = some("0.0.0.0/0");
    default_route.gateway_id = Some(igw.ref_());
    t.add_with(
        "PublicDefaultRoute",
        default_route,
        Options::default().depends_on(&attach),
    );

    let mut public_subnets = Vec::new();
    let mut private_subnets = Vec::new();
    let mut private_egress = Vec::new();
    for ((az, id), cidrs) in ctx.region.azs.iter().zip(&ctx.az_ids).zip(&ctx.subnets) {
        let mut public = ec2::Subnet::new(vpc.ref_());
        public.availability_zone = some(az.as_str());
        public.cidr_block = some(cidrs.public.to_string());
        public.map_public_ip_on_launch = Some(yes(false));
        public.tags = Some(tags::of(
            ctx.def,
            &ctx.region.name,
            &[
                ("Name", &format!("{stack}-public-{az}")),
                ("tier", "public"),
            ],
        ));
        let public = t.add(format!("PublicSubnet{id}"), public);
        t.add(
            format!("PublicSubnet{id}RouteTableAssociation"),
            ec2::SubnetRouteTableAssociation::new(public_rt.ref_(), public.ref_()),
        );

        let mut private = ec2::Subnet::new(vpc.ref_());
        private.availability_zone = some(az.as_str());
        private.cidr_block = some(cidrs.private.to_string());
        private.map_public_ip_on_launch = Some(yes(false));
        private.tags = Some(tags::of(
            ctx.def,
            &ctx.region.name,
            &[
                ("Name", &format!("{stack}-private-{az}")),
                ("tier", "private"),
            ],
        ));
        let private = t.add(format!("PrivateSubnet{id}"), private);

        let mut eip = ec2::Eip::default();
        eip.domain = some("vpc");
        eip.tags = Some(tags::named(ctx, &format!("{stack}-nat-{az}")));
        let eip = t.add_with(
            format!("NatEip{id}"),
            eip,
            Options::default().depends_on(&attach),
        );
        let mut nat = ec2::NatGateway::default();
        nat.allocation_id = Some(eip.allocation_id());
        nat.subnet_id = Some(public.ref_());
        nat.tags = Some(tags::named(ctx, &format!("{stack}-nat-{az}")));
        let nat = t.add(format!("NatGateway{id}"), nat);

        let mut rt = ec2::RouteTable::new(vpc.ref_());
        rt.tags = Some(tags::named(ctx, &format!("{stack}-private-{az}")));
        let rt = t.add(format!("PrivateRouteTable{id}"), rt);
        let mut route = ec2::Route::new(rt.ref_());
        route.destination_cidr_block = some("0.0.0.0/0");
        route.nat_gateway_id = Some(nat.ref_());
        let route = t.add(format!("PrivateDefaultRoute{id}"), route);
        let association = t.add(
            format!("PrivateSubnet{id}RouteTableAssociation"),
            ec2::SubnetRouteTableAssociation::new(rt.ref_(), private.ref_()),
        );
        private_egress.push(route.logical_id().to_string());
        private_egress.push(association.logical_id().to_string());

        public_subnets.push(public);
        private_subnets.push(private);
    }
    Network {
        vpc,
        public_subnets,
        private_subnets,
        gateway_attachment: attach,
        private_egress,
    }
}
