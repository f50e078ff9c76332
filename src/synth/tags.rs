//! The tags every taggable resource carries (app, environment, region,
//! managed-by=strata), for each generated tag type.

use super::context::RegionCtx;
use crate::cfn::gen;
use crate::cfn::Value;
use crate::stack::StackDef;

/// The key/value pairs every resource of `region` is tagged with.
pub fn pairs(def: &StackDef, region: &str) -> Vec<(String, String)> {
    vec![
        ("app".to_string(), def.app.name.clone()),
        ("environment".to_string(), def.app.environment.clone()),
        ("region".to_string(), region.to_string()),
        ("managed-by".to_string(), "strata".to_string()),
    ]
}

/// A generated `Tag` definition type, built from a key and a value.
pub trait TagType: Sized {
    fn make(key: String, value: String) -> Self;
}

/// The standard tags, as the tag type of one resource.
pub fn standard<T: TagType>(ctx: &RegionCtx) -> Vec<T> {
    of::<T>(ctx.def, &ctx.region.name, &[])
}

/// The standard tags plus a `Name` tag.
pub fn named<T: TagType>(ctx: &RegionCtx, name: &str) -> Vec<T> {
    of::<T>(ctx.def, &ctx.region.name, &[("Name", name)])
}

/// The standard tags of `region` plus `extra`, as tag type `T`.
pub fn of<T: TagType>(def: &StackDef, region: &str, extra: &[(&str, &str)]) -> Vec<T> {
    extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain(pairs(def, region))
        .map(|(k, v)| T::make(k, v))
        .collect()
}

macro_rules! key_value_tags {
    ($($t:ty),* $(,)?) => {$(
        impl TagType for $t {
            fn make(key: String, value: String) -> Self {
                Self {
                    key: Value::Lit(key),
                    value: Value::Lit(value),
                }
            }
        }
    )*};
}

key_value_tags!(
    gen::ec2::vpc::Tag,
    gen::ec2::subnet::Tag,
    gen::ec2::internet_gateway::Tag,
    gen::ec2::eip::Tag,
    gen::ec2::nat_gateway::Tag,
    gen::ec2::route_table::Tag,
    gen::ec2::security_group::Tag,
    gen::ec2::launch_template::Tag,
    gen::dynamodb::global_table::Tag,
    gen::dynamodb::table::Tag,
    gen::sqs::queue::Tag,
    gen::s3::bucket::Tag,
    gen::iam::role::Tag,
    gen::route53::health_check::HealthCheckTag,
    gen::route53::hosted_zone::HostedZoneTag,
    gen::cloudfront::distribution::Tag,
    gen::cloudwatch::alarm::Tag,
    gen::sns::topic::Tag,
    gen::kms::key::Tag,
    gen::elasticloadbalancingv2::target_group::Tag,
    gen::elasticloadbalancingv2::listener::Tag,
    gen::certificatemanager::certificate::Tag,
    gen::secretsmanager::secret::Tag,
    gen::elasticloadbalancingv2::listener_rule::Tag,
);

impl TagType for gen::elasticloadbalancingv2::load_balancer::Tag {
    fn make(key: String, value: String) -> Self {
        let mut t = Self::new(Value::Lit(key));
        t.value = Some(Value::Lit(value));
        t
    }
}

/// Auto Scaling group tags, propagated to the instances it launches.
pub fn asg(ctx: &RegionCtx, name: &str) -> Vec<gen::autoscaling::auto_scaling_group::TagProperty> {
    std::iter::once(("Name".to_string(), name.to_string()))
        .chain(pairs(ctx.def, &ctx.region.name))
        .map(|(k, v)| {
            gen::autoscaling::auto_scaling_group::TagProperty::new(
                Value::Lit(v),
                Value::Lit(k),
                Value::Lit(true),
            )
        })
        .collect()
}
