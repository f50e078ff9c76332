"""Auto Scaling for strata's sandbox: updates that reach the instances. Imported by
``moto_strata.py``; ``install()`` applies it.

AWS (CloudFormation, ``UpdatePolicy`` attribute,
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-updatepolicy.html):
with an ``AutoScalingRollingUpdate`` policy, a change of the group's
``LaunchTemplate`` property (or ``VPCZoneIdentifier``) makes CloudFormation replace
the group's *instances*, ``MaxBatchSize`` at a time, keeping at least
``MinInstancesInService`` in service (raising the group's capacity for the update
when it must, never above ``MaxSize``); the group itself stays. Without an update
policy the group only takes the new launch template for instances it launches
later.

moto 5.2.5 does none of it:

- an ``AWS::AutoScaling::AutoScalingGroup`` whose template text is unchanged is
  never updated, even when a ``Fn::GetAtt`` it reads changed: an AMI update made a
  new launch-template version (``LatestVersionNumber`` 2) and every group stayed on
  version 1 with its old instances (``roll_after_stack_updates``);
- a group that is updated is deleted and created again (all instances at once, a
  new group) instead of being updated in place (``in_place_group_updates``);
- instances are launched from the template's *default* version whatever version
  the group names (the ``aws:ec2launchtemplate:version`` tag, tags and user data
  came from version 1), and DescribeAutoScalingGroups reports every instance on the
  default version (``instances_keep_their_version``);
- a replaced instance stays registered in the group's target groups, and reported
  ``healthy`` there although it is terminated.

What this module models: the in-place update of a group's size, subnets, target
groups, health check settings and launch template; the rolling replacement, batch
by batch, of every InService instance that does not run the group's current
launch-template version (or subnets), as the policy says; each new instance is
InService and registered in the group's target groups (moto reports a registered
running instance ``healthy``), each replaced one deregistered and terminated; the
stack events CloudFormation writes on the group during a rolling update (their
reason texts are AWS's); the scaling activities of the launches and terminations
(DescribeScalingActivities, which moto answers empty). Emulated, not modelled: time
(a batch is instant; ``PauseTime`` and resource signals are not waited for; the
lifecycle module may add durations), instance boot and the health of the
application on the instance (a running instance registered in a target group is
healthy).
"""

import time
import datetime
import uuid

from moto.autoscaling.models import (
    ASG_NAME_TAG,
    FakeAutoScalingGroup,
    InstanceState,
    autoscaling_backends,
)
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.utils import utcnow

# The group's activities (DescribeScalingActivities), newest last, per group ARN.
_ACTIVITIES = {}


def _int(value, default=None):
    if value is None or value == "":
        return default
    return int(value)


def _version_number(group):
    """The launch-template version number the group launches from now."""
    if group.ec2_launch_template is None:
        return None
    return group.ec2_launch_template.get_version(group.launch_template_version).number


def _instance_version(state):
    tags = state.instance.get_tags() if hasattr(state.instance, "get_tags") else []
    for tag in tags:
        if tag.get("key") == "aws:ec2launchtemplate:version":
            return _int(tag.get("value"))
    return None


def _instance_template_id(state):
    tags = state.instance.get_tags() if hasattr(state.instance, "get_tags") else []
    for tag in tags:
        if tag.get("key") == "aws:ec2launchtemplate:id":
            return tag.get("value")
    return None


def _subnets(group):
    return [s for s in (group.vpc_zone_identifier or "").split(",") if s]


def _obsolete(group, state):
    """An instance that does not run what the group launches now."""
    lt = group.ec2_launch_template
    if lt is not None:
        if _instance_template_id(state) != lt.id:
            return True
        if _instance_version(state) != _version_number(group):
            return True
    subnets = _subnets(group)
    if subnets and getattr(state.instance, "subnet_id", None) not in subnets:
        return True
    return False


def _activity(group, description, cause):
    now = utcnow()
    _ACTIVITIES.setdefault(group.arn, []).append(
        {
            "ActivityId": str(uuid.uuid4()),
            "AutoScalingGroupName": group.name,
            "AutoScalingGroupARN": group.arn,
            "Description": description,
            "Cause": cause,
            "StartTime": now,
            "EndTime": now,
            "StatusCode": "Successful",
            "Progress": 100,
        }
    )


def launch(group, count, cause):
    """Launch ``count`` instances from the group's current launch-template version
    (moto launched from the default version): what ``replace_autoscaling_group_instances``
    does, with the version passed on. Each subnet of the group in turn, as Auto
    Scaling balances the group across its Availability Zones."""
    if count <= 0:
        return []
    tags = group.get_propagated_tags()
    tags[ASG_NAME_TAG] = group.name
    tags.update(group.instance_tags)
    launch_template = None
    if group.ec2_launch_template is not None:
        launch_template = {
            "LaunchTemplateId": group.ec2_launch_template.id,
            "Version": str(_version_number(group)),
        }
    subnets = _subnets(group)
    associate = group.launch_config.associate_public_ip_address if group.launch_config else None
    launched = []
    for i in range(count):
        subnet_id = None
        placement = group.availability_zones[i % len(group.availability_zones)]
        if subnets:
            in_use = [s.instance.subnet_id for s in group.instance_states]
            subnet_id = min(subnets, key=lambda s: (in_use.count(s), subnets.index(s)))
            subnet = group.ec2_backend.get_subnet(subnet_id)
            placement = subnet.availability_zone
        reservation = group.ec2_backend.run_instances(
            group.image_id,
            1,
            group.user_data,
            group.security_groups,
            instance_type=group.instance_type,
            tags={"instance": dict(tags)},
            placement=placement,
            launch_config=group.launch_config,
            launch_template=launch_template,
            is_instance_type_default=False,
            associate_public_ip=associate,
            subnet_id=subnet_id,
        )
        for instance in reservation.instances:
            instance.autoscaling_group = group
            group.instance_states.append(
                InstanceState(
                    instance,
                    protected_from_scale_in=group.new_instances_protected_from_scale_in,
                )
            )
            launched.append(instance.id)
            _activity(group, f"Launching a new EC2 instance: {instance.id}", cause)
    _register(group)
    return launched


def _register(group):
    backend = group.autoscaling_backend
    if group.name in backend.autoscaling_groups:
        backend.update_attached_elbs(group.name)
        backend.update_attached_target_groups(group.name)


def terminate(group, states, cause):
    """Take instances out of the group: deregistered from its target groups, then
    terminated (Auto Scaling deregisters before it terminates)."""
    if not states:
        return []
    ids = [s.instance.id for s in states]
    elbv2 = group.autoscaling_backend.elbv2_backend
    for arn in group.target_group_arns:
        try:
            elbv2.deregister_targets(arn, [{"Id": i} for i in ids])
        except Exception:  # the target group may be gone with its stack
            pass
    group.ec2_backend.terminate_instances(ids)
    group.instance_states = [s for s in group.instance_states if s.instance.id not in ids]
    for i in ids:
        _activity(group, f"Terminating EC2 instance: {i}", cause)
    return ids


def rolling_update(group, policy, events):
    """Replace the group's obsolete InService instances as ``AutoScalingRollingUpdate``
    says; ``events(status, reason)`` writes the stack events CloudFormation writes.
    Returns the number of batches."""
    rolling = (policy or {}).get("AutoScalingRollingUpdate")
    if rolling is None:
        return 0
    obsolete = [s for s in group.active_instances() if _obsolete(group, s)]
    if not obsolete:
        return 0
    batch_size = max(1, _int(rolling.get("MaxBatchSize"), 1))
    keep = _int(rolling.get("MinInstancesInService"), 0)
    max_size = group.max_size if group.max_size is not None else len(group.instance_states)
    if keep >= max_size:
        # AWS refuses this before touching an instance.
        from moto.cloudformation.exceptions import ValidationError

        raise ValidationError(
            message=f"MinInstancesInService must be less than the autoscaling group's MaxSize ({max_size})"
        )
    desired = group.desired_capacity or 0
    pause = rolling.get("PauseTime", "PT0S")
    waits = str(rolling.get("WaitOnResourceSignals", "false")).lower() == "true"
    events(
        "UPDATE_IN_PROGRESS",
        f"Rolling update initiated. Terminating {len(obsolete)} obsolete instance(s) in "
        f"batches of {batch_size}, while keeping at least {keep} instance(s) in service. "
        + (
            f"Waiting on resource signals with a timeout of {pause} when new instances "
            "are added to the autoscaling group."
            if waits
            else f"Pausing for {pause} after each batch."
        ),
    )
    cause = (
        f"At {datetime.datetime.utcnow().isoformat(timespec='seconds')}Z a rolling update "
        "of the group's instances by CloudFormation replaced an obsolete instance."
    )
    signals = str(rolling.get("WaitOnResourceSignals", "false")).lower() == "true"
    batches = 0
    done = 0
    total = len(obsolete)
    raised = False
    while obsolete:
        in_service = len(group.active_instances())
        size = min(batch_size, len(obsolete))
        # Taking `size` out must leave `keep` in service: launch what is missing
        # first, above the desired capacity but never above MaxSize (a smaller
        # batch when there is no room; `keep < MaxSize` leaves room for one).
        room = max(0, max_size - in_service)
        missing = max(0, keep - (in_service - size))
        if missing > room:
            size = max(1, size - (missing - room))
            missing = max(0, keep - (in_service - size))
        if missing:
            if not raised:
                events(
                    "UPDATE_IN_PROGRESS",
                    "Temporarily setting autoscaling group MinSize and DesiredCapacity to "
                    f"{in_service + missing}.",
                )
                raised = True
            launch(group, missing, cause)
        batch, obsolete = obsolete[:size], obsolete[size:]
        ids = terminate(group, batch, cause)
        done += len(ids)
        events(
            "UPDATE_IN_PROGRESS",
            f"Successfully terminated instance(s) [{','.join(ids)}] "
            f"(Progress {round(100 * done / total)}%).",
        )
        refill = max(0, size - missing)
        if refill:
            launch(group, refill, cause)
            events(
                "UPDATE_IN_PROGRESS",
                (
                    f"New instance(s) added to autoscaling group - Waiting on {refill} "
                    f"resource signal(s) with a timeout of {pause}."
                )
                if signals
                else "New instance(s) added to autoscaling group.",
            )
        batches += 1
    # Back to the desired capacity: the temporary room goes.
    extra = len(group.active_instances()) - desired
    if extra > 0:
        terminate(group, group.active_instances()[:extra], cause)
    elif extra < 0:
        launch(group, -extra, cause)
    if raised:
        events(
            "UPDATE_IN_PROGRESS",
            f"Setting autoscaling group MinSize and DesiredCapacity back to {desired}.",
        )
    _register(group)
    return batches


def _apply_properties(group, props):
    """Update the group in place from its resolved CloudFormation properties, as
    UpdateAutoScalingGroup does (no instance is replaced here)."""
    subnets = ",".join(props.get("VPCZoneIdentifier", [])) or None
    group._set_azs_and_vpcs(props.get("AvailabilityZones", []), subnets, update=True)
    if props.get("MaxSize") is not None:
        group.max_size = _int(props["MaxSize"])
    if props.get("MinSize") is not None:
        group.min_size = _int(props["MinSize"])
    group._set_launch_configuration(
        props.get("LaunchConfigurationName"), props.get("LaunchTemplate", {}), props.get("MixedInstancesPolicy") or None
    )
    if props.get("HealthCheckGracePeriod") is not None:
        group.health_check_grace_period = _int(props["HealthCheckGracePeriod"])
    if props.get("HealthCheckType") is not None:
        group.health_check_type = props["HealthCheckType"]
    arns = list(props.get("TargetGroupARNs", []))
    left = [a for a in group.target_group_arns if a not in arns]
    if left:
        elbv2 = group.autoscaling_backend.elbv2_backend
        ids = [{"Id": s.instance.id} for s in group.instance_states]
        for arn in left:
            try:
                elbv2.deregister_targets(arn, ids)
            except Exception:
                pass
    group.target_group_arns = arns
    if "Tags" in props:
        group.tags = list(props.get("Tags") or [])


def _stack_events(account_id, region_name, stack_id, logical_id, group):
    from moto.cloudformation.models import Event, cloudformation_backends

    def write(status, reason):
        backend = cloudformation_backends[account_id][region_name]
        stack = backend.stacks.get(stack_id)
        if stack is None:
            return
        event = Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=group.name,
            resource_type="AWS::AutoScaling::AutoScalingGroup",
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
        append_stack_event(stack, event)

    return write


def append_stack_event(stack, event):
    """Add a stack event. With the timed lifecycle (moto_cfn_lifecycle.py) a
    stack's events are a view of its timeline: add the event there, visible from
    now on."""
    timeline = stack.__dict__.get("strata_events")
    if timeline is not None:
        event.strata_at = time.time()
        timeline.append(event)
    else:
        stack.events.append(event)


def update_group(group, resource_json, events):
    """The whole update of one group from its resolved resource JSON: properties in
    place, then the rolling replacement the update policy asks for."""
    props = resource_json.get("Properties", {})
    _apply_properties(group, props)
    desired = props.get("DesiredCapacity")
    if desired is not None and _int(desired) != group.desired_capacity:
        group.set_desired_capacity(_int(desired))
    rolling_update(group, resource_json.get("UpdatePolicy"), events)
    _register(group)
    return group


def in_place_group_updates():
    """A group updated by a stack is updated in place (moto deleted and re-created
    it); a new ``AutoScalingGroupName`` still replaces it, as CloudFormation does."""
    replace = FakeAutoScalingGroup.update_from_cloudformation_json.__func__

    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        named = cloudformation_json.get("Properties", {}).get("AutoScalingGroupName")
        if named and named != original_resource.name:
            return replace(
                cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
            )
        # Events are written by the post-update pass, which knows the stack.
        return update_group(original_resource, cloudformation_json, lambda *_: None)

    FakeAutoScalingGroup.update_from_cloudformation_json = classmethod(update)


def roll_after_stack_updates():
    """After every stack update (UpdateStack, ExecuteChangeSet), each group of the
    stack whose resolved ``LaunchTemplate`` or ``VPCZoneIdentifier`` no longer
    matches what it runs is updated, and its instances rolled as its policy says.
    This is CloudFormation resolving ``Fn::GetAtt LaunchTemplate.LatestVersionNumber``
    after the launch template's update, where moto compares template text only."""
    from moto.cloudformation.parsing import ResourceMap, clean_json

    update = ResourceMap.update

    def update_and_roll(self, template, parameters=None):
        update(self, template, parameters)
        for logical_id, resource_json in self._resource_json_map.items():
            if resource_json.get("Type") != "AWS::AutoScaling::AutoScalingGroup":
                continue
            group = self._parsed_resources.get(logical_id)
            if not isinstance(group, FakeAutoScalingGroup):
                continue
            resolved = clean_json(resource_json, self)
            events = _stack_events(self._account_id, self._region_name, self.stack_id, logical_id, group)
            props = resolved.get("Properties", {})
            lt = props.get("LaunchTemplate") or {}
            wanted_id = lt.get("LaunchTemplateId")
            wanted_version = lt.get("Version")
            current = group.ec2_launch_template
            lt_changed = current is not None and (
                (wanted_id and wanted_id != current.id)
                or (wanted_version is not None and str(wanted_version) != str(group.launch_template_version))
            )
            obsolete = any(_obsolete(group, s) for s in group.active_instances())
            if lt_changed:
                update_group(group, resolved, events)
            elif obsolete:
                rolling_update(group, resolved.get("UpdatePolicy"), events)

    ResourceMap.update = update_and_roll


def instances_keep_their_version():
    """An instance reports the launch-template version it was launched from
    (moto reported the template's default version for every instance)."""

    def launch_template(self):
        group = self.auto_scaling_group
        if group is None or group.ec2_launch_template is None:
            return None
        return {
            "LaunchTemplateId": _instance_template_id(self) or group.ec2_launch_template.id,
            "LaunchTemplateName": group.ec2_launch_template.name,
            "Version": str(_instance_version(self) or group.ec2_launch_template.default_version_number),
        }

    InstanceState.launch_template = property(launch_template)


def launches_use_the_group_version():
    """Scaling (SetDesiredCapacity, a size change) launches from the group's
    version too."""

    def replace_instances(self, count_needed, propagated_tags):
        launch(self, count_needed, "At a user request, the desired capacity changed.")

    FakeAutoScalingGroup.replace_autoscaling_group_instances = replace_instances


def scaling_activities():
    """DescribeScalingActivities answers the group's launches and terminations
    (moto answered none), newest first as Auto Scaling does."""
    from moto.core.responses import ActionResult

    def describe_scaling_activities(self):
        name = self._get_param("AutoScalingGroupName")
        groups = self.autoscaling_backend.autoscaling_groups
        wanted = [groups[name]] if name in groups else ([] if name else list(groups.values()))
        activities = []
        for group in wanted:
            activities.extend(_ACTIVITIES.get(group.arn, []))
        activities.sort(key=lambda a: a["StartTime"], reverse=True)
        limit = self._get_int_param("MaxRecords", 100)
        return ActionResult({"Activities": activities[:limit]})

    AutoScalingResponse.describe_scaling_activities = describe_scaling_activities


# Instance health (https://docs.aws.amazon.com/autoscaling/ec2/userguide/healthcheck.html):
# an InService instance that stops running (terminated or stopped through EC2, not
# by Auto Scaling) is marked Unhealthy, terminated and replaced to restore the
# desired capacity; the replacement boots before it is InService. moto 5.2.5
# replaces an instance terminated through EC2's TerminateInstances inside that
# very call (``notify_terminate_instances``: no window with one instance fewer)
# and never notices a stopped one (the group keeps it InService). Modelled here
# instead, on every DescribeAutoScalingGroups: a group's instance found not
# running is Unhealthy and Terminating from then on; after
# ``operations.instance_boot`` (real-AWS seconds, over the sandbox's scale) it
# leaves the group (deregistered from the target groups) and one instance is
# launched in its place, InService at once.
_UNHEALTHY_SINCE = {}


def _replace_after():
    import json
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    try:
        durations = json.load(open(os.path.join(here, "aws_durations.json")))
        seconds = float(durations["operations"]["instance_boot"]["seconds"])
        value = os.environ.get("STRATA_SANDBOX_CFN_SCALE")
        scale = float(value) if value else float(durations["scale"])
        return seconds / scale
    except (OSError, KeyError, ValueError):
        return 1.0


def health_check(group):
    """Mark, then replace, the group's instances that no longer run."""
    now = time.monotonic()
    dead = []
    for state in group.instance_states:
        running = getattr(state.instance, "_state", None)
        name = getattr(running, "name", "running")
        key = state.instance.id
        if name in ("pending", "running"):
            continue
        if state.lifecycle_state != "InService" and key not in _UNHEALTHY_SINCE:
            continue
        since = _UNHEALTHY_SINCE.setdefault(key, now)
        state.health_status = "Unhealthy"
        state.lifecycle_state = "Terminating"
        if now - since >= _replace_after():
            dead.append(state)
    if not dead:
        return
    ids = [s.instance.id for s in dead]
    elbv2 = group.autoscaling_backend.elbv2_backend
    for arn in group.target_group_arns:
        try:
            elbv2.deregister_targets(arn, [{"Id": i} for i in ids])
        except Exception:  # the target group may be gone with its stack
            pass
    group.instance_states = [s for s in group.instance_states if s.instance.id not in ids]
    cause = "an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped."
    for i in ids:
        _UNHEALTHY_SINCE.pop(i, None)
        _activity(group, f"Terminating EC2 instance: {i}", f"At {utcnow().isoformat()} {cause}")
    missing = group.desired_capacity - len(group.instance_states)
    launch(group, missing, f"At {utcnow().isoformat()} {cause}")


def replaces_dead_instances():
    """Every DescribeAutoScalingGroups (and the backend reads behind the other
    Auto Scaling calls) runs the health check first."""
    from moto.autoscaling.models import AutoScalingBackend

    original = AutoScalingBackend.describe_auto_scaling_groups

    def describe(self, names, filters=None):
        for group in list(self.autoscaling_groups.values()):
            health_check(group)
        return original(self, names, filters=filters)

    AutoScalingBackend.describe_auto_scaling_groups = describe

    def notify_terminate_instances(self, instance_ids):
        """EC2 terminated instances: the health check above replaces them."""

    AutoScalingBackend.notify_terminate_instances = notify_terminate_instances


def install():
    in_place_group_updates()
    roll_after_stack_updates()
    instances_keep_their_version()
    launches_use_the_group_version()
    scaling_activities()
    replaces_dead_instances()
