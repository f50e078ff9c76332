"""strata's moto entry point: moto's own server plus one CloudFormation model.

moto 5.2.5 accepts ``AWS::CloudFront::Distribution`` in a CloudFormation template
but creates nothing for it, so ``Ref``/``Fn::GetAtt`` on it fail ("instance of
Fn::GetAtt references undefined resource"). This file registers a CloudFormation
model for that type, backed by moto's own CloudFront backend (the distribution
is then visible through the CloudFront API too), and runs ``moto.server.main``
with the same arguments ``python -m moto.server`` takes.

What it models (a sandbox shim, not CloudFront): create, update and delete of
the distribution with the CloudFormation property shapes mapped onto the
CloudFront API's ``{Quantity, Items}`` shapes; ``Ref`` = distribution id;
``Fn::GetAtt`` ``DomainName`` and ``Id``; the stack's ``Tags`` on the
distribution's ARN. Nothing is validated beyond what moto's CloudFront backend
checks (the default cache behaviour's origin must exist).

It also rebuilds a stack's Outputs after ExecuteChangeSet (see
``refresh_outputs_after_change_sets``) and keeps moto's base AMIs loaded when ``MOTO_AMIS_PATH`` (strata's
``sandbox/amis.json``) is set; see ``keep_default_amis``; and applies an
``AWS::S3::Bucket``'s ``VersioningConfiguration``, ``ReplicationConfiguration`` and
``PublicAccessBlockConfiguration`` and ``LifecycleConfiguration``, which moto's bucket model ignores; see
``apply_bucket_configuration``; answers GetBucketVersioning with the root element
the SDKs expect (``versioning_response``); and forgets the resources a stack update
removed, so that a later update adding them back creates them
(``forget_removed_resources``).

CloudWatch (the SDKs' RPCv2-CBOR protocol, ``AWS::CloudWatch::Alarm`` in templates,
the load balancer ``FullName`` attributes alarms use) lives in ``moto_cloudwatch.py``
next to this file; ``moto_cloudwatch.install`` applies it. Route 53 (records by set
identifier, health checks and zones deleted with their stack, calculated checks'
children, and the Route 53 rules the sandbox enforces) lives in ``moto_route53.py``;
SQS's dead-letter queue redrive (message move tasks) in ``moto_sqs.py``.
"""

import sys

import moto_acm  # next to this file: certificates a distribution's aliases need
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.cloudfront.models import cloudfront_backends
from moto.core.common_models import CloudFormationModel
from moto.utilities.utils import get_partition


def _items(values):
    """A CloudFormation list as the CloudFront API's {Quantity, Items}."""
    values = list(values or [])
    return {"Quantity": len(values), "Items": values}


def _origin(origin):
    origin = dict(origin)
    custom = origin.get("CustomOriginConfig")
    if custom is not None:
        custom = dict(custom)
        custom["OriginSslProtocols"] = _items(custom.pop("OriginSSLProtocols", []))
        origin["CustomOriginConfig"] = custom
    if "OriginCustomHeaders" in origin:
        origin["CustomHeaders"] = _items(origin.pop("OriginCustomHeaders"))
    return origin


def _behaviour(behaviour):
    behaviour = dict(behaviour)
    allowed = behaviour.pop("AllowedMethods", ["GET", "HEAD"])
    cached = behaviour.pop("CachedMethods", ["GET", "HEAD"])
    behaviour["AllowedMethods"] = {
        "Items": list(allowed),
        "CachedMethods": {"Items": list(cached)},
    }
    forwarded = behaviour.get("ForwardedValues")
    if forwarded is not None:
        forwarded = dict(forwarded)
        if "Headers" in forwarded:
            forwarded["Headers"] = _items(forwarded["Headers"])
        if "QueryStringCacheKeys" in forwarded:
            forwarded["QueryStringCacheKeys"] = _items(forwarded["QueryStringCacheKeys"])
        behaviour["ForwardedValues"] = forwarded
    for key in ("TrustedSigners", "TrustedKeyGroups"):
        if key in behaviour:
            behaviour[key] = _items(behaviour[key])
    return behaviour


def api_config(cfn_config, caller_reference):
    """A CloudFormation DistributionConfig as the dict moto's backend takes."""
    cfg = dict(cfn_config)
    cfg["CallerReference"] = caller_reference
    cfg["Origins"] = _items(_origin(o) for o in cfg.get("Origins", []))
    cfg["DefaultCacheBehavior"] = _behaviour(cfg.get("DefaultCacheBehavior", {}))
    if "CacheBehaviors" in cfg:
        cfg["CacheBehaviors"] = _items(_behaviour(b) for b in cfg["CacheBehaviors"])
    if "Aliases" in cfg:
        cfg["Aliases"] = _items(cfg["Aliases"])
    if "IPV6Enabled" in cfg:
        cfg["IsIPV6Enabled"] = cfg.pop("IPV6Enabled")
    if "CustomErrorResponses" in cfg:
        cfg["CustomErrorResponses"] = _items(cfg["CustomErrorResponses"])
    viewer = cfg.get("ViewerCertificate")
    if viewer is not None:
        # CloudFormation spells AcmCertificateArn / SslSupportMethod; the API (and
        # moto's backend) ACMCertificateArn / SSLSupportMethod.
        viewer = dict(viewer)
        for cfn_key, api_key in (
            ("AcmCertificateArn", "ACMCertificateArn"),
            ("SslSupportMethod", "SSLSupportMethod"),
            ("IamCertificateId", "IAMCertificateId"),
        ):
            if cfn_key in viewer:
                viewer[api_key] = viewer.pop(cfn_key)
        viewer.setdefault("CloudFrontDefaultCertificate", "ACMCertificateArn" not in viewer)
        cfg["ViewerCertificate"] = viewer
    geo = cfg.get("Restrictions", {}).get("GeoRestriction")
    if geo is not None:
        geo = dict(geo)
        geo["Items"] = list(geo.pop("Locations", []))
        cfg["Restrictions"] = {"GeoRestriction": geo}
    return cfg


def _backend(account_id, region_name):
    return cloudfront_backends[account_id][get_partition(region_name)]


class StrataCloudFrontDistribution(CloudFormationModel):
    """``AWS::CloudFront::Distribution`` for moto's CloudFormation."""

    # moto's model registry files every model under its service, taken from the
    # second part of the module name ("moto.<service>....").
    __module__ = "moto.cloudfront.strata"

    def __init__(self, distribution, caller_reference):
        self.distribution = distribution
        self.caller_reference = caller_reference

    @property
    def physical_resource_id(self):
        return self.distribution.distribution_id

    @staticmethod
    def cloudformation_name_type():
        return ""

    @staticmethod
    def cloudformation_type():
        return "AWS::CloudFront::Distribution"

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr in ("DomainName", "Id")

    def get_cfn_attribute(self, attribute_name):
        if attribute_name == "DomainName":
            return self.distribution.domain_name
        if attribute_name == "Id":
            return self.distribution.distribution_id
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json.get("Properties", {})
        caller_reference = f"{kwargs.get('StackId', '')}/{kwargs.get('LogicalId', resource_name)}"
        config = api_config(props.get("DistributionConfig", {}), caller_reference)
        moto_acm.check_distribution_certificate(account_id, config)
        dist, _, _ = _backend(account_id, region_name).create_distribution(
            config, list(props.get("Tags", []))
        )
        return cls(dist, caller_reference)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        props = cloudformation_json.get("Properties", {})
        backend = _backend(account_id, region_name)
        ref = original_resource.caller_reference
        config = api_config(props.get("DistributionConfig", {}), ref)
        moto_acm.check_distribution_certificate(account_id, config)
        dist, _, _ = backend.update_distribution(
            config, original_resource.physical_resource_id, True
        )
        backend.tagger.delete_all_tags_for_resource(dist.arn)
        backend.tagger.tag_resource(dist.arn, list(props.get("Tags", [])))
        return cls(dist, ref)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name
    ):
        backend = _backend(account_id, region_name)
        dist = backend.distributions.get(resource_name)
        if dist is not None:
            backend.tagger.delete_all_tags_for_resource(dist.arn)
            backend.delete_distribution(resource_name, True)

    def delete(self, account_id, region_name):
        self.delete_from_cloudformation_json(
            self.physical_resource_id, {}, account_id, region_name
        )

    def is_created(self):
        return True


def keep_default_amis():
    """With MOTO_AMIS_PATH set, moto loads only that file into each region's EC2
    backend. Put moto's 44 base images (``ec2/resources/amis.json``) back in front,
    so code that looks for an Amazon-owned image still finds one. (moto's per-region
    ``latest_amis`` stay unloaded, as always with MOTO_AMIS_PATH.)"""
    import os

    if "MOTO_AMIS_PATH" not in os.environ:
        return
    from moto.ec2.models import amis
    from moto.utilities.utils import load_resource

    ours = {a["ami_id"] for a in amis.AMIS}
    defaults = [a for a in load_resource("ec2/resources/amis.json") if a["ami_id"] not in ours]
    amis.AMIS[:0] = defaults


def refresh_outputs_after_change_sets():
    """moto 5.2.5 builds a stack's Outputs when the stack is created (from the
    change set's empty placeholder, for a CREATE change set) and again on
    UpdateStack, but not when a change set is executed: a stack deployed through
    change sets (as strata deploys) has no Outputs. Rebuild them from the executed
    template, as CloudFormation reports them. It also ignores an UPDATE change
    set's tags, which CloudFormation applies to the stack on execution (strata
    records the deployer and any outside-window reason there): apply them."""
    from moto.cloudformation.models import CloudFormationBackend

    execute = CloudFormationBackend.execute_change_set

    def execute_and_refresh(self, change_set_name, stack_name=None):
        execute(self, change_set_name, stack_name)
        change_set = self.change_sets.get(change_set_name) or next(
            cs for cs in self.change_sets.values() if cs.change_set_name == change_set_name
        )
        stack = self.stacks[change_set.stack_id]
        if change_set.tags:
            stack.tags = dict(change_set.tags)
        stack._parse_template()
        if not getattr(stack, "strata_pruned", False):  # a rolled-back create has none
            stack.output_map = stack._create_output_map()

    CloudFormationBackend.execute_change_set = execute_and_refresh


def _api_replication(cfn):
    """A CloudFormation ReplicationConfiguration as moto's S3 backend stores it
    (the parsed PutBucketReplication XML: ``Role`` and a list under ``Rule``)."""
    rules = []
    for rule in cfn.get("Rules", []):
        api = {"Status": rule.get("Status", "Enabled"), "Destination": dict(rule["Destination"])}
        if "Id" in rule:
            api["ID"] = rule["Id"]
        if "Priority" in rule:
            api["Priority"] = rule["Priority"]
        for key in ("Filter", "Prefix", "DeleteMarkerReplication"):
            if key in rule:
                api[key] = rule[key]
        rules.append(api)
    return {"Role": cfn.get("Role", ""), "Rule": rules}


def _api_lifecycle(cfn):
    """A CloudFormation LifecycleConfiguration as moto's S3 backend takes it (the
    parsed PutBucketLifecycleConfiguration XML): a rule without a prefix applies to
    every object, as CloudFormation's does."""
    rules = []
    for rule in cfn.get("Rules", []):
        api = {"Status": rule.get("Status", "Enabled"), "Filter": {"Prefix": rule.get("Prefix", "")}}
        if "Id" in rule:
            api["ID"] = rule["Id"]
        nve = rule.get("NoncurrentVersionExpiration")
        if nve is not None:
            api["NoncurrentVersionExpiration"] = {"NoncurrentDays": str(nve["NoncurrentDays"])}
        abort = rule.get("AbortIncompleteMultipartUpload")
        if abort is not None:
            api["AbortIncompleteMultipartUpload"] = {
                "DaysAfterInitiation": str(abort["DaysAfterInitiation"])
            }
        if "ExpirationInDays" in rule:
            api["Expiration"] = {"Days": str(rule["ExpirationInDays"])}
        rules.append(api)
    return rules


def _configure_bucket(backend, name, props, updating):
    """Apply the bucket properties moto's model skips. On update, a property that
    left the template is removed (replication, public access block), as
    CloudFormation does; versioning, once enabled, is suspended instead."""
    versioning = props.get("VersioningConfiguration")
    if versioning is not None:
        backend.put_bucket_versioning(name, versioning.get("Status", "Suspended"))
    elif updating and backend.get_bucket_versioning(name) == "Enabled":
        backend.put_bucket_versioning(name, "Suspended")
    replication = props.get("ReplicationConfiguration")
    if replication is not None:
        backend.put_bucket_replication(name, _api_replication(replication))
    elif updating:
        backend.delete_bucket_replication(name)
    lifecycle = props.get("LifecycleConfiguration")
    if lifecycle is not None:
        backend.put_bucket_lifecycle(name, _api_lifecycle(lifecycle))
    elif updating:
        backend.delete_bucket_lifecycle(name)
    block = props.get("PublicAccessBlockConfiguration")
    if block:
        backend.put_public_access_block(name, dict(block))
    elif updating:
        backend.delete_public_access_block(name)


#: Regions where S3 offers no account regional namespace
#: (https://docs.aws.amazon.com/AmazonS3/latest/userguide/gpbucketnamespaces.html).
NO_ACCOUNT_REGIONAL_NAMESPACE = ("me-central-1", "me-south-1")


def check_bucket_namespace(name, props, account_id, region_name):
    """S3's account regional namespace, which moto 5.2.5 does not know: a bucket
    created with ``BucketNamespace: account-regional`` must be named
    ``<prefix>-<account id>-<region>-an`` for the creating account and region, and
    a name ending ``-an`` is reserved to that namespace; the namespace does not
    exist in the Middle East regions.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html ("Account
    regional namespace naming rules"),
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/gpbucketnamespaces.html"""
    regional = props.get("BucketNamespace") == "account-regional"
    suffix = f"-{account_id}-{region_name}-an"
    if regional and region_name in NO_ACCOUNT_REGIONAL_NAMESPACE:
        raise Exception(
            f"Account regional namespaces are not supported in {region_name} (InvalidArgument)"
        )
    if regional and not (name.endswith(suffix) and len(name) > len(suffix)):
        raise Exception(
            f"Bucket {name} is not a valid name in the account regional namespace: it must end "
            f"with {suffix} (InvalidBucketName)",
        )
    if not regional and name.endswith("-an"):
        raise Exception(
            f"Bucket {name}: the -an suffix is reserved to account regional namespaces (InvalidBucketName)",
        )


def apply_bucket_configuration():
    """moto 5.2.5's CloudFormation model of ``AWS::S3::Bucket`` applies only
    ``BucketEncryption`` and ``Tags``: a bucket created or updated through a stack
    has no versioning, no replication rules, no lifecycle rules and no public access
    block. Wrap its create and update so that they also apply those four through
    moto's own S3 backend (visible to GetBucketVersioning, GetBucketReplication,
    GetBucketLifecycleConfiguration, GetPublicAccessBlock)."""
    from moto.s3.models import FakeBucket, s3_backends

    create = FakeBucket.create_from_cloudformation_json.__func__
    update = FakeBucket.update_from_cloudformation_json.__func__

    def create_and_configure(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        check_bucket_namespace(resource_name, cloudformation_json.get("Properties", {}), account_id, region_name)
        bucket = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        backend = s3_backends[account_id][get_partition(region_name)]
        _configure_bucket(backend, bucket.name, cloudformation_json.get("Properties", {}), False)
        return bucket

    def update_and_configure(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        bucket = update(
            cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
        backend = s3_backends[account_id][get_partition(region_name)]
        _configure_bucket(backend, bucket.name, cloudformation_json.get("Properties", {}), True)
        return bucket

    FakeBucket.create_from_cloudformation_json = classmethod(create_and_configure)
    FakeBucket.update_from_cloudformation_json = classmethod(update_and_configure)


def versioning_response():
    """moto 5.2.5 answers GetBucketVersioning with a ``GetBucketVersioningResponse``
    root; S3 (and the SDKs, which refuse anything else) use
    ``VersioningConfiguration``. Answer with that."""
    from moto.s3.responses import S3Response

    def get_bucket_versioning(self):
        self.data["Action"] = "GetBucketVersioning"
        status = self.backend.get_bucket_versioning(self.bucket_name)
        inner = f"<Status>{status}</Status>" if status else ""
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"{inner}</VersioningConfiguration>"
        )
        return 200, {"Content-Type": "application/xml"}, body

    S3Response.get_bucket_versioning = get_bucket_versioning


def forget_removed_resources():
    """moto 5.2.5's stack update deletes the resources that left the template but
    keeps them in the stack's cache of created resources; when a later update adds
    the same logical id again, moto finds it in the cache and creates nothing. So a
    region re-wired after a build-phase update (records, replication role, alarms
    removed, then added back) ended with none of them. Drop removed resources from
    the cache after each update."""
    from moto.cloudformation.parsing import ResourceMap

    update = ResourceMap.update

    def update_and_forget(self, template, parameters=None):
        removed = self.build_resource_diff(template, parameters)["Remove"]
        update(self, template, parameters)
        for logical_id in removed:
            self._parsed_resources.pop(logical_id, None)

    ResourceMap.update = update_and_forget


if __name__ == "__main__":
    from moto.server import main

    import moto_cfn_import  # IMPORT change sets (uses moto_cfn_lifecycle's timeline)
    import moto_cfn_lifecycle
    import moto_cfn_resources
    import moto_autoscaling  # next to this file: on sys.path when run as a script
    import moto_changesets
    import moto_cloudwatch
    import moto_iam  # audit: a control endpoint, AdministratorAccess
    import moto_route53
    import moto_origin_access  # prefix lists, the origin secret, dynamic references
    import moto_sqs  # dead-letter queue redrive: message move tasks
    import moto_s3_objects  # conditional copies (If-None-Match) for the back-fill
    import moto_ssm
    import moto_instances  # user data runs: the AMI's app answers the health checks

    moto_route53.install()
    moto_iam.install()
    moto_changesets.install()
    import moto_sns  # alert topics: subscriptions, topic policies, alarm actions

    moto_cloudwatch.install()
    moto_sns.install()
    moto_autoscaling.install()
    moto_ssm.install()
    moto_instances.install()
    moto_sqs.install()
    moto_s3_objects.install()
    moto_acm.install()
    moto_origin_access.install()
    moto_cfn_resources.install()
    moto_cfn_lifecycle.install()  # after moto_cfn_resources: records its operations
    moto_cfn_import.install()  # after moto_cfn_lifecycle: wraps its change sets
    keep_default_amis()
    refresh_outputs_after_change_sets()
    apply_bucket_configuration()
    versioning_response()
    forget_removed_resources()

    main(sys.argv[1:])
