"""CloudFormation change sets for strata's sandbox: idempotent retries and one
change set per name, as CloudFormation does. Imported by ``moto_strata.py``.

AWS (CreateChangeSet, ``ClientToken``: "Specify this token if you plan to retry
requests so that CloudFormation knows that you're not attempting to create
another change set with the same name. You might retry CreateChangeSet requests
to ensure that CloudFormation successfully received them."; errors:
``AlreadyExistsException`` "The resource with the name requested already exists",
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html):
a retried CreateChangeSet whose first answer was lost is answered with the change
set the first call made, and a second change set of the same name on a stack is
refused.

moto 5.2.5 ignores ``ClientToken`` and makes a second change set (and, for
``ChangeSetType=CREATE``, a second stack of the same name in REVIEW_IN_PROGRESS)
on every retry. ``install`` wraps moto's CreateChangeSet: a call whose
``ClientToken`` was seen for the same stack and change set name, while that change
set still exists, answers the first call's ids; another call naming a change set
that exists on a live stack of that name is refused with
``AlreadyExistsException``.

A change set (or stack) whose template declares a parameter without a ``Default``
that the call gives no value for is refused, as CloudFormation refuses it
(``ValidationError`` "Parameters: [X] must have values",
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html:
a parameter without a default needs a value); moto 5.2.5 accepted it and
resolved the ``Ref`` to nothing. A value for a parameter the template does not
declare is refused ("Parameters: [X] do not exist in the template"), and so is an
``AWS::Route53::HostedZone::Id`` value naming no hosted zone of the account (AWS
validates AWS-specific parameter types against the account's resources, same page,
"AWS-specific parameter types").
"""

import json

from moto.cloudformation.exceptions import AlreadyExistsException, ValidationError
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult

# (account, region, stack name, change set name, client token) -> (change set id, stack id)
_SEEN = {}


def _existing(backend, stack_name, change_set_name):
    for cs in backend.change_sets.values():
        if (
            cs.change_set_name == change_set_name
            and cs.stack_name == stack_name
            and cs.stack.status != "DELETE_COMPLETE"
        ):
            return cs
    return None


def _refuse_missing_parameters(response):
    """ValidationError when the template's parameters without a Default get no value."""
    body = response._get_param("TemplateBody")
    if not body:
        return  # UsePreviousTemplate / TemplateURL: not what strata sends
    try:
        declared = json.loads(body).get("Parameters", {}) or {}
    except ValueError:
        return  # a YAML template: strata writes JSON only
    given = {p.get("ParameterKey") for p in response._get_param("Parameters", [])}
    missing = sorted(
        name for name, p in declared.items() if "Default" not in p and name not in given
    )
    if missing:
        raise ValidationError(message=f"Parameters: [{', '.join(missing)}] must have values")
    unknown = sorted(k for k in given if k not in declared)
    if unknown:
        raise ValidationError(
            message=f"Parameters: [{', '.join(unknown)}] do not exist in the template"
        )
    for p in response._get_param("Parameters", []):
        name, value = p.get("ParameterKey"), p.get("ParameterValue")
        kind = (declared.get(name) or {}).get("Type")
        if kind == "AWS::Route53::HostedZone::Id" and value is not None:
            if not _zone_exists(response.current_account, response.region, value):
                raise ValidationError(
                    message=f"Parameter validation failed: parameter value {value} for "
                    f"parameter name {name} does not exist. Rollback requested by user."
                )


def _zone_exists(account_id, region, zone_id):
    """An AWS-specific parameter type's value must exist in the account
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html#aws-specific-parameter-types):
    for AWS::Route53::HostedZone::Id, a hosted zone of that id."""
    from moto.route53.models import route53_backends
    from moto.utilities.utils import get_partition

    zones = route53_backends[account_id][get_partition(region)].zones
    return zone_id.split("/")[-1] in {z.split("/")[-1] for z in zones}


def install():
    create = CloudFormationResponse.create_change_set
    create_stack = CloudFormationResponse.create_stack

    def checked_create_stack(self):
        _refuse_missing_parameters(self)
        return create_stack(self)

    CloudFormationResponse.create_stack = checked_create_stack

    def create_change_set(self):
        _refuse_missing_parameters(self)
        backend = self.cloudformation_backend
        stack_name = self._get_param("StackName")
        name = self._get_param("ChangeSetName")
        token = self._get_param("ClientToken")
        key = (self.current_account, self.region, stack_name, name, token)
        existing = _existing(backend, stack_name, name)
        if existing is not None:
            if token and key in _SEEN and _SEEN[key][0] == existing.change_set_id:
                change_set_id, stack_id = _SEEN[key]
                return ActionResult({"Id": change_set_id, "StackId": stack_id})
            raise AlreadyExistsException(f"ChangeSet [{name}] already exists")
        result = create(self)
        if token:
            # The ids moto answered, read back from the change set just made.
            made = _existing(backend, stack_name, name)
            if made is not None:
                _SEEN[key] = (made.change_set_id, made.stack_id)
        return result

    CloudFormationResponse.create_change_set = create_change_set
