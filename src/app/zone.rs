//! The id of the stack's hosted zone, for the templates that name the zone by id
//! (records and certificate validation take it as the `HostedZoneId` parameter:
//! `synth::dns::zone_id`). Route 53 zones are global and CloudFormation has no
//! cross-region reference, so the id is read here and passed to every stack.

use super::AppError;
use crate::aws::{route53_records, stack_info, Aws};
use crate::events::{Events, Phase};
use crate::stack::{StackDef, GLOBAL_REGION};

/// The zone id every `HostedZoneId` parameter gets:
/// - `dns.hosted_zone_id` given: `None` (the templates carry it literally);
/// - `dns.manage_zone`: the zone stack's `HostedZoneId` output, `None` while the
///   zone stack does not exist yet (the deploy creates it first, see
///   `deploy::deploy_when_ready`); when that stack cannot be read, the zone by
///   name as below;
/// - otherwise the one public zone of that name (ListHostedZonesByName); none,
///   or several (two zones may share a name, and a record would then go to
///   either), is an error naming `dns.hosted_zone_id` as the fix.
pub async fn resolve(
    aws: &Aws,
    def: &StackDef,
    events: &Events,
) -> Result<Option<String>, AppError> {
    if def.dns.hosted_zone_id.is_some() {
        return Ok(None);
    }
    if def.dns.manage_zone {
        let stack = crate::synth::zone_stack_name(def);
        match stack_info::describe_stack(aws, GLOBAL_REGION, &stack).await {
            Ok(found) => {
                return Ok(
                    found.and_then(|s| s.outputs.get(crate::synth::zone::ZONE_ID_OUTPUT).cloned())
                )
            }
            // CloudFormation in us-east-1 does not answer (a DR command may run
            // while it is down): Route 53 is global, the zone is found by its name.
            Err(e) => {
                events.warn(
                    Some(GLOBAL_REGION),
                    Phase::Preflight,
                    format!(
                        "the zone stack {stack} could not be read ({e}); looking the zone up by name"
                    ),
                );
            }
        }
    }
    let zone = &def.dns.hosted_zone;
    let ids = route53_records::public_zone_ids(aws, zone)
        .await
        .map_err(|e| AppError::Environment(format!("looking up the hosted zone {zone}: {e}")))?;
    match ids.as_slice() {
        [one] => Ok(Some(one.clone())),
        [] => Err(AppError::Zone(format!(
            "no public hosted zone {zone} in this account: create it, set dns.manage_zone = true \
             (strata creates it), or set dns.hosted_zone_id; nothing was changed"
        ))),
        many => Err(AppError::Zone(format!(
            "{} public hosted zones are named {zone} ({}): set dns.hosted_zone_id to the one \
             the records belong in; nothing was changed",
            many.len(),
            many.join(", ")
        ))),
    }
}
