//! The managed hosted zone's template (when `dns.manage_zone`): deployed first, in
//! us-east-1; its `HostedZoneId` output is every other stack's `HostedZoneId`
//! parameter (`app::zone`), by which records and certificate validation name it.

use super::context::fqdn;
use super::lit::some;
use super::tags;
use crate::cfn::gen::route53;
use crate::cfn::{Intrinsic, Template, Value};

/// The zone stack's output listing its name servers, comma-separated (deploy and
/// status print them until the zone is delegated).
pub const NAME_SERVERS_OUTPUT: &str = "NameServers";
/// The zone stack's output with the zone's id (without "/hostedzone/").
pub const ZONE_ID_OUTPUT: &str = "HostedZoneId";
use crate::stack::{StackDef, GLOBAL_REGION};

pub fn template(def: &StackDef) -> Template {
    let mut t = Template::new(format!(
        "strata: {} hosted zone {}",
        def.stack_name(),
        def.dns.hosted_zone
    ));
    let mut zone = route53::HostedZone::default();
    zone.name = some(fqdn(&def.dns.hosted_zone));
    let mut config = route53::hosted_zone::HostedZoneConfig::default();
    config.comment = some(format!("managed by strata for {}", def.stack_name()));
    zone.hosted_zone_config = Some(config);
    zone.hosted_zone_tags = Some(tags::of(def, GLOBAL_REGION, &[]));
    let zone = t.add("HostedZone", zone);
    t.output(
        ZONE_ID_OUTPUT,
        "The hosted zone's id",
        &zone.ref_::<String>(),
    );
    let servers: Value<String> =
        Intrinsic::JoinList(",".into(), Box::new(zone.name_servers().to_json())).into();
    t.output(
        NAME_SERVERS_OUTPUT,
        "The zone's name servers (comma-separated): delegate the zone to them",
        &servers,
    );
    t
}
