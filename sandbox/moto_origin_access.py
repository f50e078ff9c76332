"""No bypass, as AWS builds it: managed prefix lists in security groups, the origin
secret in Secrets Manager, and the dynamic references that carry it.

moto 5.2.5's CloudFormation

- drops ``SourcePrefixListId`` from a security group's ingress rules (the rule
  admits nobody, silently), and knows no ``com.amazonaws.<region>.route53-healthchecks``
  list;
- has no model of ``AWS::SecretsManager::Secret`` (``moto_cfn_resources`` would fail
  the stack);
- leaves ``{{resolve:secretsmanager:...}}`` as literal text in the resource.

This module

- adds Route 53's health-checkers list to every region's AWS-managed prefix lists
  (https://docs.aws.amazon.com/vpc/latest/userguide/working-with-aws-managed-prefix-lists.html),
  and gives each managed list its documented weight;
- applies ``SourcePrefixListId`` ingress rules of ``AWS::EC2::SecurityGroup``, failing
  the resource as EC2 does when the list does not exist in the region
  (``InvalidPrefixListID.NotFound``) or when the group's rules, a prefix list counting
  as its weight, pass 60 inbound rules
  (https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-security-groups);
- models ``AWS::SecretsManager::Secret`` on moto's Secrets Manager backend: a value
  generated per ``GenerateSecretString``, ``ReplicaRegions`` as replicas (each must
  differ from the secret's region), replicas added and removed by updates, and the
  delete CloudFormation does: replicas removed, then the secret deleted without a
  recovery window
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-secretsmanager-secret.html,
  https://docs.aws.amazon.com/secretsmanager/latest/userguide/manage_delete-secret.html);
- resolves ``{{resolve:secretsmanager:<name>:SecretString}}`` in resource properties
  from the secret (or replica) in the stack's own region, and fails the resource
  when there is none, as CloudFormation does
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-secretsmanager.html);
- deletes ``AWS::ElasticLoadBalancingV2::ListenerRule`` with its stack (moto's model
  has no delete);
- applies the ``SecurityGroupEgress`` rules of ``AWS::EC2::SecurityGroup`` (moto
  5.2.5 ignores them and leaves the allow-all default), removing the default as EC2
  does when a group is created with egress rules ("When you create a security
  group, if you do not add egress rules, we add egress rules that allow all
  outbound IPv4 and IPv6 traffic. Otherwise, we do not add them",
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-securitygroup.html),
  so that ``strata drift`` reads in the sandbox the rules AWS would hold.
"""

import re
import secrets
import string

from moto.core.common_models import CloudFormationModel
from moto_cfn_resources import ResourceFailed

# AWS-managed prefix lists: their weight, the rules each counts as in a security group.
WEIGHTS = {
    "com.amazonaws.global.cloudfront.origin-facing": 55,
    "com.amazonaws.global.ipv6.cloudfront.origin-facing": 55,
    "route53-healthchecks": 25,
}
RULES_PER_GROUP = 60

DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:secretsmanager:([^:}]+)(?::SecretString)?(?::([^:}]*))?\}\}")


def _ec2(account_id, region):
    from moto.ec2.models import ec2_backends

    return ec2_backends[account_id][region]


def _sm(account_id, region):
    from moto.secretsmanager.models import secretsmanager_backends

    return secretsmanager_backends[account_id][region]


def _weight(pl):
    name = pl.prefix_list_name or ""
    for key, weight in WEIGHTS.items():
        if name == key or name.endswith("." + key):
            return weight
    return int(pl.max_entries or len(pl.entries.get(pl.version, []) or [1]))


# --- managed prefix lists ---------------------------------------------------------


def route53_health_check_lists():
    from moto.ec2.models.managed_prefixes import ManagedPrefixListBackend

    original = ManagedPrefixListBackend.create_default_pls

    def create_default_pls(self):
        original(self)
        # A few of Route 53's published health-checker ranges (ip-ranges.json,
        # service ROUTE53_HEALTHCHECKS).
        self._create_aws_managed_prefix_list(
            name=f"com.amazonaws.{self.region_name}.route53-healthchecks",
            address_family="IPv4",
            entries=[
                {"Cidr": "15.177.0.0/18", "Description": "default"},
                {"Cidr": "54.243.31.192/26", "Description": "default"},
                {"Cidr": "54.244.52.192/26", "Description": "default"},
            ],
        )

    ManagedPrefixListBackend.create_default_pls = create_default_pls


def _managed_list(backend, pl_id):
    pl = backend.managed_prefix_lists.get(pl_id)
    if pl is None:
        raise ResourceFailed(
            f"The prefix list ID '{pl_id}' does not exist (InvalidPrefixListID.NotFound)"
        )
    return pl


def prefix_list_ingress():
    from moto.ec2.models.security_groups import SecurityGroup

    original = SecurityGroup.create_from_cloudformation_json.__func__

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json.get("Properties", {})
        rules = list(properties.get("SecurityGroupIngress", []))
        from_lists = [r for r in rules if r.get("SourcePrefixListId")]
        backend = _ec2(account_id, region_name)
        weight = sum(1 for r in rules if not r.get("SourcePrefixListId"))
        for rule in from_lists:
            weight += _weight(_managed_list(backend, rule["SourcePrefixListId"]))
        if weight > RULES_PER_GROUP:
            raise ResourceFailed(
                f"The maximum number of rules per security group has been reached: the "
                f"inbound rules of {resource_name} count {weight} (a prefix list counts as "
                f"its weight), more than {RULES_PER_GROUP} (RulesPerSecurityGroupLimitExceeded)"
            )
        others = dict(cloudformation_json)
        others["Properties"] = dict(properties)
        others["Properties"]["SecurityGroupIngress"] = [
            r for r in rules if not r.get("SourcePrefixListId")
        ]
        group = original(cls, resource_name, others, account_id, region_name, **kwargs)
        for rule in from_lists:
            backend.authorize_security_group_ingress(
                group_name_or_id=group.id,
                ip_protocol=rule["IpProtocol"],
                from_port=rule["FromPort"],
                to_port=rule["ToPort"],
                ip_ranges=[],
                prefix_list_ids=[
                    {
                        "PrefixListId": rule["SourcePrefixListId"],
                        "Description": rule.get("Description", ""),
                    }
                ],
                vpc_id=properties.get("VpcId"),
            )
        return group

    SecurityGroup.create_from_cloudformation_json = classmethod(create)


# --- AWS::SecretsManager::Secret ------------------------------------------------------


def _generate(spec):
    length = int(spec.get("PasswordLength", 32))
    alphabet = ""
    if not spec.get("ExcludeLowercase"):
        alphabet += string.ascii_lowercase
    if not spec.get("ExcludeUppercase"):
        alphabet += string.ascii_uppercase
    if not spec.get("ExcludeNumbers"):
        alphabet += string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
    excluded = spec.get("ExcludeCharacters", "")
    alphabet = "".join(c for c in alphabet if c not in excluded)
    if spec.get("IncludeSpace"):
        alphabet += " "
    if not alphabet:
        raise ResourceFailed("GenerateSecretString excludes every character.")
    return "".join(secrets.choice(alphabet) for _ in range(length))


class StrataSecret(CloudFormationModel):
    """``AWS::SecretsManager::Secret``: ``Ref`` is the ARN."""

    __module__ = "moto.secretsmanager.strata"

    def __init__(self, arn, name, account_id, region):
        self.arn = arn
        self.name = name
        self.account_id = account_id
        self.region = region

    @property
    def physical_resource_id(self):
        return self.arn

    @staticmethod
    def cloudformation_name_type():
        return "Name"

    @staticmethod
    def cloudformation_type():
        return "AWS::SecretsManager::Secret"

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr == "Id"

    def get_cfn_attribute(self, attr):
        if attr == "Id":
            return self.arn
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        raise UnformattedGetAttTemplateException()

    @staticmethod
    def _replicas(props, region):
        regions = [r["Region"] for r in props.get("ReplicaRegions", [])]
        if region in regions:
            raise ResourceFailed("Invalid replica region: a secret cannot be replicated to its own Region.")
        if len(set(regions)) != len(regions):
            raise ResourceFailed("Duplicate Region in ReplicaRegions.")
        return regions

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json.get("Properties", {})
        name = props.get("Name") or resource_name
        replicas = cls._replicas(props, region_name)
        if "SecretString" in props and "GenerateSecretString" in props:
            raise ResourceFailed("You can't specify both SecretString and GenerateSecretString.")
        value = props.get("SecretString")
        if value is None:
            value = _generate(props.get("GenerateSecretString", {}))
        backend = _sm(account_id, region_name)
        if backend._is_valid_identifier(name):
            raise ResourceFailed(f"The operation failed because the secret {name} already exists.")
        tags = [{"Key": t["Key"], "Value": t["Value"]} for t in props.get("Tags", [])]
        backend.create_secret(
            name=name,
            secret_string=value,
            secret_binary=None,
            description=props.get("Description"),
            tags=tags,
            kms_key_id=props.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[{"Region": r} for r in replicas],
            force_overwrite=False,
        )
        arn = backend.describe_secret(name).arn
        return cls(arn, name, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        props = cloudformation_json.get("Properties", {})
        name = props.get("Name") or original_resource.name
        if name != original_resource.name:
            # Name is create-only: CloudFormation replaces the secret.
            fresh = cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
            original_resource.delete(account_id, region_name)
            return fresh
        backend = _sm(account_id, region_name)
        secret = backend.describe_secret(name)
        want = cls._replicas(props, region_name)
        have = [r.region for r in secret.replicas]
        gone = [r for r in have if r not in want]
        if gone:
            backend.remove_regions_from_replication(name, gone)
        new = [{"Region": r} for r in want if r not in have]
        if new:
            backend.replicate_secret_to_regions(name, new, force_overwrite=False)
        if "Description" in props:
            secret.description = props["Description"]
        return original_resource

    def delete(self, account_id, region_name):
        backend = _sm(self.account_id, self.region)
        if not backend._is_valid_identifier(self.name):
            return
        secret = backend.describe_secret(self.name)
        regions = [r.region for r in getattr(secret, "replicas", [])]
        if regions:
            backend.remove_regions_from_replication(self.name, regions)
        backend.delete_secret(self.name, None, True)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name
    ):
        props = cloudformation_json.get("Properties", {})
        cls("", props.get("Name") or resource_name, account_id, region_name).delete(
            account_id, region_name
        )

    def is_created(self):
        return True


# --- dynamic references ---------------------------------------------------------------


def _resolve_text(text, account_id, region):
    def value(match):
        secret_id, json_key = match.group(1), match.group(2)
        backend = _sm(account_id, region)
        if not backend._is_valid_identifier(secret_id):
            raise ResourceFailed(
                f"Secrets Manager can't find the specified secret. "
                f"(dynamic reference to {secret_id} in {region})"
            )
        secret = backend.get_secret_value(secret_id, None, None)
        out = secret.get("SecretString") or ""
        if json_key:
            import json

            out = str(json.loads(out)[json_key])
        return out

    return DYNAMIC_REFERENCE.sub(value, text)


def _resolve(value, account_id, region):
    if isinstance(value, str):
        return _resolve_text(value, account_id, region) if "{{resolve:secretsmanager:" in value else value
    if isinstance(value, list):
        return [_resolve(v, account_id, region) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, account_id, region) for k, v in value.items()}
    return value


def resolve_dynamic_references():
    """Resolve secretsmanager dynamic references in a resource's properties, as
    parsed for its create or update."""
    from moto.cloudformation import parsing

    original = parsing.parse_resource

    def parse_resource(resource_json, resources_map):
        out = original(resource_json, resources_map)
        if out is None:
            return out
        resource_class, cleaned, resource_type = out
        if "{{resolve:secretsmanager:" in repr(cleaned.get("Properties", {})):
            cleaned = dict(cleaned)
            cleaned["Properties"] = _resolve(
                cleaned["Properties"], resources_map._account_id, resources_map._region_name
            )
        return resource_class, cleaned, resource_type

    parsing.parse_resource = parse_resource


# --- listener rules ---------------------------------------------------------------------


def listener_rule_delete():
    from moto.elbv2.models import FakeListenerRule, elbv2_backends

    def delete(self, account_id, region):
        backend = elbv2_backends[account_id][region]
        for lb in backend.load_balancers.values():
            for listener in lb.listeners.values():
                if self.arn in getattr(listener, "_non_default_rules", {}):
                    backend.delete_rule(self.arn)
                    return

    FakeListenerRule.delete = delete


def security_group_egress():
    from moto.ec2.models.security_groups import SecurityGroup

    original = SecurityGroup.create_from_cloudformation_json.__func__

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        group = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        properties = cloudformation_json.get("Properties", {})
        rules = properties.get("SecurityGroupEgress")
        if not rules:
            return group
        backend = _ec2(account_id, region_name)
        group.egress_rules = []
        for rule in rules:
            description = rule.get("Description", "")
            ranges, groups, lists = [], [], []
            if rule.get("CidrIp"):
                ranges.append({"CidrIp": rule["CidrIp"], "Description": description})
            if rule.get("CidrIpv6"):
                ranges.append({"CidrIpv6": rule["CidrIpv6"], "Description": description})
            if rule.get("DestinationSecurityGroupId"):
                groups.append(
                    {"GroupId": rule["DestinationSecurityGroupId"], "Description": description}
                )
            if rule.get("DestinationPrefixListId"):
                lists.append(
                    {"PrefixListId": rule["DestinationPrefixListId"], "Description": description}
                )
            protocol = str(rule["IpProtocol"])
            backend.authorize_security_group_egress(
                group_name_or_id=group.id,
                ip_protocol=protocol,
                from_port=rule.get("FromPort"),
                to_port=rule.get("ToPort"),
                ip_ranges=ranges,
                source_groups=groups,
                prefix_list_ids=lists,
                vpc_id=properties.get("VpcId"),
            )
        return group

    SecurityGroup.create_from_cloudformation_json = classmethod(create)


def install():
    from moto.cloudformation import parsing

    route53_health_check_lists()
    prefix_list_ingress()
    security_group_egress()
    resolve_dynamic_references()
    listener_rule_delete()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
