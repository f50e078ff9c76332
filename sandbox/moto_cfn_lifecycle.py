"""CloudFormation's stack lifecycle, as AWS documents it, on top of moto.

moto 5.2.5 runs a stack operation inside the API call: CreateStack or
ExecuteChangeSet returns with the stack already CREATE_COMPLETE, a failing
resource makes the call itself answer an error, nothing is ever IN_PROGRESS or
rolled back, and a stack is gone the moment DeleteStack returns. This module makes
what the API shows follow CloudFormation's rules:

- **Asynchronous operations.** The operation's effect on the resources is applied
  during the call (the honest simplification: a resource is readable through its
  service's API at once), but the stack reports ``*_IN_PROGRESS`` and its events
  appear over time: each resource takes the time ``aws_durations.json`` gives its
  type (real-AWS seconds) divided by the scale (``STRATA_SANDBOX_CFN_SCALE``, else the
  file's ``scale``), scheduled after the resources it references (``Ref``,
  ``Fn::GetAtt``, ``Fn::Sub``, ``DependsOn``), as CloudFormation runs independent
  resources in parallel.
- **Rollback.** A failing resource (``*_FAILED`` event with its reason) rolls the
  stack back: a failed create deletes what was created and ends
  ``ROLLBACK_COMPLETE`` (``ROLLBACK_FAILED`` if a delete fails); a failed update
  re-applies the previous template and ends ``UPDATE_ROLLBACK_COMPLETE``
  (``UPDATE_ROLLBACK_FAILED`` if that fails), which ``ContinueUpdateRollback``
  (optionally with ``ResourcesToSkip``) resumes.
- **Delete.** DeleteStack leaves the stack ``DELETE_IN_PROGRESS`` (its name taken:
  CreateStack and a CREATE change set of that name are refused) until its time has
  passed; a resource that cannot be deleted (a bucket holding objects) ends it
  ``DELETE_FAILED``, the stack and the resources left still there. A DELETE_FAILED
  stack's DeleteStack may name ``RetainResources``: those are kept, the rest goes.
- **Change sets.** CREATE_PENDING, CREATE_IN_PROGRESS, then CREATE_COMPLETE, or
  FAILED with AWS's reason when nothing changes; an UPDATE change set with the same
  template and parameters is a FAILED change set (moto answered an error); only a
  CREATE_COMPLETE change set of a stack not in progress can be executed.
- **Control endpoint** ``/moto-api/strata/cfn-faults`` on moto's port: ``POST
  ?logical_id=ID[&stack=NAME][&on=operation|rollback]`` makes that resource fail when
  an operation (create, update, delete) touches it, or when a rollback does;
  ``GET`` lists the faults, ``DELETE`` clears them (so does ``/moto-api/reset``).

AWS pages: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-failure-options.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-describing-stacks.html (stack status codes),
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-continueupdaterollback.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html#troubleshooting-errors-delete-stack-fails
"""

import datetime
import json
import os
import threading
import time

from moto.cloudformation.exceptions import AlreadyExistsException, ValidationError
from moto.core.exceptions import ServiceException

_HERE = os.path.dirname(os.path.abspath(__file__))
DURATIONS = json.load(open(os.path.join(_HERE, "aws_durations.json")))

#: How long (real-AWS seconds) creating a change set takes, before the scale
#: (CloudFormation computes a change set in seconds to a minute).
CHANGE_SET_SECONDS = 50


def scale():
    value = os.environ.get("STRATA_SANDBOX_CFN_SCALE")
    try:
        return float(value) if value else float(DURATIONS["scale"])
    except ValueError:
        return float(DURATIONS["scale"])


def seconds(rtype, action):
    if rtype == "AWS::CloudFormation::Stack" and "stack_overhead" in DURATIONS.get("operations", {}):
        return float(DURATIONS["operations"]["stack_overhead"]["seconds"]) / scale()
    entry = DURATIONS["types"].get(rtype, DURATIONS["default"])
    return float(entry.get(action.lower(), DURATIONS["default"][action.lower()])) / scale()


class InvalidChangeSetStatus(ServiceException):
    # moto finds an error's service by its module ("moto.<service>...").
    __module__ = "moto.cloudformation.strata"
    code = "InvalidChangeSetStatusException"


def _prune(stack):
    """After resources were deleted (a rolled-back create, a delete), keep moto's
    lazy resource map from creating them again when something reads the stack
    (its resources, its outputs): only what still exists stays in it."""
    from moto.cloudformation.parsing import OutputMap

    rmap = stack.resource_map
    rmap._resource_json_map = {
        k: v for k, v in rmap._resource_json_map.items() if k in rmap._parsed_resources
    }
    stack.output_map = OutputMap(rmap, {}, stack.stack_id)
    stack.strata_pruned = True


# --- faults (the control endpoint) -------------------------------------------------

FAULTS = []  # dicts: logical_id, stack (or None), on ("operation" | "rollback")
_LOCK = threading.RLock()


def _fault(stack_name, logical_id, rolling_back):
    on = "rollback" if rolling_back else "operation"
    return any(
        f["logical_id"] == logical_id and f["on"] == on and f["stack"] in (None, stack_name)
        for f in FAULTS
    )


def faults_response(request, full_url, headers):
    from urllib.parse import parse_qs, urlparse

    if request.method == "DELETE":
        FAULTS.clear()
        return 200, {"Content-Type": "application/json"}, json.dumps({"faults": []})
    if request.method == "POST":
        q = {k: v[0] for k, v in parse_qs(urlparse(full_url).query).items()}
        if request.data:
            try:
                q.update(json.loads(request.data))
            except ValueError:
                return 400, {}, json.dumps({"error": "the body is not JSON"})
        if not q.get("logical_id"):
            return 400, {}, json.dumps({"error": "logical_id is required"})
        on = q.get("on", "operation")
        if on not in ("operation", "rollback"):
            return 400, {}, json.dumps({"error": "on is 'operation' or 'rollback'"})
        FAULTS.append({"logical_id": q["logical_id"], "stack": q.get("stack") or None, "on": on})
    return 200, {"Content-Type": "application/json"}, json.dumps({"faults": FAULTS})


# --- recording what an operation does --------------------------------------------

_OP = threading.local()


class Recording:
    def __init__(self, stack, rolling_back=False, skip=()):
        self.stack = stack
        self.rolling_back = rolling_back
        self.skip = set(skip)
        self.records = {}  # (logical_id, action) -> record; insertion order kept

    def add(self, logical_id, rtype, action, physical=None, reason=None):
        key = (logical_id, action)
        self.records.pop(key, None)
        self.records[key] = {
            "logical_id": logical_id,
            "type": rtype,
            "action": action,
            "physical": physical,
            "reason": reason,
        }

    def failed(self):
        return [r for r in self.records.values() if r["reason"] is not None]

    def __enter__(self):
        self.outer = getattr(_OP, "current", None)
        _OP.current = self
        return self

    def __exit__(self, *exc):
        _OP.current = self.outer
        return False


def _reason(e):
    return getattr(e, "reason", None) or getattr(e, "message", None) or str(e) or type(e).__name__


def _physical(resource):
    try:
        return str(resource.physical_resource_id)
    except Exception:
        return None


def record_resource_operations():
    """Wrap moto's create / update / delete of one resource: record it (for the
    events) and inject the control endpoint's faults."""
    from moto.cloudformation import parsing

    create = parsing.parse_and_create_resource
    update = parsing.parse_and_update_resource
    delete = parsing.ResourceMap._delete_resource

    def create_recorded(logical_id, resource_json, resources_map, account_id, region_name):
        op = getattr(_OP, "current", None)
        rtype = resource_json.get("Type")
        try:
            if op is not None and _fault(op.stack.name, logical_id, op.rolling_back):
                raise Exception(f"Resource handler returned message: injected failure of {logical_id} (sandbox control endpoint)")
            resource = create(logical_id, resource_json, resources_map, account_id, region_name)
        except Exception as e:
            if op is not None:
                op.add(logical_id, rtype, "CREATE", reason=_reason(e))
            raise
        if op is not None and resource is not None:
            op.add(logical_id, rtype, "CREATE", physical=_physical(resource))
        return resource

    def update_recorded(logical_id, resource_json, resources_map, account_id, region_name):
        op = getattr(_OP, "current", None)
        rtype = resource_json.get("Type")
        if op is not None and logical_id in op.skip:
            return resources_map._parsed_resources.get(logical_id)
        try:
            if op is not None and _fault(op.stack.name, logical_id, op.rolling_back):
                raise Exception(f"Resource handler returned message: injected failure of {logical_id} (sandbox control endpoint)")
            resource = update(logical_id, resource_json, resources_map, account_id, region_name)
        except Exception as e:
            if op is not None:
                op.add(logical_id, rtype, "UPDATE", reason=_reason(e))
            raise
        if op is not None:
            op.add(logical_id, rtype, "UPDATE", physical=_physical(resource))
        return resource

    def delete_recorded(self, parsed_resource, resource_json):
        op = getattr(_OP, "current", None)
        logical_id = getattr(parsed_resource, "logical_resource_id", None)
        rtype = resource_json.get("Type")
        if op is not None and logical_id in op.skip:
            return None
        try:
            if op is not None and _fault(op.stack.name, logical_id, op.rolling_back):
                raise Exception(f"Resource handler returned message: injected failure of {logical_id} (sandbox control endpoint)")
            out = delete(self, parsed_resource, resource_json)
        except Exception as e:
            if op is not None and logical_id:
                op.add(logical_id, rtype, "DELETE", physical=_physical(parsed_resource), reason=_reason(e))
            raise
        if op is not None and logical_id:
            op.add(logical_id, rtype, "DELETE", physical=_physical(parsed_resource))
        return out

    parsing.parse_and_create_resource = create_recorded
    parsing.parse_and_update_resource = update_recorded
    parsing.ResourceMap._delete_resource = delete_recorded


def buckets_holding_objects_fail_to_delete():
    """S3 refuses to delete a bucket that holds objects (BucketNotEmpty); moto's
    model ignored the refusal, so the stack's delete 'succeeded' and left the bucket.
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html"""
    from moto.s3.models import FakeBucket, s3_backends
    from moto.utilities.utils import get_partition

    def delete_from_cfn(cls, resource_name, cloudformation_json, account_id, region_name):
        backend = s3_backends[account_id][get_partition(region_name)]
        bucket = backend.buckets.get(resource_name)
        if bucket is None:
            return
        if bucket.keys:
            raise Exception(
                "The bucket you tried to delete is not empty (Service: S3, Status Code: 409, "
                f"Error Code: BucketNotEmpty) [{resource_name}]"
            )
        backend.delete_bucket(resource_name)

    FakeBucket.delete_from_cloudformation_json = classmethod(delete_from_cfn)


#: The DeletionPolicy values that keep a resource (``RetainExceptOnCreate`` keeps it
#: except when the operation that created it is rolled back).
RETAINING = ("Retain", "RetainExceptOnCreate")


def removed_resources_keep_their_deletion_policy():
    """moto's update deletes a resource removed from the template even when its
    DeletionPolicy is Retain; CloudFormation keeps it. moto's stack delete keeps
    only ``Retain``; CloudFormation keeps ``RetainExceptOnCreate`` too, except when
    rolling back the operation that created the resource (a failed create, or the
    rollback of the update that added it), when it deletes it like ``Delete``.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html"""
    from moto.cloudformation import parsing

    delete = parsing.ResourceMap._delete_resource
    update = parsing.ResourceMap.update
    delete_all = parsing.ResourceMap.delete

    def update_retaining(self, template, parameters=None):
        removed = self.build_resource_diff(template, parameters)["Remove"]
        # Rolling an update back removes what that update created: only Retain keeps it.
        keeping = ("Retain",) if getattr(self, "strata_undoing", False) else RETAINING
        retained = [n for n in removed if self._resource_json_map[n].get("DeletionPolicy") in keeping]
        self.strata_retained = set(retained)
        try:
            update(self, template, parameters)
        finally:
            self.strata_retained = set()

    def delete_unless_retained(self, parsed_resource, resource_json):
        if getattr(parsed_resource, "logical_resource_id", None) in getattr(self, "strata_retained", ()):
            return None
        return delete(self, parsed_resource, resource_json)

    def delete_all_retaining(self):
        # moto's delete skips exactly "Retain": outside a failed create, a
        # RetainExceptOnCreate resource is shown to it as Retain for the call.
        if getattr(self, "strata_undoing", False):
            return delete_all(self)
        changed = [
            body
            for body in self._resource_json_map.values()
            if isinstance(body, dict) and body.get("DeletionPolicy") == "RetainExceptOnCreate"
        ]
        for body in changed:
            body["DeletionPolicy"] = "Retain"
        try:
            return delete_all(self)
        finally:
            for body in changed:
                body["DeletionPolicy"] = "RetainExceptOnCreate"

    parsing.ResourceMap.update = update_retaining
    parsing.ResourceMap._delete_resource = delete_unless_retained
    parsing.ResourceMap.delete = delete_all_retaining


def undoing(rmap):
    """A context in which `rmap` rolls back the operation that created its newest
    resources (``RetainExceptOnCreate`` does not keep them)."""

    class Undo:
        def __enter__(self):
            rmap.strata_undoing = True

        def __exit__(self, *exc):
            rmap.strata_undoing = False

    return Undo()


# --- the timeline ----------------------------------------------------------------


def _refs(value, out):
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "Ref" and isinstance(v, str):
                out.add(v)
            elif k == "Fn::GetAtt":
                target = v[0] if isinstance(v, list) else str(v).split(".")[0]
                out.add(target)
            elif k == "Fn::Sub":
                text = v[0] if isinstance(v, list) else v
                if isinstance(text, str):
                    import re

                    out.update(m.split(".")[0] for m in re.findall(r"\$\{([^}!][^}]*)\}", text))
                _refs(v, out)
            else:
                _refs(v, out)
    elif isinstance(value, list):
        for v in value:
            _refs(v, out)


def _deps(resources):
    """logical id -> the logical ids (of ``resources``) it depends on."""
    deps = {}
    for name, body in resources.items():
        found = set()
        _refs(body.get("Properties", {}), found)
        depends = body.get("DependsOn", [])
        found.update([depends] if isinstance(depends, str) else depends)
        deps[name] = {d for d in found if d in resources and d != name}
    return deps


def _schedule(records, resources, start, reverse=False):
    """(record, start, end) per record: after its dependencies (reverse: after its
    dependents, for deletes), each taking its type's scaled time. Returns the list
    and the phase's end."""
    deps = _deps(resources)
    ids = {r["logical_id"] for r in records}
    if reverse:
        before = {i: {j for j in ids if i in deps.get(j, ())} for i in ids}
    else:
        before = {i: deps.get(i, set()) & ids for i in ids}
    ends = {}
    out = []
    pending = list(records)
    for _ in range(len(pending) + 1):
        left = []
        for r in pending:
            waits = before.get(r["logical_id"], set()) - {r["logical_id"]}
            if all(w in ends for w in waits):
                s = max([start] + [ends[w] for w in waits])
                e = s + seconds(r["type"], r["action"])
                ends[r["logical_id"]] = e
                out.append((r, s, e))
            else:
                left.append(r)
        pending = left
        if not pending:
            break
    for r in pending:  # a cycle: CloudFormation would refuse the template; just run them
        e = start + seconds(r["type"], r["action"])
        out.append((r, start, e))
        ends[r["logical_id"]] = e
    return out, max([start] + [e for _, _, e in out])


def _event(stack, at, logical_id, physical, rtype, status, reason=None):
    from moto.cloudformation.models import Event

    event = Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=logical_id,
        physical_resource_id=physical,
        resource_type=rtype,
        resource_status=status,
        resource_status_reason=reason,
        resource_properties=None,
    )
    event.timestamp = datetime.datetime.fromtimestamp(at, datetime.timezone.utc).replace(tzinfo=None)
    event.strata_at = at
    stack.strata_events.append(event)


def _stack_event(stack, at, status, reason=None):
    _event(stack, at, stack.name, stack.stack_id, "AWS::CloudFormation::Stack", status, reason)
    stack.strata_phases.append((at, status))


def _resource_events(stack, scheduled):
    for r, s, e in scheduled:
        action = r["action"]
        _event(stack, s, r["logical_id"], r["physical"] or "", r["type"], f"{action}_IN_PROGRESS")
        if r["reason"] is None:
            _event(stack, e, r["logical_id"], r["physical"] or "", r["type"], f"{action}_COMPLETE")
        else:
            _event(stack, e, r["logical_id"], r["physical"] or "", r["type"], f"{action}_FAILED", r["reason"])


def _template_resources(*templates):
    out = {}
    for t in templates:
        if isinstance(t, dict):
            out.update(t.get("Resources", {}) or {})
    return out


def _phase(stack, records, resources, start, reverse=False):
    scheduled, end = _schedule(records, resources, start, reverse)
    _resource_events(stack, scheduled)
    return end


def _failed_ids(rec):
    return ", ".join(sorted({r["logical_id"] for r in rec.failed()}))


def _begin(stack):
    """Start an operation's timeline: now, after any still-running one."""
    now = time.time()
    last = max([now] + [t for t, _ in stack.strata_phases])
    return last


def run_create(stack, apply, status_prefix=""):
    """A stack creation (CreateStack, or executing a CREATE change set)."""
    from moto.cloudformation.models import Stack

    t0 = _begin(stack)
    _stack_event(stack, t0, "CREATE_IN_PROGRESS", "User Initiated")
    with Recording(stack) as rec:
        try:
            apply()
            error = None
        except Exception as e:
            error = e
    # The resources changed during the call; the modelled time runs from its end.
    t = max(t0, time.time()) + seconds("AWS::CloudFormation::Stack", "create")
    template = stack.template_dict if isinstance(stack.template_dict, dict) else {}
    resources = _template_resources(template)
    made = [r for r in rec.records.values() if r["action"] == "CREATE"]
    if error is not None and not rec.failed():
        # The template itself failed (a reference, a parameter): no resource to name.
        _stack_event(stack, t, "ROLLBACK_IN_PROGRESS", f"Template error: {_reason(error)}")
        failed_at = t
    else:
        failed_at = _phase(stack, made, resources, t)
    if error is None:
        _stack_event(stack, failed_at, "CREATE_COMPLETE")
        stack._strata_status = "CREATE_COMPLETE"
        return True
    if rec.failed():
        _stack_event(
            stack,
            failed_at,
            "ROLLBACK_IN_PROGRESS",
            f"The following resource(s) failed to create: [{_failed_ids(rec)}]. "
            "Rollback requested by user.",
        )
    with Recording(stack, rolling_back=True) as back, undoing(stack.resource_map):
        try:
            stack.resource_map.delete()
            rollback_error = None
        except Exception as e:
            rollback_error = e
    deleted = [r for r in back.records.values() if r["action"] == "DELETE"]
    end = _phase(stack, deleted, resources, failed_at, reverse=True)
    _prune(stack)
    if rollback_error is None:
        _stack_event(stack, end, "ROLLBACK_COMPLETE")
        stack._strata_status = "ROLLBACK_COMPLETE"
    else:
        _stack_event(
            stack,
            end,
            "ROLLBACK_FAILED",
            f"The following resource(s) failed to delete: [{_failed_ids(back) or '?'}].",
        )
        stack._strata_status = "ROLLBACK_FAILED"
    return False


def _rollback_update(stack, old_template, old_params, start, skip=()):
    """Re-apply the previous template; returns (ok, end)."""
    old_dict = stack.parse_template(old_template) if isinstance(old_template, str) else old_template
    rmap = stack.resource_map
    before = (rmap._resource_json_map, rmap._template, dict(rmap.input_parameters or {}))
    with Recording(stack, rolling_back=True, skip=skip) as back, undoing(rmap):
        try:
            rmap.update(old_dict, old_params)
            error = None
        except Exception as e:
            error = e
    if error is not None:
        # moto has already taken the old template as the map's: put the failed
        # state back, so that ContinueUpdateRollback finds what is left to undo.
        rmap._resource_json_map, rmap._template, rmap.input_parameters = before
    resources = _template_resources(old_dict, stack.strata_new_template or {})
    main = [r for r in back.records.values() if r["action"] != "DELETE"]
    gone = [r for r in back.records.values() if r["action"] == "DELETE"]
    end = _phase(stack, main, resources, start)
    if error is not None:
        _stack_event(
            stack,
            end,
            "UPDATE_ROLLBACK_FAILED",
            f"The following resource(s) failed to update: [{_failed_ids(back) or '?'}].",
        )
        stack._strata_status = "UPDATE_ROLLBACK_FAILED"
        return False
    _stack_event(stack, end, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    end = _phase(stack, gone, resources, end, reverse=True)
    _stack_event(stack, end, "UPDATE_ROLLBACK_COMPLETE")
    stack._strata_status = "UPDATE_ROLLBACK_COMPLETE"
    stack.strata_rollback = None
    return True


def run_update(stack, new_template, new_params, apply):
    """A stack update (UpdateStack, or executing an UPDATE change set). ``apply``
    changes the resources; the stack's template is set by the caller on success."""
    t0 = _begin(stack)
    _stack_event(stack, t0, "UPDATE_IN_PROGRESS", "User Initiated")
    old_template = stack.template
    old_dict = stack.template_dict
    old_params = dict(stack.resource_map.input_parameters or {})
    new_dict = stack.parse_template(new_template) if isinstance(new_template, str) else new_template
    stack.strata_new_template = new_dict
    with Recording(stack) as rec:
        try:
            apply()
            error = None
        except Exception as e:
            error = e
    # The resources changed during the call; the modelled time runs from its end.
    t = max(t0, time.time()) + seconds("AWS::CloudFormation::Stack", "update")
    resources = _template_resources(old_dict, new_dict)
    main = [r for r in rec.records.values() if r["action"] != "DELETE"]
    gone = [r for r in rec.records.values() if r["action"] == "DELETE"]
    if error is None:
        end = _phase(stack, main, resources, t)
        _stack_event(stack, end, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        end = _phase(stack, gone, resources, end, reverse=True)
        _stack_event(stack, end, "UPDATE_COMPLETE")
        stack._strata_status = "UPDATE_COMPLETE"
        return True
    end = _phase(stack, main + [r for r in gone if r["reason"]], resources, t)
    reason = (
        f"The following resource(s) failed to update: [{_failed_ids(rec)}]."
        if rec.failed()
        else f"Template error: {_reason(error)}"
    )
    _stack_event(stack, end, "UPDATE_ROLLBACK_IN_PROGRESS", reason)
    stack.strata_rollback = (old_template, old_params)
    _rollback_update(stack, old_template, old_params, end)
    return False


def run_delete(stack, retain=()):
    """DeleteStack: resources deleted now, the stack DELETE_IN_PROGRESS until its
    time has passed (then DELETE_COMPLETE and gone), or DELETE_FAILED. `retain`
    (RetainResources of a DELETE_FAILED stack) are kept as if their DeletionPolicy
    were Retain."""
    t0 = _begin(stack)
    _stack_event(stack, t0, "DELETE_IN_PROGRESS", "User Initiated")
    bodies = stack.resource_map._resource_json_map
    policies = {n: bodies[n].get("DeletionPolicy") for n in retain}
    for n in retain:
        bodies[n]["DeletionPolicy"] = "Retain"
    with Recording(stack) as rec:
        try:
            stack.resource_map.delete()
            error = None
        except Exception as e:
            error = e
        finally:
            for n, policy in policies.items():
                if policy is None:
                    bodies[n].pop("DeletionPolicy", None)
                else:
                    bodies[n]["DeletionPolicy"] = policy
    # The resources changed during the call; the modelled time runs from its end.
    t = max(t0, time.time()) + seconds("AWS::CloudFormation::Stack", "delete")
    resources = _template_resources(stack.template_dict if isinstance(stack.template_dict, dict) else {})
    gone = [r for r in rec.records.values() if r["action"] == "DELETE"]
    retained = [
        n
        for n, body in resources.items()
        if (body.get("DeletionPolicy") in RETAINING or n in retain)
        and n in stack.resource_map._parsed_resources
    ]
    for n in retained:
        _event(stack, t, n, _physical(stack.resource_map._parsed_resources[n]) or "", resources[n]["Type"], "DELETE_SKIPPED")
    end = _phase(stack, gone, resources, t, reverse=True)
    _prune(stack)
    if error is None:
        _stack_event(stack, end, "DELETE_COMPLETE")
        stack._strata_status = "DELETE_COMPLETE"
        stack.strata_gone_at = end
        return True
    _stack_event(
        stack,
        end,
        "DELETE_FAILED",
        f"The following resource(s) failed to delete: [{_failed_ids(rec) or '?'}]. ",
    )
    stack._strata_status = "DELETE_FAILED"
    return False


def _check_retain(stack, retain):
    """RetainResources is for a stack in DELETE_FAILED only, and names resources it
    still has (one already deleted is refused with AWS's message, quoted in
    rebuy-de/aws-nuke#270). https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStack.html
    (RetainResources), https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html#troubleshooting-errors-delete-stack-fails"""
    if stack.status != "DELETE_FAILED":
        # The sandbox's own wording: AWS keeps RetainResources to DELETE_FAILED stacks.
        raise ValidationError(
            stack.stack_id,
            message=f"Stack [{stack.name}] is in {stack.status} state: RetainResources can be "
            "specified only for a stack in the DELETE_FAILED state",
        )
    rmap = stack.resource_map
    if any(n not in rmap._parsed_resources or n not in rmap._resource_json_map for n in retain):
        raise ValidationError(
            stack.stack_id,
            message="The specified resources to retain must be in a valid state. Do not specify "
            "resources that are in the DELETE_COMPLETE state.",
        )


# --- moto's Stack, ChangeSet and backend -------------------------------------------


def _visible(at):
    return at <= time.time()


def timed_stacks():
    """A stack's status and events follow its timeline."""
    from moto.cloudformation.models import ChangeSet, Stack

    def get_status(self):
        # A finished delete shows DELETE_COMPLETE only once the stack has left the
        # live list (`_settle`): a read between the two would otherwise find the
        # stack by name in DELETE_COMPLETE, which AWS answers "does not exist".
        if self.__dict__.get("strata_gone_at") is not None and not self.__dict__.get(
            "strata_settled"
        ):
            return "DELETE_IN_PROGRESS"
        current = None
        for at, status in self.__dict__.get("strata_phases", []):
            if _visible(at):
                current = status
        if current is not None and self.__dict__.get("strata_phases"):
            last_at, _ = self.strata_phases[-1]
            if _visible(last_at):
                return self.__dict__.get("_strata_status") or current
            return current
        return self.__dict__.get("_strata_status")

    def set_status(self, value):
        self.__dict__["_strata_status"] = value

    def get_events(self):
        return sorted(
            (e for e in self.__dict__.get("strata_events", []) if _visible(getattr(e, "strata_at", 0))),
            key=lambda e: (getattr(e, "strata_at", 0)),
        )

    def set_events(self, value):
        self.__dict__["strata_events"] = list(value)

    Stack.status = property(get_status, set_status)
    Stack.events = property(get_events, set_events)
    init = Stack.__init__

    def init_timed(self, *args, **kwargs):
        self.__dict__["strata_phases"] = []
        self.__dict__["strata_events"] = []
        self.strata_rollback = None
        self.strata_new_template = None
        self.strata_gone_at = None
        init(self, *args, **kwargs)

    Stack.__init__ = init_timed

    def add_stack_event(self, resource_status, resource_status_reason=None, resource_properties=None):
        _stack_event(self, time.time(), resource_status, resource_status_reason)

    Stack._add_stack_event = add_stack_event

    def create_resources(self):
        def apply():
            self.resource_map.create(self.template_dict)

        self.description = self.template_dict.get("Description")
        # create_stack added CREATE_IN_PROGRESS already: drop it, run_create adds it.
        self.strata_events.clear()
        self.strata_phases.clear()
        if run_create(self, apply):
            self.output_map = self._create_output_map()

    Stack.create_resources = create_resources

    def update(self, template, role_arn=None, parameters=None, tags=None):
        def apply():
            self.resource_map.update(self.parse_template(template), parameters)

        if run_update(self, template, parameters, apply):
            self.template = template
            if parameters:
                self.parameters = parameters
            if tags is not None:
                self.tags = tags
        else:
            self.template = self.strata_rollback[0] if self.strata_rollback else self.template
        self._parse_template()
        self.output_map = self._create_output_map()
        self.role_arn = role_arn

    Stack.update = update

    # Change sets: CREATE_PENDING -> CREATE_IN_PROGRESS -> final status.
    def cs_get_status(self):
        final = self.__dict__.get("_strata_status")
        born = self.__dict__.get("strata_born")
        if born is None or final is None:
            return final
        took = CHANGE_SET_SECONDS / scale()
        now = time.time()
        if now < born + took / 3:
            return "CREATE_PENDING"
        if now < born + took:
            return "CREATE_IN_PROGRESS"
        return final

    def cs_set_status(self, value):
        self.__dict__["_strata_status"] = value
        self.__dict__.setdefault("strata_born", time.time())

    def cs_get_exec(self):
        value = self.__dict__.get("_strata_exec")
        if value == "AVAILABLE" and self.status != "CREATE_COMPLETE":
            return "UNAVAILABLE"
        return value

    def cs_set_exec(self, value):
        self.__dict__["_strata_exec"] = value

    ChangeSet.status = property(cs_get_status, cs_set_status)
    ChangeSet.execution_status = property(cs_get_exec, cs_set_exec)


IN_PROGRESS_OK = ("REVIEW_IN_PROGRESS",)


def _in_progress(status):
    return bool(status) and status.endswith("_IN_PROGRESS") and status not in IN_PROGRESS_OK


def _settle(backend):
    """Stacks whose deletion has finished leave the list of live stacks."""
    for stack_id, stack in list(backend.stacks.items()):
        gone = getattr(stack, "strata_gone_at", None)
        if gone is not None and _visible(gone):
            stack.strata_settled = True
            backend.stacks.pop(stack_id, None)
            backend.deleted_stacks[stack_id] = stack


def timed_backend():
    from moto.cloudformation.models import CloudFormationBackend
    from moto.cloudformation.responses import CloudFormationResponse

    for name in (
        "describe_stacks",
        "list_stacks",
        "get_stack",
        "list_exports",
        "describe_stack_resources",
        "list_stack_resources",
        "describe_stack_resource",
    ):
        original = getattr(CloudFormationBackend, name)

        def settled(self, *args, __original=original, **kwargs):
            _settle(self)
            return __original(self, *args, **kwargs)

        setattr(CloudFormationBackend, name, settled)

    create_stack = CloudFormationBackend.create_stack

    def create_stack_checked(self, name, *args, **kwargs):
        _settle(self)
        for stack in self.stacks.values():
            if stack.name == name:
                raise AlreadyExistsException(f"Stack [{name}] already exists")
        return create_stack(self, name, *args, **kwargs)

    CloudFormationBackend.create_stack = create_stack_checked

    create_change_set = CloudFormationBackend.create_change_set

    def create_change_set_checked(self, stack_name, change_set_name, *args, **kwargs):
        _settle(self)
        change_set_type = kwargs.get("change_set_type", args[4] if len(args) > 4 else "CREATE")
        for stack in self.stacks.values():
            if stack.name != stack_name:
                continue
            if change_set_type == "CREATE" and stack.status != "REVIEW_IN_PROGRESS":
                raise AlreadyExistsException(
                    f"Stack [{stack_name}] already exists and cannot be created again with the "
                    f"changeSet [{change_set_name}]."
                )
            if change_set_type == "UPDATE" and (
                _in_progress(stack.status) or stack.status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED", "REVIEW_IN_PROGRESS")
            ):
                raise ValidationError(
                    stack.stack_id,
                    message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.",
                )
        return create_change_set(self, stack_name, change_set_name, *args, **kwargs)

    CloudFormationBackend.create_change_set = create_change_set_checked

    def execute_change_set(self, change_set_name, stack_name=None):
        _settle(self)
        change_set = self.change_sets.get(change_set_name)
        if change_set is None:
            for cs in self.change_sets.values():
                if cs.change_set_name == change_set_name and (
                    stack_name is None or stack_name in (cs.stack_name, cs.stack_id)
                ):
                    change_set = cs
        if change_set is None:
            raise ValidationError(
                stack_name, message=f"ChangeSet [{change_set_name}] does not exist"
            )
        stack = self.stacks[change_set.stack_id]
        if change_set.status != "CREATE_COMPLETE" or change_set.execution_status != "AVAILABLE":
            raise InvalidChangeSetStatus(
                f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current "
                f"status of [{change_set.status}]"
            )
        if _in_progress(stack.status):
            raise InvalidChangeSetStatus(
                f"ChangeSet [{change_set.change_set_id}] cannot be executed: stack "
                f"[{stack.name}] is in {stack.status} state."
            )
        # "When you execute a change set, CloudFormation deletes all other change sets
        # associated with the stack because they aren't valid for the updated stack"
        # (API_ExecuteChangeSet); moto kept them, executable against a stack they no
        # longer describe.
        for other in [
            k
            for k, cs in self.change_sets.items()
            if cs.stack_id == change_set.stack_id and cs is not change_set
        ]:
            del self.change_sets[other]
        change_set.execution_status = "EXECUTE_IN_PROGRESS"
        if change_set.change_set_type == "CREATE":
            stack.template = change_set.template
            stack._parse_template()
            ok = run_create(stack, change_set.apply)
        else:

            def apply():
                change_set.apply()

            ok = run_update(stack, change_set.template, change_set.parameters, apply)
            if ok:
                stack.template = change_set.template
                if change_set.parameters:
                    stack.parameters = change_set.parameters
        change_set.execution_status = "EXECUTE_COMPLETE" if ok else "EXECUTE_FAILED"
        stack._parse_template()
        if not getattr(stack, "strata_pruned", False):
            stack.output_map = stack._create_output_map()

    CloudFormationBackend.execute_change_set = execute_change_set

    def delete_stack(self, name_or_stack_id, retain_resources=()):
        _settle(self)
        stack = self.stacks.get(name_or_stack_id) or next(
            (s for s in self.stacks.values() if s.name == name_or_stack_id), None
        )
        if stack is None:
            return
        status = stack.status
        if status == "DELETE_IN_PROGRESS" or status == "DELETE_COMPLETE":
            return
        if _in_progress(status):
            raise ValidationError(
                stack.stack_id,
                message=f"Stack [{stack.name}] cannot be deleted while in status {status}",
            )
        retain = list(retain_resources or ())
        if retain:
            _check_retain(stack, retain)
        export_names = [export.name for export in stack.exports]
        if run_delete(stack, retain):
            for export_name in export_names:
                self.exports.pop(export_name, None)

    CloudFormationBackend.delete_stack = delete_stack

    def delete_stack_response(self):
        from moto.core.responses import EmptyResult

        name = self._get_param("StackName")
        retain = self._get_param("RetainResources", [])
        self.cloudformation_backend.delete_stack(name, retain)
        return EmptyResult()

    CloudFormationResponse.delete_stack = delete_stack_response

    def continue_update_rollback(self, stack_name, resources_to_skip):
        _settle(self)
        stack = self.get_stack(stack_name)
        if stack.status != "UPDATE_ROLLBACK_FAILED" or not stack.strata_rollback:
            raise ValidationError(
                stack.stack_id,
                message=f"Stack [{stack.name}] is in {stack.status} state: "
                "ContinueUpdateRollback cannot be called from current stack status",
            )
        old_template, old_params = stack.strata_rollback
        t0 = _begin(stack)
        _stack_event(stack, t0, "UPDATE_ROLLBACK_IN_PROGRESS", "User Initiated")
        if _rollback_update(stack, old_template, old_params, t0, skip=resources_to_skip):
            stack.template = old_template
            stack._parse_template()
            stack.output_map = stack._create_output_map()

    CloudFormationBackend.continue_update_rollback = continue_update_rollback

    def continue_update_rollback_response(self):
        from moto.core.responses import EmptyResult

        stack_name = self._get_param("StackName")
        skip = self._get_param("ResourcesToSkip", [])
        self.cloudformation_backend.continue_update_rollback(stack_name, skip)
        return EmptyResult()

    CloudFormationResponse.continue_update_rollback = continue_update_rollback_response

    validate = CloudFormationResponse._validate_different_update

    def validate_unless_change_set(self, incoming_params, stack_body, old_stack):
        # CreateChangeSet with no changes makes a FAILED change set (moto's
        # create_change_set does that); only UpdateStack answers an error.
        if self._get_action() == "CreateChangeSet":
            return
        return validate(self, incoming_params, stack_body, old_stack)

    CloudFormationResponse._validate_different_update = validate_unless_change_set

    update_stack = CloudFormationBackend.update_stack

    def update_stack_checked(self, name, *args, **kwargs):
        _settle(self)
        stack = self.get_stack(name)
        if _in_progress(stack.status) or stack.status in (
            "ROLLBACK_COMPLETE",
            "ROLLBACK_FAILED",
            "DELETE_FAILED",
            "UPDATE_ROLLBACK_FAILED",
        ):
            raise ValidationError(
                stack.stack_id,
                message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.",
            )
        return update_stack(self, name, *args, **kwargs)

    CloudFormationBackend.update_stack = update_stack_checked


def control_endpoint():
    from moto.moto_api._internal import urls
    from moto.moto_api._internal.models import moto_api_backend

    urls.url_paths["{0}/moto-api/strata/cfn-faults$"] = faults_response
    reset = type(moto_api_backend).reset

    def reset_and_clear(self, *args, **kwargs):
        FAULTS.clear()
        return reset(self, *args, **kwargs)

    type(moto_api_backend).reset = reset_and_clear


def resources_show_their_own_status():
    """DescribeStackResources gives each resource its own status (its newest
    visible event: DELETE_FAILED for the bucket a delete could not remove,
    DELETE_SKIPPED for one it kept), not the stack's, which moto reported for all.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackResource.html"""
    from moto.cloudformation import responses

    dto_init = responses.StackResourceDTO.__init__

    def init(self, stack, resource):
        dto_init(self, stack, resource)
        mine = [
            e
            for e in stack.__dict__.get("strata_events", [])
            if e.logical_resource_id == self.logical_resource_id
            and e.resource_type != "AWS::CloudFormation::Stack"
            and _visible(getattr(e, "strata_at", 0))
        ]
        if mine:
            # The newest; of two at the same moment, the later recorded.
            newest = max(enumerate(mine), key=lambda ie: (ie[1].strata_at, ie[0]))[1]
            self.resource_status = newest.resource_status

    responses.StackResourceDTO.__init__ = init


def install():
    """Apply everything above. Call after ``moto_cfn_resources.install`` (the
    recording wraps its resource operations)."""
    record_resource_operations()
    buckets_holding_objects_fail_to_delete()
    removed_resources_keep_their_deletion_policy()
    timed_stacks()
    timed_backend()
    resources_show_their_own_status()
    control_endpoint()
