"""CloudFormation resource import (``CreateChangeSet`` with ``ChangeSetType=IMPORT``)
for strata's sandbox, as AWS documents it. Imported by ``moto_strata.py``; installed
after ``moto_cfn_lifecycle`` (it uses that module's timeline and faults).

moto 5.2.5 accepts ``ChangeSetType=IMPORT`` and ignores ``ResourcesToImport``: it
makes a *second* stack of the name in REVIEW_IN_PROGRESS (even when the stack
exists), and executing the change set runs it as an update of that empty stack,
which tries to *create* every resource of the template (a retained bucket's name
is then taken, or a new table replaces nothing and the old one stays outside).
Nothing is checked. This module answers an IMPORT change set as CloudFormation does:

- **What is taken.** An existing stack (or a new stack name, which is then
  REVIEW_IN_PROGRESS until executed, as for CREATE) and ``ResourcesToImport``:
  ``AWS::S3::Bucket`` by ``BucketName``, ``AWS::DynamoDB::Table`` and
  ``AWS::DynamoDB::GlobalTable`` by ``TableName`` (the types the sandbox models; the
  identifier properties are those of the ResourceToImport page's example and the
  resource type support list).
- **What is refused** at CreateChangeSet (``ValidationError``), each rule from the
  pages below: a resource to import without a ``DeletionPolicy`` ("The following
  resources to import [X] must have DeletionPolicy attribute specified in the
  template."); a logical id of ResourcesToImport that the template lacks, or of
  another type, or an identifier other than the type's; a template whose identifier
  property differs from the ResourceIdentifier; a resource that does not exist; one
  that belongs to a stack already ("Resources [X] passed in ResourceToImport are
  already in a stack and cannot be imported." for a logical id the stack has, the
  owning stack named otherwise); a template that also adds, changes or removes any
  other resource (for a new stack: any resource not imported), or changes or adds
  Outputs ("As part of the import operation, you cannot modify or add [Outputs]").
- **Change set.** Its Changes are ``Action: Import`` with the identifier as the
  physical id; status as for any change set (CREATE_PENDING, CREATE_IN_PROGRESS,
  CREATE_COMPLETE), with CloudFormation's status reason for imports.
- **Execution.** ``IMPORT_IN_PROGRESS``, an ``IMPORT_IN_PROGRESS`` / ``IMPORT_COMPLETE``
  event per resource on the lifecycle's timeline (``aws_durations.json``, action
  ``import``), then ``IMPORT_COMPLETE``. The existing bucket or table becomes the
  stack's resource as it is (its objects and items untouched, its name the
  physical id): DescribeStackResources lists it, ``Ref`` / ``Fn::GetAtt`` resolve to
  it, later updates treat it as any resource of the stack and a stack delete
  honours its ``DeletionPolicy``. A resource that is gone or taken by another stack
  by then, or a fault of the control endpoint on its logical id, fails it:
  ``IMPORT_FAILED``, ``IMPORT_ROLLBACK_IN_PROGRESS``, ``IMPORT_ROLLBACK_COMPLETE``,
  the stack as it was and nothing deleted.

AWS pages:
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import.html
(overview: "Each resource to import must have a DeletionPolicy attribute";
validation: "The resource to import exists", "The resource to import does not belong
to another stack in the same Region"),
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import-existing-stack.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import-new-stack.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import-supported-resources.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html
("To create a change set for an import operation, specify IMPORT for the
ChangeSetType parameter"),
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceToImport.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-describing-stacks.html
(IMPORT_IN_PROGRESS, IMPORT_COMPLETE, IMPORT_ROLLBACK_IN_PROGRESS,
IMPORT_ROLLBACK_FAILED, IMPORT_ROLLBACK_COMPLETE).
"""

import threading
import time

from moto.cloudformation.exceptions import ValidationError

import moto_cfn_lifecycle as L

#: The sandbox's importable types and their identifier property.
IDENTIFIERS = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::DynamoDB::GlobalTable": "TableName",
}

#: The reason DescribeChangeSet gives for a created import change set.
IMPORT_REASON = (
    "Verify that resources and their properties defined in the template match the "
    "intended configuration of the resource import to avoid unexpected changes."
)

#: Statuses from which a stack cannot be updated (nor imported into).
NOT_UPDATABLE = (
    "ROLLBACK_COMPLETE",
    "ROLLBACK_FAILED",
    "DELETE_FAILED",
    "UPDATE_ROLLBACK_FAILED",
    "IMPORT_ROLLBACK_FAILED",
)

_REQUEST = threading.local()


def _refuse(message):
    raise ValidationError(None, message=message)


# --- finding resources and their stacks -------------------------------------------


def _find(rtype, value, account_id, region):
    """The existing resource as moto's CloudFormation model, or None."""
    if rtype == "AWS::S3::Bucket":
        from moto.s3.models import s3_backends
        from moto.utilities.utils import get_partition

        return s3_backends[account_id][get_partition(region)].buckets.get(value)
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[account_id][region].tables.get(value)
    if table is None or rtype == "AWS::DynamoDB::Table":
        return table
    from moto_cfn_resources import StrataGlobalTable

    replicas = [r for r in getattr(table, "strata_replicas", []) if r != region]
    return StrataGlobalTable(value, account_id, [region] + replicas)


def _live_stacks(account_id):
    from moto.cloudformation.models import cloudformation_backends

    for backend in list(cloudformation_backends[account_id].values()):
        for stack in list(backend.stacks.values()):
            if getattr(stack, "strata_gone_at", None) is not None:
                continue  # deleted (what it retained belongs to no stack)
            if stack.status == "DELETE_COMPLETE":
                continue
            yield backend.region_name, stack


def _owner(rtype, value, account_id, region):
    """The stack a resource already belongs to (its resource map holds it), or None."""
    for stack_region, stack in _live_stacks(account_id):
        rmap = stack.resource_map
        for lid, body in list(rmap._resource_json_map.items()):
            obj = rmap._parsed_resources.get(lid)
            if obj is None or isinstance(obj, (str, dict, list)) or not isinstance(body, dict):
                continue
            if L._physical(obj) != value:
                continue
            t = body.get("Type")
            if rtype == "AWS::S3::Bucket" and t == "AWS::S3::Bucket":
                return stack  # one bucket namespace for every region of the account
            if rtype.startswith("AWS::DynamoDB::"):
                if t == "AWS::DynamoDB::Table" and stack_region == region:
                    return stack
                if t == "AWS::DynamoDB::GlobalTable" and region in getattr(obj, "regions", [stack_region]):
                    return stack
    return None


# --- CreateChangeSet --------------------------------------------------------------


def _resolve(value, template, parameters):
    """A template property's value when it is static (a string or a Ref to a
    parameter); None when only the deployment can tell."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and list(value) == ["Ref"] and isinstance(value["Ref"], str):
        name = value["Ref"]
        if name in (parameters or {}):
            return parameters[name]
        default = (template.get("Parameters") or {}).get(name, {}).get("Default")
        return str(default) if default is not None else None
    return None


def _entries(raw):
    """ResourcesToImport as (logical id, type, identifier dict)."""
    out = []
    for item in raw or []:
        ident = item.get("ResourceIdentifier") or {}
        if isinstance(ident, list):  # entry list form
            ident = {e.get("key", e.get("Key")): e.get("value", e.get("Value")) for e in ident}
        out.append((item.get("LogicalResourceId"), item.get("ResourceType"), dict(ident)))
    return out


def validate(backend, stack, template, parameters, raw_imports):
    """Refuse what AWS refuses; return the imports as (logical id, type, key, value).
    ``stack`` is the existing stack, or None for a new stack."""
    from moto.cloudformation.models import Stack

    try:
        new = Stack.parse_template(template)
    except Exception as e:
        _refuse(f"Template format error: {e}")
    if not isinstance(new, dict) or not isinstance(new.get("Resources"), dict):
        _refuse("Template format error: At least one Resources member must be defined.")
    resources = new["Resources"]
    entries = _entries(raw_imports)
    if not entries:
        _refuse("ResourcesToImport must be specified for a change set of type IMPORT.")
    ids = [e[0] for e in entries]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        _refuse(f"Resources [{', '.join(dup)}] are listed more than once in ResourcesToImport.")
    missing = [i for i in ids if i not in resources]
    if missing:
        _refuse(f"Resources [{', '.join(missing)}] in ResourcesToImport are not in the template.")
    old = stack.template_dict if stack is not None and isinstance(stack.template_dict, dict) else {}
    old_resources = old.get("Resources") or {}
    in_stack = [i for i in ids if i in old_resources]
    if in_stack:
        _refuse(
            f"Resources [{', '.join(in_stack)}] passed in ResourceToImport are already in a "
            "stack and cannot be imported."
        )
    for lid, rtype, _ in entries:
        ttype = resources[lid].get("Type")
        if rtype != ttype:
            _refuse(
                f"The ResourceType {rtype} of [{lid}] in ResourcesToImport does not match its "
                f"type {ttype} in the template."
            )
    unmodelled = sorted({rtype for _, rtype, _ in entries if rtype not in IDENTIFIERS})
    if unmodelled:
        _refuse(
            f"The sandbox does not model resource import for {', '.join(unmodelled)} "
            f"(it imports {', '.join(IDENTIFIERS)})."
        )
    no_policy = [lid for lid in ids if "DeletionPolicy" not in resources[lid]]
    if no_policy:
        _refuse(
            f"The following resources to import [{', '.join(no_policy)}] must have "
            "DeletionPolicy attribute specified in the template."
        )
    others = sorted(
        [n for n in resources if n not in ids and resources[n] != old_resources.get(n)]
        + [n for n in old_resources if n not in resources]
    )
    if others:
        _refuse(
            f"You have modified resources [{', '.join(others)}] in your template that are "
            "not being imported. Update, create or delete operations cannot be executed "
            "during import operations."
        )
    if (new.get("Outputs") or None) != (old.get("Outputs") or None):
        _refuse("As part of the import operation, you cannot modify or add [Outputs]")
    out = []
    seen = {}
    account_id, region = backend.account_id, backend.region_name
    for lid, rtype, ident in entries:
        key = IDENTIFIERS[rtype]
        if set(ident) != {key} or not ident[key]:
            _refuse(
                f"Invalid ResourceIdentifier for [{lid}]: a resource of type {rtype} is "
                f"identified by {key} alone (got {sorted(ident)})."
            )
        value = ident[key]
        if (rtype, value) in seen:
            _refuse(f"Resources [{seen[(rtype, value)]}, {lid}] identify the same resource {key}={value}.")
        seen[(rtype, value)] = lid
        declared = (resources[lid].get("Properties") or {}).get(key)
        if declared is not None:
            static = _resolve(declared, new, parameters)
            if static is not None and static != value:
                _refuse(
                    f"The {key} of [{lid}] in the template ({static}) does not match its "
                    f"ResourceIdentifier ({key}={value})."
                )
        if _find(rtype, value, account_id, region) is None:
            _refuse(f"Resource of type {rtype} with identifier {{{key}={value}}} does not exist.")
        owner = _owner(rtype, value, account_id, region)
        if owner is not None:
            _refuse(
                f"Resource of type {rtype} with identifier {{{key}={value}}} already belongs "
                f"to stack [{owner.stack_id}]: a resource can belong to one stack only."
            )
        out.append((lid, rtype, key, value))
    return out


def create_import_change_set(backend, stack_name, change_set_name, template, parameters,
                             description, notification_arns=None, tags=None, role_arn=None):
    from moto.cloudformation.models import Change, ChangeSet, Stack
    from moto.cloudformation.utils import (
        generate_changeset_id,
        generate_stack_id,
        validate_create_change_set,
    )

    validate_create_change_set(change_set_name)
    L._settle(backend)
    stack = next((s for s in backend.stacks.values() if s.name == stack_name), None)
    if stack is not None and (L._in_progress(stack.status) or stack.status in NOT_UPDATABLE):
        _refuse(f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")
    new_stack = stack is None or stack.status == "REVIEW_IN_PROGRESS"
    imports = validate(
        backend, None if new_stack else stack, template, parameters, getattr(_REQUEST, "imports", None)
    )
    if stack is None:
        stack = Stack(
            stack_id=generate_stack_id(stack_name, backend.region_name, backend.account_id),
            name=stack_name,
            template={},
            parameters=parameters,
            account_id=backend.account_id,
            region_name=backend.region_name,
            notification_arns=notification_arns,
            tags=tags,
            role_arn=role_arn,
        )
        backend.stacks[stack.stack_id] = stack
        stack.status = "REVIEW_IN_PROGRESS"
        stack._add_stack_event("REVIEW_IN_PROGRESS", resource_status_reason="User Initiated")
    change_set = ChangeSet(
        change_set_type="IMPORT",
        change_set_id=generate_changeset_id(change_set_name, backend.region_name, backend.account_id),
        change_set_name=change_set_name,
        stack=stack,
        template=template,
        parameters=parameters,
        description=description,
        notification_arns=notification_arns,
        tags=tags,
        role_arn=role_arn,
    )
    changes = []
    for lid, rtype, _, value in imports:
        change = Change(action="Import", logical_resource_id=lid, resource_type=rtype)
        change.physical_resource_id = value
        changes.append(change)
    change_set.changes = changes
    change_set.strata_imports = imports
    change_set.strata_new_stack = new_stack
    change_set.status = "CREATE_COMPLETE"
    change_set.execution_status = "AVAILABLE"
    change_set.status_reason = IMPORT_REASON
    backend.change_sets[change_set.change_set_id] = change_set
    return change_set.change_set_id, stack.stack_id


# --- ExecuteChangeSet --------------------------------------------------------------


def run_import(backend, stack, change_set):
    """Execute an IMPORT change set on the lifecycle's timeline."""
    from moto.cloudformation.models import Stack

    t0 = L._begin(stack)
    L._stack_event(stack, t0, "IMPORT_IN_PROGRESS", "User Initiated")
    new = Stack.parse_template(change_set.template)
    account_id, region = backend.account_id, backend.region_name
    taken = {}
    failures = {}
    for lid, rtype, key, value in change_set.strata_imports:
        obj = _find(rtype, value, account_id, region)
        owner = _owner(rtype, value, account_id, region)
        if L._fault(stack.name, lid, False):
            failures[lid] = (
                f"Resource handler returned message: injected failure of {lid} "
                "(sandbox control endpoint)"
            )
        elif obj is None:
            failures[lid] = f"Resource of type {rtype} with identifier {{{key}={value}}} does not exist."
        elif owner is not None:
            failures[lid] = (
                f"Resource of type {rtype} with identifier {{{key}={value}}} already belongs "
                f"to stack [{owner.stack_id}]."
            )
        else:
            taken[lid] = obj
    t = max(t0, time.time()) + L.seconds("AWS::CloudFormation::Stack", "import")
    records = [
        {"logical_id": lid, "type": rtype, "action": "IMPORT", "physical": value, "reason": failures.get(lid)}
        for lid, rtype, _, value in change_set.strata_imports
    ]
    end = L._phase(stack, records, L._template_resources(new), t)
    if failures:
        L._stack_event(
            stack,
            end,
            "IMPORT_ROLLBACK_IN_PROGRESS",
            f"The following resource(s) failed to import: [{', '.join(sorted(failures))}]. ",
        )
        end += L.seconds("AWS::CloudFormation::Stack", "import")
        L._stack_event(stack, end, "IMPORT_ROLLBACK_COMPLETE")
        stack._strata_status = "IMPORT_ROLLBACK_COMPLETE"
        if change_set.strata_new_stack:
            stack.template = "{}"  # nothing was taken: the stack stays empty
        return False
    if change_set.strata_new_stack:
        stack.template = change_set.template
        if change_set.parameters:
            stack.parameters = change_set.parameters
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.resource_map = stack._create_resource_map()
        rmap = stack.resource_map
        rmap.tags.update(
            {"aws:cloudformation:stack-name": stack.name, "aws:cloudformation:stack-id": stack.stack_id}
        )
    else:
        stack.template = change_set.template
        stack._parse_template()
        rmap = stack.resource_map
        rmap._template = stack.template_dict
        rmap._resource_json_map = stack.template_dict["Resources"]
    for lid, rtype, _, _ in change_set.strata_imports:
        obj = taken[lid]
        obj.logical_resource_id = lid
        obj.cf_resource_type = rtype
        rmap._parsed_resources[lid] = obj
    stack.output_map = stack._create_output_map()
    L._stack_event(stack, end, "IMPORT_COMPLETE")
    stack._strata_status = "IMPORT_COMPLETE"
    return True


def _change_set(backend, change_set_name, stack_name):
    change_set = backend.change_sets.get(change_set_name)
    if change_set is None:
        for cs in backend.change_sets.values():
            if cs.change_set_name == change_set_name and (
                stack_name is None or stack_name in (cs.stack_name, cs.stack_id)
            ):
                change_set = cs
    return change_set


def install():
    from moto.cloudformation.models import CloudFormationBackend
    from moto.cloudformation.responses import CloudFormationResponse

    respond = CloudFormationResponse.create_change_set

    def create_change_set_response(self):
        # moto's response drops ResourcesToImport: hand it to the backend call.
        if self._get_param("ChangeSetType") != "IMPORT":
            return respond(self)
        _REQUEST.imports = self._get_param("ResourcesToImport", [])
        try:
            return respond(self)
        finally:
            _REQUEST.imports = None

    CloudFormationResponse.create_change_set = create_change_set_response

    create = CloudFormationBackend.create_change_set

    def create_change_set(self, stack_name, change_set_name, *args, **kwargs):
        names = ("template", "parameters", "description", "change_set_type",
                 "notification_arns", "tags", "role_arn")
        given = dict(zip(names, args), **kwargs)
        if given.get("change_set_type") != "IMPORT":
            return create(self, stack_name, change_set_name, *args, **kwargs)
        given.pop("change_set_type")
        return create_import_change_set(self, stack_name, change_set_name, **given)

    CloudFormationBackend.create_change_set = create_change_set

    execute = CloudFormationBackend.execute_change_set

    def execute_change_set(self, change_set_name, stack_name=None):
        L._settle(self)
        change_set = _change_set(self, change_set_name, stack_name)
        if change_set is None or change_set.change_set_type != "IMPORT":
            return execute(self, change_set_name, stack_name)
        stack = self.stacks[change_set.stack_id]
        if change_set.status != "CREATE_COMPLETE" or change_set.execution_status != "AVAILABLE":
            raise L.InvalidChangeSetStatus(
                f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current "
                f"status of [{change_set.status}]"
            )
        if L._in_progress(stack.status):
            raise L.InvalidChangeSetStatus(
                f"ChangeSet [{change_set.change_set_id}] cannot be executed: stack "
                f"[{stack.name}] is in {stack.status} state."
            )
        change_set.execution_status = "EXECUTE_IN_PROGRESS"
        ok = run_import(self, stack, change_set)
        change_set.execution_status = "EXECUTE_COMPLETE" if ok else "EXECUTE_FAILED"

    CloudFormationBackend.execute_change_set = execute_change_set
