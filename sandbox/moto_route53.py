"""Route 53 for strata's sandbox: what moto 5.2.5 lacks for strata's templates, and
the rules Route 53 enforces that moto does not. Imported by ``moto_strata.py``.

Models (moto accepted the template but did less than CloudFormation does):
- ``record_sets_by_identifier``: an ``AWS::Route53::RecordSet`` is updated and
  deleted by name, type *and set identifier* (moto used the name alone, so one
  region's latency record update deleted every region's).
- ``delete_health_checks_with_their_stack`` / ``delete_hosted_zones_with_their_stack``:
  a health check and a hosted zone are deleted with the stack (or update) that
  removed them.
- ``calculated_health_checks_keep_their_children``: a CALCULATED check made by a
  stack gets ``ChildHealthChecks``, ``HealthThreshold`` and ``Inverted``.
- ``hosted_zone_attributes``: ``Fn::GetAtt`` ``Id`` and ``NameServers`` of an
  ``AWS::Route53::HostedZone`` (moto answered neither).

Rules (each from the AWS page named in its docstring; docs/sandbox.md, "Route 53"):
- ``refuse_status_of_calculated_checks``: GetHealthCheckStatus refuses a CALCULATED
  health check.
- ``one_primary_one_secondary``: at most one PRIMARY and one SECONDARY failover
  record per name and type.
- ``zone_name_must_be_unambiguous``: a record set naming its zone by
  ``HostedZoneName`` fails when no zone, or more than one, has that name.
"""

from moto.route53.exceptions import Route53ClientError
from moto.utilities.utils import get_partition


class InvalidInput(Route53ClientError):
    # moto finds an error's service model by the second part of its class's module
    # name ("moto.<service>...."), as for models.
    __module__ = "moto.route53.strata"

    def __init__(self, message):
        super().__init__("InvalidInput", message)


class InvalidChangeBatch(Route53ClientError):
    __module__ = "moto.route53.strata"

    def __init__(self, message):
        super().__init__("InvalidChangeBatch", message)


def _backend(account_id, region_name):
    from moto.route53.models import route53_backends

    return route53_backends[account_id][get_partition(region_name)]


def _norm(name):
    return (name or "").rstrip(".").lower()


def _zone(account_id, region_name, props):
    """The record's hosted zone: by id, or by a name exactly one zone has.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-route53-recordset.html
    (HostedZoneName): "If AWS CloudFormation can't find a hosted zone with a
    matching domain name, or if there is more than one hosted zone with the
    specified domain name, AWS CloudFormation will not create the stack."
    """
    backend = _backend(account_id, region_name)
    zone_id = props.get("HostedZoneId")
    if zone_id:
        return backend.get_hosted_zone(zone_id)
    zone_name = props.get("HostedZoneName")
    matching = [z for z in backend.zones.values() if _norm(z.name) == _norm(zone_name)]
    if len(matching) != 1:
        raise InvalidInput(
            f"HostedZoneName {zone_name!r} matches {len(matching)} hosted zones; "
            "name the zone by HostedZoneId"
            if matching
            else f"no hosted zone is named {zone_name!r}"
        )
    return matching[0]


def _drop_record(zone, name, rtype, set_identifier):
    zone.rrsets = [
        r
        for r in zone.rrsets
        if not (
            _norm(r.name) == _norm(name) and r.type == rtype and r.set_identifier == set_identifier
        )
    ]


def record_sets_by_identifier():
    """moto 5.2.5's ``AWS::Route53::RecordSet`` model updates (delete + create) and
    deletes a record by its *name* alone, so updating or deleting the us-east-1
    stack's latency record ``origin.X`` removed every region's ``origin.X`` record.
    Route 53 identifies a record by name, type and set identifier: do the same.
    Every path finds the zone with ``_zone`` (the HostedZoneName rule)."""
    from moto.route53.models import RecordSet, RecordSetGroup

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cloudformation_json["Properties"]
        return _zone(account_id, region_name, props).add_rrset(props)

    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        props = cloudformation_json["Properties"]
        zone = _zone(account_id, region_name, props)
        old = [
            r
            for r in zone.rrsets
            if _norm(r.name) == _norm(original_resource.name)
            and r.type == original_resource.type
            and r.set_identifier == original_resource.set_identifier
        ]
        _drop_record(
            zone, original_resource.name, original_resource.type, original_resource.set_identifier
        )
        try:
            return zone.add_rrset(props)
        except Route53ClientError:
            zone.rrsets.extend(old)  # a refused change leaves the zone as it was
            raise

    def delete_from_cfn(cls, resource_name, cloudformation_json, account_id, region_name):
        props = cloudformation_json["Properties"]
        zone = _zone(account_id, region_name, props)
        _drop_record(zone, resource_name, props.get("Type"), props.get("SetIdentifier"))

    def delete(self, account_id, region):
        backend = _backend(account_id, region)
        zone = None
        if self.hosted_zone_id:
            zone = backend.zones.get(self.hosted_zone_id.replace("/hostedzone/", ""))
        if zone is None and self.hosted_zone_name:
            zone = next(
                (z for z in backend.zones.values() if _norm(z.name) == _norm(self.hosted_zone_name)),
                None,
            )
        if zone is not None:
            _drop_record(zone, self.name, self.type, self.set_identifier)

    def create_group(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cloudformation_json["Properties"]
        zone = _zone(account_id, region_name, props)
        for record_set in props["RecordSets"]:
            zone.add_rrset(record_set)
        return RecordSetGroup(zone.id, props["RecordSets"])

    RecordSet.create_from_cloudformation_json = classmethod(create)
    RecordSet.update_from_cloudformation_json = classmethod(update)
    RecordSet.delete_from_cloudformation_json = classmethod(delete_from_cfn)
    RecordSet.delete = delete
    RecordSetGroup.create_from_cloudformation_json = classmethod(create_group)


def one_primary_one_secondary():
    """Failover routing is one PRIMARY and one SECONDARY record per name and type.

    https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html
    (Failover): "To configure failover, you add the Failover element to two
    resource record sets. For one resource record set, you specify PRIMARY as the
    value for Failover; for the other resource record set, you specify SECONDARY."

    moto 5.2.5 accepted any number of each. Every record added to a zone (the API's
    CREATE and UPSERT, and CloudFormation's record sets) is checked: a second record
    with the same name, type and failover role but another set identifier is
    refused with InvalidChangeBatch, and the zone is left unchanged."""
    from moto.route53.models import FakeZone

    add = FakeZone.add_rrset
    upsert = FakeZone.upsert_rrset

    def check(zone, record_set):
        role = record_set.get("Failover")
        if not role:
            return
        for r in zone.rrsets:
            if (
                _norm(r.name) == _norm(record_set.get("Name"))
                and r.type == record_set.get("Type")
                and r.failover == role
                and r.set_identifier != record_set.get("SetIdentifier")
            ):
                raise InvalidChangeBatch(
                    f"[Tried to create resource record set [name='{record_set.get('Name')}', "
                    f"type='{record_set.get('Type')}', set-identifier='{record_set.get('SetIdentifier')}'] "
                    f"with failover {role}, but the {role} record of this name and type is "
                    f"set-identifier='{r.set_identifier}': failover routing is one PRIMARY "
                    "and one SECONDARY record]"
                )

    def checked_add(self, record_set):
        check(self, record_set)
        return add(self, record_set)

    def checked_upsert(self, record_set):
        check(self, record_set)
        return upsert(self, record_set)

    FakeZone.add_rrset = checked_add
    FakeZone.upsert_rrset = checked_upsert


def refuse_status_of_calculated_checks():
    """GetHealthCheckStatus does not answer for a CALCULATED health check.

    https://docs.aws.amazon.com/Route53/latest/APIReference/API_GetHealthCheckStatus.html
    (HealthCheckId): "You can't use GetHealthCheckStatus to get the status of a
    calculated health check."

    moto 5.2.5 answered it with one "Success" observation. Refuse it with
    InvalidInput (400); the error code AWS uses is not documented on that page."""
    from moto.route53.responses import Route53

    status = Route53.get_health_check_status

    def refusing(self):
        check = self.backend.get_health_check(self._get_param("HealthCheckId"))
        if check.type_ == "CALCULATED":
            raise InvalidInput(
                f"health check {check.id} is CALCULATED: GetHealthCheckStatus does not "
                "report the status of calculated health checks"
            )
        return status(self)

    Route53.get_health_check_status = refusing


def delete_health_checks_with_their_stack():
    """moto 5.2.5's ``AWS::Route53::HealthCheck`` model has no delete: a health
    check outlived the stack (or the update) that removed it, so a region taken
    out of a stack left its checks behind in Route 53. Delete it, as
    CloudFormation does."""
    from moto.route53.models import HealthCheck

    def delete(self, account_id, region):
        _backend(account_id, region).delete_health_check(self.id)

    HealthCheck.delete = delete


def delete_hosted_zones_with_their_stack():
    """moto 5.2.5's ``AWS::Route53::HostedZone`` model has no delete: a zone made by
    a stack outlived it (`strata destroy` left the managed zone behind). Delete it,
    as CloudFormation does."""
    from moto.route53.models import FakeZone

    def delete(self, account_id, region):
        _backend(account_id, region).delete_hosted_zone(self.id)

    FakeZone.delete = delete


def hosted_zone_attributes():
    """``Fn::GetAtt`` of an ``AWS::Route53::HostedZone``: ``Id`` (the zone id, as
    ``Ref``) and ``NameServers`` (the zone's delegation set), as documented at
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-route53-hostedzone.html
    (Return values). moto 5.2.5 returned nothing for either."""
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.route53.models import FakeZone

    def has_cfn_attr(cls, attr):
        return attr in ("Id", "NameServers")

    def get_cfn_attribute(self, attribute_name):
        if attribute_name == "Id":
            return self.resource_id
        if attribute_name == "NameServers":
            return list(self.delegation_set.name_servers) if self.delegation_set else []
        raise UnformattedGetAttTemplateException()

    FakeZone.has_cfn_attr = classmethod(has_cfn_attr)
    FakeZone.get_cfn_attribute = get_cfn_attribute


def calculated_health_checks_keep_their_children():
    """moto 5.2.5's ``AWS::Route53::HealthCheck`` model passes only the endpoint
    settings to its backend: a CALCULATED check made by a stack had no children and
    no threshold (``0 of 0 children, threshold 0``), unlike the same check made
    through the API. Apply ``ChildHealthChecks``, ``HealthThreshold`` and
    ``Inverted`` as CreateHealthCheck does."""
    from moto.route53.models import HealthCheck

    create = HealthCheck.create_from_cloudformation_json.__func__

    def create_with_children(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        check = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        config = cloudformation_json["Properties"]["HealthCheckConfig"]
        check.set_children(config.get("ChildHealthChecks") or [])
        if config.get("HealthThreshold") is not None:
            check.health_threshold = int(config["HealthThreshold"])
        if config.get("Inverted") is not None:
            check.inverted = config["Inverted"] in (True, "true", "True")
        return check

    HealthCheck.create_from_cloudformation_json = classmethod(create_with_children)


def install():
    """Everything above."""
    record_sets_by_identifier()
    one_primary_one_secondary()
    refuse_status_of_calculated_checks()
    delete_health_checks_with_their_stack()
    delete_hosted_zones_with_their_stack()
    hosted_zone_attributes()
    calculated_health_checks_keep_their_children()
