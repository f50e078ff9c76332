"""SNS for strata's alert topics, as AWS does it and moto 5.2.5 does not.

- ``AWS::SNS::Subscription`` and ``AWS::SNS::TopicPolicy`` in CloudFormation (moto
  models only ``AWS::SNS::Topic``): a subscription made by a stack is a real
  subscription of moto's SNS backend (ListSubscriptionsByTopic shows it), deleted
  with its stack; a topic policy sets the topic's ``Policy`` attribute
  (GetTopicAttributes).
- Alarm actions run on a state change: when an alarm moves into ALARM, OK or
  INSUFFICIENT_DATA with actions enabled, every SNS topic in that state's action
  list receives CloudWatch's JSON notification (``AlarmName``, ``NewStateValue``,
  ``OldStateValue``, ``NewStateReason``, ``Region``...), so an SQS queue subscribed
  to the topic receives it. AWS runs actions only on a transition, never for a state
  set again (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-actions.html);
  an action topic in another region is not published to
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
- No traffic leaves the machine: moto would POST an HTTP(S) subscription's messages
  to its endpoint with ``requests``; here only loopback endpoints are posted to,
  any other delivery is recorded in the log and dropped (the sandbox has no
  network, and must never send anything to an address that is not its own).

KMS: an ``AWS::KMS::Key`` of a template is created with its tags and policy
(``kms_keys_from_templates``).

What this does not show: e-mail delivery and the confirmation e-mail; SNS's
delivery retries; KMS encryption of messages at rest (the topic carries the key id).
"""

import json
import logging
import sys
from urllib.parse import urlparse

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.sns.models import sns_backends
from moto.utilities.utils import get_partition

log = logging.getLogger("moto_sns")

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def _backend(account_id, region_name):
    return sns_backends[account_id][region_name]


class StrataSnsSubscription(CloudFormationModel):
    """``AWS::SNS::Subscription`` for moto's CloudFormation."""

    __module__ = "moto.sns.strata"

    def __init__(self, subscription):
        self.subscription = subscription

    @property
    def physical_resource_id(self):
        return self.subscription.arn

    @staticmethod
    def cloudformation_name_type():
        return ""

    @staticmethod
    def cloudformation_type():
        return "AWS::SNS::Subscription"

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name):
        if attribute_name == "Arn":
            return self.subscription.arn
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json.get("Properties", {})
        backend = _backend(account_id, region_name)
        subscription = backend.subscribe(
            props["TopicArn"], props.get("Endpoint", ""), props["Protocol"]
        )
        if props.get("RawMessageDelivery") in (True, "true", "True"):
            backend.set_subscription_attributes(subscription.arn, "RawMessageDelivery", "true")
        return cls(subscription)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        # Endpoint, Protocol and TopicArn are create-only: an update replaces it.
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name
    ):
        backend = _backend(account_id, region_name)
        if resource_name in backend.subscriptions:
            backend.unsubscribe(resource_name)

    def delete(self, account_id, region_name):
        backend = _backend(account_id, region_name)
        if self.subscription.arn in backend.subscriptions:
            backend.unsubscribe(self.subscription.arn)

    def is_created(self):
        return True


class StrataSnsTopicPolicy(CloudFormationModel):
    """``AWS::SNS::TopicPolicy`` for moto's CloudFormation: the policy document
    becomes each listed topic's ``Policy`` attribute."""

    __module__ = "moto.sns.strata"

    def __init__(self, topics, name):
        self.topics = topics
        self.name = name

    @property
    def physical_resource_id(self):
        return self.name

    @staticmethod
    def cloudformation_name_type():
        return ""

    @staticmethod
    def cloudformation_type():
        return "AWS::SNS::TopicPolicy"

    @classmethod
    def has_cfn_attr(cls, attr):
        return False

    @classmethod
    def _apply(cls, props, account_id, region_name):
        backend = _backend(account_id, region_name)
        document = props["PolicyDocument"]
        if not isinstance(document, str):
            document = json.dumps(document)
        topics = list(props.get("Topics", []))
        for arn in topics:
            backend.get_topic(arn).policy = document
        return topics

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json.get("Properties", {})
        return cls(cls._apply(props, account_id, region_name), resource_name)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        props = cloudformation_json.get("Properties", {})
        return cls(cls._apply(props, account_id, region_name), original_resource.name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name
    ):
        return None

    def delete(self, account_id, region_name):
        # The topic keeps SNS's default policy once the stack's is gone.
        return None

    def is_created(self):
        return True


def _notification(alarm, old_state, region_name, account_id):
    """CloudWatch's alarm notification, the fields a subscriber reads
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-actions.html)."""
    return {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": account_id,
        "AlarmArn": alarm.alarm_arn,
        "NewStateValue": alarm.state_value,
        "NewStateReason": alarm.state_reason,
        "OldStateValue": old_state,
        "StateChangeTime": alarm.state_updated_timestamp.isoformat()
        if hasattr(alarm.state_updated_timestamp, "isoformat")
        else str(alarm.state_updated_timestamp),
        "Region": region_name,
        "Trigger": {
            "MetricName": alarm.metric_name,
            "Namespace": alarm.namespace,
            "Threshold": alarm.threshold,
            "ComparisonOperator": alarm.comparison_operator,
        },
    }


def alarm_actions_run_on_state_changes():
    from moto.cloudwatch.models import Alarm

    update_state = Alarm.update_state

    def update_and_act(self, reason, reason_data, state_value):
        old_state = self.state_value
        update_state(self, reason, reason_data, state_value)
        if old_state == state_value or not self.actions_enabled:
            return
        actions = {
            "ALARM": self.alarm_actions,
            "OK": self.ok_actions,
            "INSUFFICIENT_DATA": self.insufficient_data_actions,
        }.get(state_value, [])
        region_name = self.region_name
        account_id = self.alarm_arn.split(":")[4]
        for arn in actions or []:
            parts = arn.split(":")
            if len(parts) < 6 or parts[2] != "sns":
                continue
            if parts[3] != region_name:
                log.warning("alarm %s: action topic %s is not in %s: not published", self.name, arn, region_name)
                continue
            backend = _backend(parts[4], parts[3])
            try:
                topic = backend.get_topic(arn)
            except Exception:  # a topic that no longer exists: AWS drops it too
                log.warning("alarm %s: action topic %s does not exist", self.name, arn)
                continue
            message = _notification(self, old_state, region_name, account_id)
            subject = f'{state_value}: "{self.name}" in {region_name}'
            topic.publish(json.dumps(message), subject=subject[:100])

    Alarm.update_state = update_and_act


def no_delivery_off_this_machine():
    from moto.sns.models import Subscription

    publish = Subscription.publish

    def publish_locally(self, message, message_id, *args, **kwargs):
        if self.protocol in ("http", "https"):
            host = urlparse(self.endpoint).hostname or ""
            if host not in LOOPBACK:
                log.warning(
                    "sns: delivery to %s dropped (the sandbox sends nothing off this machine)",
                    self.endpoint,
                )
                print(f"sns: not delivered to {self.endpoint}: off this machine", file=sys.stderr)
                return None
        return publish(self, message, message_id, *args, **kwargs)

    Subscription.publish = publish_locally


def kms_keys_from_templates():
    """moto 5.2.5 creates an ``AWS::KMS::Key`` of a template with the template's
    tags as they are (``Key``/``Value``), where its tagger wants the API's
    ``TagKey``/``TagValue`` (the create fails with KeyError), and keeps a
    ``KeyPolicy`` object where GetKeyPolicy returns a JSON string. Translate both."""
    from moto.kms.models import Key

    create = Key.create_from_cloudformation_json.__func__

    def create_translated(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        cfn = dict(cloudformation_json)
        props = dict(cfn.get("Properties", {}))
        props["Tags"] = [
            {"TagKey": t["Key"], "TagValue": t["Value"]} for t in props.get("Tags", [])
        ]
        if not isinstance(props.get("KeyPolicy"), str):
            props["KeyPolicy"] = json.dumps(props.get("KeyPolicy", {}))
        cfn["Properties"] = props
        return create(cls, resource_name, cfn, account_id, region_name, **kwargs)

    Key.create_from_cloudformation_json = classmethod(create_translated)


def install():
    """The alarm-action and delivery rules, and KMS keys from templates (the
    CloudFormation models register themselves when this module is imported)."""
    alarm_actions_run_on_state_changes()
    no_delivery_off_this_machine()
    kms_keys_from_templates()
