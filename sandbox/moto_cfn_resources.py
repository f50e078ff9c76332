"""No silently skipped resource: every type strata's templates emit is materialized.

moto 5.2.5's CloudFormation logs "No Moto CloudFormation support for X" and *skips*
a resource whose type it has no model for: the stack ends CREATE_COMPLETE without
it. CloudFormation either creates a resource or fails it. This module

- makes a resource of a type the sandbox does not model fail (``CREATE_FAILED``,
  reason naming the type; ``moto_cfn_lifecycle`` then rolls the stack back), see
  ``fail_unmodelled_types``;
- replaces (creates anew, then deletes the old one) a resource whose type moto can
  create but not update, instead of moto's silent ``None`` (which dropped the
  resource from the stack), see ``replace_what_moto_cannot_update``;
- models the types strata emits that moto skips, each backed by moto's own backend
  so the service's API reads them back:
  ``AWS::DynamoDB::GlobalTable`` (a table in every replica region, DescribeTable
  lists the replicas; at most one replica added or removed per update),
  ``AWS::S3::BucketPolicy`` (GetBucketPolicy) and
  ``AWS::AutoScaling::ScalingPolicy`` (DescribePolicies);
- associates the subnet of an ``AWS::EC2::SubnetRouteTableAssociation`` with its
  route table, as DescribeRouteTables then reports it (moto kept the resource in a
  dictionary of its own), see ``subnet_associations_associate``.

AWS pages: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-dynamodb-globaltable.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-s3-bucketpolicy.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-autoscaling-scalingpolicy.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-subnetroutetableassociation.html
"""

import json

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.utilities.utils import get_partition


class ResourceFailed(Exception):
    """A resource operation CloudFormation would report as *_FAILED, with its reason."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


# --- AWS::DynamoDB::GlobalTable -------------------------------------------------


def _ddb(account_id, region):
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[account_id][region]


def _replica_regions(props):
    return [r["Region"] for r in props.get("Replicas", [])]


class StrataGlobalTable(CloudFormationModel):
    """``AWS::DynamoDB::GlobalTable`` (version 2019.11.21): one table of the same name
    in every replica region, each listing the others as ``Replicas``."""

    __module__ = "moto.dynamodb.strata"

    def __init__(self, name, account_id, regions):
        self.name = name
        self.account_id = account_id
        self.regions = list(regions)

    @property
    def physical_resource_id(self):
        return self.name

    @staticmethod
    def cloudformation_name_type():
        return "TableName"

    @staticmethod
    def cloudformation_type():
        return "AWS::DynamoDB::GlobalTable"

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr in ("Arn", "StreamArn", "TableId")

    def _table(self, region):
        return _ddb(self.account_id, region).get_table(self.name)

    def get_cfn_attribute(self, attribute_name):
        home = self.regions[0]
        table = self._table(home)
        if attribute_name == "Arn":
            return table.table_arn
        if attribute_name == "StreamArn":
            return f"{table.table_arn}/stream/{table.latest_stream_label}"
        if attribute_name == "TableId":
            return f"{self.name}-{home}"
        raise UnformattedGetAttTemplateException()

    @staticmethod
    def _create_replica(account_id, region, name, props, replica):
        backend = _ddb(account_id, region)
        if name in backend.tables:
            raise ResourceFailed(
                f"Resource of type 'AWS::DynamoDB::GlobalTable' with identifier "
                f"'{name}' already exists in {region}."
            )
        billing = "PAY_PER_REQUEST" if props.get("BillingMode") == "PAY_PER_REQUEST" else "PROVISIONED"
        throughput = None
        if billing == "PROVISIONED":
            write = props.get("WriteProvisionedThroughputSettings", {})
            read = replica.get("ReadProvisionedThroughputSettings", {})
            throughput = {
                "ReadCapacityUnits": int(read.get("ReadCapacityUnits", 5)),
                "WriteCapacityUnits": int(write.get("WriteCapacityUnits", 5)),
            }
        sse = props.get("SSESpecification")
        backend.create_table(
            name,
            schema=props.get("KeySchema", []),
            throughput=throughput,
            attr=props.get("AttributeDefinitions", []),
            global_indexes=props.get("GlobalSecondaryIndexes", []),
            indexes=props.get("LocalSecondaryIndexes", []),
            streams=props.get("StreamSpecification"),
            billing_mode=billing,
            sse_specification={"Enabled": bool(sse.get("SSEEnabled"))} if sse else None,
            tags=list(replica.get("Tags", [])),
            deletion_protection_enabled=bool(replica.get("DeletionProtectionEnabled", False)),
            warm_throughput=None,
        )

    def _link(self):
        """Every replica's table lists the other replicas (DescribeTable ``Replicas``)."""
        for region in self.regions:
            self._table(region).strata_replicas = [r for r in self.regions if r != region]

    @staticmethod
    def _check(props, region_name):
        regions = _replica_regions(props)
        if region_name not in regions:
            raise ResourceFailed(
                "The Replicas of an AWS::DynamoDB::GlobalTable must include the stack's "
                f"region ({region_name})."
            )
        if len(set(regions)) != len(regions):
            raise ResourceFailed("Duplicate replica region in AWS::DynamoDB::GlobalTable Replicas.")
        return regions

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json.get("Properties", {})
        regions = cls._check(props, region_name)
        # The stack's region first (the global table's home, where GetAtt reads).
        regions = [region_name] + [r for r in regions if r != region_name]
        replicas = {r["Region"]: r for r in props.get("Replicas", [])}
        made = []
        try:
            for region in regions:
                cls._create_replica(account_id, region, resource_name, props, replicas[region])
                made.append(region)
        except Exception:
            for region in made:
                _ddb(account_id, region).tables.pop(resource_name, None)
            raise
        table = cls(resource_name, account_id, regions)
        table._link()
        return table

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        props = cloudformation_json.get("Properties", {})
        if new_resource_name != original_resource.name:
            raise ResourceFailed(
                "CloudFormation cannot update a stack when a custom-named resource requires "
                f"replacing. Rename {new_resource_name} and update the stack again."
            )
        regions = cls._check(props, region_name)
        old = set(original_resource.regions)
        added = [r for r in regions if r not in old]
        removed = [r for r in original_resource.regions if r not in regions]
        if len(added) + len(removed) > 1:
            raise ResourceFailed(
                "You can only add or remove a single replica in each update of an "
                f"AWS::DynamoDB::GlobalTable (this update adds {added} and removes {removed})."
            )
        replicas = {r["Region"]: r for r in props.get("Replicas", [])}
        for region in added:
            cls._create_replica(account_id, region, original_resource.name, props, replicas[region])
        for region in removed:
            _ddb(account_id, region).tables.pop(original_resource.name, None)
        for region in regions:
            if region in old:
                # The replica's tags are the template's (ListTagsOfResource).
                original_resource._table(region).tags = list(replicas[region].get("Tags", []))
        order = [region_name] + [r for r in regions if r != region_name]
        table = cls(original_resource.name, account_id, order)
        table._link()
        return table

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        props = cloudformation_json.get("Properties", {})
        for region in _replica_regions(props) or [region_name]:
            _ddb(account_id, region).tables.pop(resource_name, None)

    def delete(self, account_id, region_name):
        for region in self.regions:
            _ddb(account_id, region).tables.pop(self.name, None)

    def is_created(self):
        return True


def describe_table_with_replicas():
    """DescribeTable of a global table's replica lists the other replicas, as
    DynamoDB answers for version 2019.11.21 global tables."""
    from moto.dynamodb.models.table import Table

    describe = Table.describe

    def describe_with_replicas(self, base_key="TableDescription"):
        out = describe(self, base_key)
        replicas = getattr(self, "strata_replicas", None)
        if replicas is not None:
            out[base_key]["Replicas"] = [
                {"RegionName": r, "ReplicaStatus": "ACTIVE"} for r in replicas
            ]
        return out

    Table.describe = describe_with_replicas


# --- AWS::S3::BucketPolicy ------------------------------------------------------


def _s3(account_id, region):
    from moto.s3.models import s3_backends

    return s3_backends[account_id][get_partition(region)]


class StrataBucketPolicy(CloudFormationModel):
    """``AWS::S3::BucketPolicy``: the policy document on the bucket (GetBucketPolicy)."""

    __module__ = "moto.s3.strata"

    def __init__(self, bucket, document):
        self.bucket = bucket
        self.document = document

    @property
    def physical_resource_id(self):
        return self.bucket

    @staticmethod
    def cloudformation_name_type():
        return ""

    @staticmethod
    def cloudformation_type():
        return "AWS::S3::BucketPolicy"

    @classmethod
    def has_cfn_attr(cls, attr):
        return False

    @staticmethod
    def _put(account_id, region_name, props):
        bucket = props.get("Bucket")
        document = props.get("PolicyDocument")
        if not bucket or document is None:
            raise ResourceFailed("AWS::S3::BucketPolicy needs Bucket and PolicyDocument.")
        if isinstance(document, str):
            document = json.loads(document)
        backend = _s3(account_id, region_name)
        from moto.s3.exceptions import MissingBucket

        try:
            backend.put_bucket_policy(bucket, json.dumps(document).encode())
        except MissingBucket:
            raise ResourceFailed(f"The specified bucket does not exist: {bucket}")
        return bucket, document

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        return cls(*cls._put(account_id, region_name, cloudformation_json.get("Properties", {})))

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        props = cloudformation_json.get("Properties", {})
        if props.get("Bucket") != original_resource.bucket:
            original_resource.delete(account_id, region_name)
        return cls(*cls._put(account_id, region_name, props))

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        cls(resource_name, None).delete(account_id, region_name)

    def delete(self, account_id, region_name):
        backend = _s3(account_id, region_name)
        if self.bucket in backend.buckets:
            backend.delete_bucket_policy(self.bucket)

    def is_created(self):
        return True


# --- AWS::AutoScaling::ScalingPolicy ----------------------------------------------


def _asg(account_id, region):
    from moto.autoscaling.models import autoscaling_backends

    return autoscaling_backends[account_id][region]


class StrataScalingPolicy(CloudFormationModel):
    """``AWS::AutoScaling::ScalingPolicy`` on its group (DescribePolicies).
    ``Ref`` is the policy ARN, as CloudFormation returns."""

    __module__ = "moto.autoscaling.strata"

    def __init__(self, policy):
        self.policy = policy

    @property
    def physical_resource_id(self):
        return self.policy.arn

    @staticmethod
    def cloudformation_name_type():
        return ""

    @staticmethod
    def cloudformation_type():
        return "AWS::AutoScaling::ScalingPolicy"

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr in ("Arn", "PolicyName")

    def get_cfn_attribute(self, attribute_name):
        if attribute_name == "Arn":
            return self.policy.arn
        if attribute_name == "PolicyName":
            return self.policy.name
        raise UnformattedGetAttTemplateException()

    @staticmethod
    def _put(name, account_id, region_name, props):
        backend = _asg(account_id, region_name)
        group = props.get("AutoScalingGroupName")
        if group not in backend.autoscaling_groups:
            raise ResourceFailed(f"AutoScalingGroup name not found - {group}")
        policy_type = props.get("PolicyType", "SimpleScaling")
        cooldown = props.get("Cooldown")
        adjustment = props.get("ScalingAdjustment")
        return backend.put_scaling_policy(
            name=name,
            policy_type=policy_type,
            metric_aggregation_type=props.get("MetricAggregationType"),
            adjustment_type=props.get("AdjustmentType"),
            as_name=group,
            min_adjustment_magnitude=props.get("MinAdjustmentMagnitude"),
            scaling_adjustment=int(adjustment) if adjustment is not None else None,
            cooldown=int(cooldown) if cooldown is not None else None,
            target_tracking_config=props.get("TargetTrackingConfiguration"),
            step_adjustments=props.get("StepAdjustments"),
            estimated_instance_warmup=props.get("EstimatedInstanceWarmup"),
            predictive_scaling_configuration=props.get("PredictiveScalingConfiguration"),
        )

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json.get("Properties", {})
        return cls(cls._put(resource_name, account_id, region_name, props))

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        props = cloudformation_json.get("Properties", {})
        old = original_resource.policy
        if props.get("AutoScalingGroupName") != old.auto_scaling_group_name:
            original_resource.delete(account_id, region_name)
        return cls(cls._put(old.name, account_id, region_name, props))

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        backend = _asg(account_id, region_name)
        for name, policy in list(backend.policies.items()):
            if policy.arn == resource_name:
                backend.delete_policy(name)

    def delete(self, account_id, region_name):
        _asg(account_id, region_name).delete_policy(self.policy.name)

    def is_created(self):
        return True


# --- no silent skip -------------------------------------------------------------


def fail_unmodelled_types():
    """A resource whose type has no model fails (CREATE_FAILED in the lifecycle
    module) with a reason naming the type, instead of being skipped."""
    from moto.cloudformation import parsing

    create = parsing.parse_and_create_resource

    def create_or_fail(logical_id, resource_json, resources_map, account_id, region_name):
        condition = resource_json.get("Condition")
        if condition and not resources_map.lazy_condition_map[condition]:
            return None
        rtype = resource_json["Type"]
        if (
            rtype not in parsing.NULL_MODELS
            and not rtype.startswith("Custom::")
            and rtype not in parsing.get_model_map()
        ):
            raise ResourceFailed(
                f"The strata sandbox does not model resource type {rtype} "
                f"(resource {logical_id}): it cannot create it, so the stack operation fails."
            )
        return create(logical_id, resource_json, resources_map, account_id, region_name)

    parsing.parse_and_create_resource = create_or_fail


def remember_what_an_update_starts_from():
    """Keep, for the update's duration, the template and parameters the stack had
    before it (``attributes_only`` compares with them)."""
    from moto.cloudformation import parsing

    original = parsing.ResourceMap.update

    def update(self, template, parameters=None):
        self.__dict__["strata_before"] = (
            dict(self._resource_json_map or {}),
            dict(self.input_parameters or {}),
        )
        try:
            return original(self, template, parameters)
        finally:
            self.__dict__.pop("strata_before", None)

    parsing.ResourceMap.update = update


def attributes_only(logical_id, resource_json, resources_map):
    """The existing resource when an update changes only its resource attributes
    (``DeletionPolicy``, ``UpdateReplacePolicy``, ...), not its properties nor a
    parameter they reference; else None. CloudFormation records such a change
    without touching the resource: a change set reports it with ``Attribute:
    DeletionPolicy`` (``RequiresRecreation`` exists only for ``Properties``,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceTargetDefinition.html),
    so changing a custom-named table's DeletionPolicy neither replaces it nor
    fails. moto updated (or, without an update model, replaced) the resource."""
    from moto.cloudformation import parsing

    before = resources_map.__dict__.get("strata_before")
    if not before:
        return None
    old_json, old_parameters = before
    previous = old_json.get(logical_id)
    if (
        not isinstance(previous, dict)
        or previous.get("Type") != resource_json.get("Type")
        or previous.get("Properties") != resource_json.get("Properties")
    ):
        return None
    new_parameters = resources_map.input_parameters or {}
    for name in parsing.get_references_from_template(resource_json):
        if old_parameters.get(name) != new_parameters.get(name):
            return None
    existing = resources_map._parsed_resources.get(logical_id)
    return None if existing is None or isinstance(existing, str) else existing


def replace_what_moto_cannot_update():
    """moto's update of a resource whose model has no update returns None: the stack
    forgot the resource (a CIDR change left a stack without its VPC). CloudFormation
    updates or replaces it; replace it: create the new one, then delete the old one
    (the cleanup phase of a replacement). A custom-named resource cannot be
    replaced, as CloudFormation refuses."""
    from moto.cloudformation import parsing

    update = parsing.parse_and_update_resource

    def update_or_replace(logical_id, resource_json, resources_map, account_id, region_name):
        unchanged = attributes_only(logical_id, resource_json, resources_map)
        if unchanged is not None:
            return unchanged
        rtype = resource_json["Type"]
        cls = parsing.resource_class_from_type(rtype)
        if cls is None or not hasattr(cls.update_from_cloudformation_json, "__isabstractmethod__"):
            if cls is None and not rtype.startswith("Custom::") and rtype not in parsing.NULL_MODELS:
                raise ResourceFailed(f"The strata sandbox does not model resource type {rtype}.")
            return update(logical_id, resource_json, resources_map, account_id, region_name)
        name_prop = parsing.resource_name_property_from_type(rtype)
        if name_prop and name_prop in resource_json.get("Properties", {}):
            raise ResourceFailed(
                "CloudFormation cannot update a stack when a custom-named resource requires "
                f"replacing. Rename {resource_json['Properties'][name_prop]} and update the "
                "stack again."
            )
        old = resources_map._parsed_resources.get(logical_id)
        new = parsing.parse_and_create_resource(
            logical_id, resource_json, resources_map, account_id, region_name
        )
        if old is not None and not isinstance(old, str):
            # Deleted in the cleanup phase, once every resource is updated.
            resources_map.__dict__.setdefault("strata_cleanup", []).append(
                (old, dict(resource_json))
            )
        return new

    parsing.parse_and_update_resource = update_or_replace

    map_update = parsing.ResourceMap.update

    def update_then_clean_up(self, template, parameters=None):
        self.strata_cleanup = []
        map_update(self, template, parameters)
        pending = list(reversed(self.strata_cleanup))
        self.strata_cleanup = []
        # Replaced resources may depend on each other (old subnets on the old VPC):
        # retry dependency failures a few rounds, as moto's own delete does.
        for _ in range(5):
            left = []
            for old, resource_json in pending:
                try:
                    self._delete_resource(old, resource_json)
                except Exception:
                    left.append((old, resource_json))
            pending = left
            if not pending:
                break

    parsing.ResourceMap.update = update_then_clean_up


# --- deletes moto's models lack ---------------------------------------------------


def deletes_for_every_type():
    """moto 5.2.5's models of several EC2 and ELB types have no delete: deleting their
    stack 'succeeded' and left them (the VPC then could not be deleted: its route
    tables and gateway attachment were still there, so moto's DeleteStack failed and
    dropped the stack anyway). Delete each through its backend, as CloudFormation
    does; a delete that must wait for another (a route table still associated) fails
    and moto's delete loop tries it again after the others."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.elastic_ip_addresses import ElasticAddress
    from moto.ec2.models.internet_gateways import InternetGateway
    from moto.ec2.models.nat_gateways import NatGateway
    from moto.ec2.models.route_tables import Route, RouteTable
    from moto.ec2.models.subnets import SubnetRouteTableAssociation
    from moto.ec2.models.vpn_gateway import VPCGatewayAttachment
    from moto.elbv2.models import FakeListener, FakeTargetGroup, elbv2_backends

    def ec2(account_id, region):
        return ec2_backends[account_id][region]

    def route_table_delete(self, account_id, region):
        backend = ec2(account_id, region)
        if self.id in backend.route_tables:
            backend.delete_route_table(self.id)

    def route_delete(self, account_id, region):
        table = self.route_table
        backend = ec2(account_id, region)
        if table.id in backend.route_tables:
            table._routes.pop(self.id, None)

    def association_delete(self, account_id, region):
        backend = ec2(account_id, region)
        table = backend.route_tables.get(self.route_table_id)
        if table is None:
            return
        for association_id, subnet_id in list(table._associations.items()):
            if subnet_id == self.subnet_id:
                backend.disassociate_route_table(association_id)

    def attachment_delete(self, account_id, region):
        backend = ec2(account_id, region)
        if str(self.gateway_id).startswith("igw-"):
            igw = backend.internet_gateways.get(self.gateway_id)
            if igw is not None and igw.vpc is not None:
                backend.detach_internet_gateway(self.gateway_id, self.vpc_id)
        else:
            backend.detach_vpn_gateway(self.gateway_id, self.vpc_id)

    def igw_delete(self, account_id, region):
        backend = ec2(account_id, region)
        if self.id in backend.internet_gateways:
            backend.delete_internet_gateway(self.id)

    def nat_delete(self, account_id, region):
        backend = ec2(account_id, region)
        if self.id in backend.nat_gateways:
            backend.delete_nat_gateway(self.id)

    def eip_delete(self, account_id, region):
        backend = ec2(account_id, region)
        if any(a is self for a in backend.addresses):
            backend.release_address(allocation_id=self.allocation_id)

    def target_group_delete(self, account_id, region):
        backend = elbv2_backends[account_id][region]
        if self.arn in backend.target_groups:
            backend.delete_target_group(self.arn)

    def listener_delete(self, account_id, region):
        backend = elbv2_backends[account_id][region]
        for lb in backend.load_balancers.values():
            if self.arn in lb.listeners:
                backend.delete_listener(self.arn)
                return

    RouteTable.delete = route_table_delete
    Route.delete = route_delete
    SubnetRouteTableAssociation.delete = association_delete
    VPCGatewayAttachment.delete = attachment_delete
    InternetGateway.delete = igw_delete
    NatGateway.delete = nat_delete
    ElasticAddress.delete = eip_delete
    FakeTargetGroup.delete = target_group_delete
    FakeListener.delete = listener_delete


def subnet_associations_associate():
    """An ``AWS::EC2::SubnetRouteTableAssociation`` "associates a subnet with a
    route table" (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-subnetroutetableassociation.html):
    afterwards DescribeRouteTables lists the association in the table's
    ``Associations`` and its ``association.subnet-id`` filter finds the table
    (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRouteTables.html),
    as after AssociateRouteTable. moto 5.2.5 only recorded the resource in the
    subnet backend's ``subnet_associations``: the table had no association, so no
    subnet's route table could be found by its subnet. The association is made
    through moto's AssociateRouteTable (idempotent); the stack's delete takes it
    away again (``deletes_for_every_type``). Not modelled: the resource's physical
    id stays moto's (the route table id, where AWS answers the association id)."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.subnets import SubnetRouteTableAssociation

    create = SubnetRouteTableAssociation.create_from_cloudformation_json.__func__

    def create_and_associate(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        association = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        ec2_backends[account_id][region_name].associate_route_table(
            association.route_table_id, subnet_id=association.subnet_id
        )
        return association

    SubnetRouteTableAssociation.create_from_cloudformation_json = classmethod(create_and_associate)


def install():
    """The models register themselves on import; clear moto's cached model map (in
    case it was read before) and apply the patches above."""
    from moto.cloudformation import parsing

    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    describe_table_with_replicas()
    deletes_for_every_type()
    subnet_associations_associate()
    fail_unmodelled_types()
    remember_what_an_update_starts_from()
    replace_what_moto_cannot_update()
