"""ACM certificates in CloudFormation, and listeners that use only issued ones.

moto 5.2.5 has no CloudFormation model for ``AWS::CertificateManager::Certificate``
(``moto_cfn_resources.fail_unmodelled_types`` would fail it) and its load balancer
accepts any string as a listener certificate. This module models, as AWS does:

- ``AWS::CertificateManager::Certificate`` with ``ValidationMethod: DNS``: the
  certificate is requested through moto's ACM backend (so DescribeCertificate reads
  it back); for each name, CloudFormation writes the validation CNAME into the zone
  named by that name's ``DomainValidationOptions`` ``HostedZoneId``; ACM issues the
  certificate once every name's CNAME is in its zone, and only then is the resource
  created. A name without a ``HostedZoneId`` never gets its record, so CloudFormation
  would wait until the request times out: the sandbox fails the resource at once
  with that reason. A name outside its zone cannot be validated there: fails too.
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-certificatemanager-certificate.html
  https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html
- A CloudFront distribution (in a template) with alternate domain names needs an
  ISSUED ACM certificate of us-east-1 covering each of them
  (``check_distribution_certificate``, called by ``moto_strata``'s model).
  https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-and-https-requirements.html
- A listener certificate (CreateListener / ModifyListener, from the API or from
  CloudFormation) must be an ISSUED ACM certificate of the listener's own region:
  ACM certificates are regional.
  https://docs.aws.amazon.com/acm/latest/userguide/acm-regions.html
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/https-listener-certificates.html
"""

from moto.core.common_models import CloudFormationModel
from moto.utilities.utils import get_partition

from moto_cfn_resources import ResourceFailed


def _acm(account_id, region):
    from moto.acm.models import acm_backends

    return acm_backends[account_id][region]


def _route53(account_id, region):
    from moto.route53.models import route53_backends

    return route53_backends[account_id][get_partition(region)]


def _norm(name):
    return (name or "").rstrip(".").lower()


class StrataCertificate(CloudFormationModel):
    """``AWS::CertificateManager::Certificate``, DNS-validated in Route 53."""

    __module__ = "moto.acm.strata"

    def __init__(self, arn):
        self.arn = arn

    @property
    def physical_resource_id(self):
        return self.arn

    @staticmethod
    def cloudformation_name_type():
        return ""

    @staticmethod
    def cloudformation_type():
        return "AWS::CertificateManager::Certificate"

    @classmethod
    def has_cfn_attr(cls, attr):
        return False

    @staticmethod
    def _zone_of(account_id, region_name, name, options):
        option = next((o for o in options if _norm(o.get("DomainName")) == _norm(name)), None)
        zone_id = (option or {}).get("HostedZoneId")
        if not zone_id:
            raise ResourceFailed(
                f"No HostedZoneId in DomainValidationOptions for {name}: CloudFormation "
                "writes no validation record for it and waits until the certificate "
                "request times out."
            )
        from moto.route53.exceptions import NoSuchHostedZone

        try:
            zone = _route53(account_id, region_name).get_hosted_zone(zone_id)
        except NoSuchHostedZone:
            raise ResourceFailed(f"No hosted zone found with ID: {zone_id}")
        if not (_norm(name) == _norm(zone.name) or _norm(name).endswith("." + _norm(zone.name))):
            raise ResourceFailed(f"{name} is not in the hosted zone {zone.name} ({zone_id}).")
        return zone

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json.get("Properties", {})
        if props.get("ValidationMethod") != "DNS":
            raise ResourceFailed(
                "The strata sandbox models DNS-validated certificates only "
                f"(ValidationMethod {props.get('ValidationMethod')!r})."
            )
        domain = props["DomainName"]
        sans = props.get("SubjectAlternativeNames", [])
        options = props.get("DomainValidationOptions", [])
        names = [domain] + [n for n in sans if _norm(n) != _norm(domain)]
        zones = {name: cls._zone_of(account_id, region_name, name, options) for name in names}
        backend = _acm(account_id, region_name)
        arn = backend.request_certificate(
            domain, None, sans, props.get("Tags", []) or []
        )
        cert = backend._certificates[arn]
        records = {
            _norm(o["DomainName"]): o["ResourceRecord"]
            for o in cert.describe()["Certificate"]["DomainValidationOptions"]
        }
        r53 = _route53(account_id, region_name)
        for name, zone in zones.items():
            rr = records[_norm(name)]
            r53.change_resource_record_sets(
                zone.id,
                [
                    {
                        "Action": "UPSERT",
                        "ResourceRecordSet": {
                            "Name": rr["Name"],
                            "Type": "CNAME",
                            "TTL": 300,
                            "ResourceRecords": [{"Value": rr["Value"]}],
                        },
                    }
                ],
            )
        # ACM issues once every name's validation record resolves.
        validated = all(
            any(
                _norm(r.name) == _norm(records[_norm(name)]["Name"]) and r.type == "CNAME"
                for r in zone.rrsets
            )
            for name, zone in zones.items()
        )
        if not validated:
            backend.delete_certificate(arn)
            raise ResourceFailed(f"Certificate {arn} failed DNS validation.")
        cert.status = "ISSUED"
        return cls(arn)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        # Every property but Tags and CertificateTransparencyLoggingPreference
        # replaces the certificate: request the new one, then delete the old one.
        new = cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
        original_resource.delete(account_id, region_name)
        return new

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        cls(resource_name).delete(account_id, region_name)

    def delete(self, account_id, region_name):
        backend = _acm(account_id, region_name)
        if self.arn in backend._certificates:
            backend.delete_certificate(self.arn)

    def is_created(self):
        return True


def _check_listener_certificate(backend, arn):
    from moto.acm.exceptions import CertificateNotFound
    from moto.elbv2.exceptions import ELBClientError

    parts = (arn or "").split(":")
    if len(parts) < 6 or parts[2] != "acm" or parts[3] != backend.region_name:
        raise ELBClientError(
            "CertificateNotFound",
            f"Certificate '{arn}' not found: a listener in {backend.region_name} "
            "uses an ACM certificate of its own region",
        )
    try:
        bundle = _acm(backend.account_id, backend.region_name).get_certificate(arn)
    except CertificateNotFound:
        raise ELBClientError("CertificateNotFound", f"Certificate '{arn}' not found")
    if bundle.status != "ISSUED":
        raise ELBClientError(
            "UnsupportedCertificate", f"Certificate '{arn}' is {bundle.status}, not ISSUED"
        )


def listeners_use_issued_certificates_of_their_region():
    """CreateListener / ModifyListener: an HTTPS listener needs a certificate, and
    every certificate must be an issued ACM certificate of the listener's region."""
    from moto.elbv2.exceptions import ELBClientError
    from moto.elbv2.models import ELBv2Backend

    create = ELBv2Backend.create_listener
    modify = ELBv2Backend.modify_listener

    def checked_create(self, load_balancer_arn, protocol, port, ssl_policy, certificate, actions, *args, **kwargs):
        if protocol == "HTTPS" and not certificate:
            raise ELBClientError("CertificateNotFound", "An HTTPS listener needs a certificate")
        if certificate:
            _check_listener_certificate(self, certificate)
        return create(self, load_balancer_arn, protocol, port, ssl_policy, certificate, actions, *args, **kwargs)

    def checked_modify(self, arn, port=None, protocol=None, ssl_policy=None, certificates=None, actions=None):
        for cert in certificates or []:
            _check_listener_certificate(self, cert.get("CertificateArn") or cert.get("certificate_arn"))
        return modify(self, arn, port, protocol, ssl_policy, certificates, actions)

    ELBv2Backend.create_listener = checked_create
    ELBv2Backend.modify_listener = checked_modify


def _covers(name, cert_name):
    name, cert_name = _norm(name), _norm(cert_name)
    if cert_name.startswith("*."):
        return name.count(".") == cert_name.count(".") and name.endswith(cert_name[1:])
    return name == cert_name


def check_distribution_certificate(account_id, config):
    """A distribution with alternate domain names needs an ISSUED ACM certificate of
    us-east-1 that covers every one of them.
    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-and-https-requirements.html
    (`config` is the API form of the DistributionConfig, as moto's backend takes it.)"""
    aliases = (config.get("Aliases") or {}).get("Items") or []
    if not aliases:
        return
    arn = (config.get("ViewerCertificate") or {}).get("ACMCertificateArn")
    if not arn:
        raise ResourceFailed(
            "To add an alternate domain name (CNAME) to a CloudFront distribution, you "
            "must attach a trusted certificate that validates your authorization to use "
            "the domain name."
        )
    parts = arn.split(":")
    if len(parts) < 6 or parts[3] != "us-east-1":
        raise ResourceFailed(f"The specified SSL certificate {arn} is not in us-east-1.")
    from moto.acm.exceptions import CertificateNotFound

    try:
        bundle = _acm(account_id, "us-east-1").get_certificate(arn)
    except CertificateNotFound:
        raise ResourceFailed(f"The specified SSL certificate doesn't exist: {arn}")
    if bundle.status != "ISSUED":
        raise ResourceFailed(f"The specified SSL certificate {arn} is {bundle.status}.")
    described = bundle.describe()["Certificate"]
    names = [described["DomainName"]] + list(described.get("SubjectAlternativeNames", []))
    for alias in aliases:
        if not any(_covers(alias, n) for n in names):
            raise ResourceFailed(
                "The certificate that is attached to your distribution doesn't cover the "
                f"alternate domain name (CNAME) {alias}."
            )


def install():
    from moto.cloudformation import parsing

    parsing.get_model_map.cache_clear()
    listeners_use_issued_certificates_of_their_region()
