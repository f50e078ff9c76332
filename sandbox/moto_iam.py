"""IAM for strata's sandbox: a control endpoint for what no AWS API can do.
Imported by ``moto_strata.py``.

``strata audit`` reads an account's hygiene through IAM and EC2. moto 5.2.5
answers those calls, with two things a test cannot set through any AWS API:

* an access key's age: ``CreateAccessKey`` dates a key now (as AWS does), so a key
  "older than 90 days" cannot be made by calling AWS; and
* the root user's MFA: AWS enables it only in the console, and moto's
  ``GetAccountSummary`` answers ``AccountMFAEnabled = 0`` always.

``POST /moto-api/strata/iam`` (JSON) sets them in moto's IAM backend, the way
moto's own ``/moto-api/`` endpoints seed state:

* ``{"action": "backdate-access-key", "user": U, "access_key_id": K, "days": N}``:
  the key's creation date (``ListAccessKeys`` ``CreateDate`` and the credential
  report's ``access_key_N_last_rotated``) becomes N days ago;
* ``{"action": "root-mfa", "enabled": true|false}``: ``AccountMFAEnabled``.

``account_id`` may be given (default: moto's 123456789012). Nothing here changes
how moto answers an AWS API call; strata's code never calls this endpoint (only
tests do).

``administrator_access_exists``: every AWS account has the AWS managed policy
``arn:aws:iam::aws:policy/AdministratorAccess`` (IAM User Guide, "AWS managed
policies for job functions"). moto 5.2.5 loads AWS managed policies only with
``MOTO_IAM_LOAD_MANAGED_POLICIES=true`` (all of them, slowing every IAM backend's
start); without it attaching AdministratorAccess fails with NoSuchEntity. This
adds that one policy, from moto's own copy of the managed-policy data.

``inline_policies_are_documents``: a role's inline policy is a JSON document, and
``GetRolePolicy`` answers it as one ("PolicyDocument: The policy document. IAM
stores policies in JSON format", URL-encoded per RFC 3986:
https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRolePolicy.html).
moto 5.2.5 stores an ``AWS::IAM::Role``'s ``Policies`` from CloudFormation as the
template's parsed dict and answers ``GetRolePolicy`` with its Python repr
(``{'Version': ...}``), which no JSON reader accepts. This stores it as JSON, as
``PutRolePolicy`` already does.
"""

import datetime
import json

PATH = "{0}/moto-api/strata/iam$"
DEFAULT_ACCOUNT = "123456789012"


def _answer(status, body):
    return status, {"Content-Type": "application/json"}, json.dumps(body)


def control(request, full_url, headers):
    """Apply one control action to moto's IAM backend."""
    from moto.iam.models import iam_backends

    try:
        body = json.loads(request.data or b"{}")
    except ValueError as e:
        return _answer(400, {"error": f"not JSON: {e}"})
    backend = iam_backends[body.get("account_id", DEFAULT_ACCOUNT)]["aws"]
    action = body.get("action")
    if action == "backdate-access-key":
        user = backend.users.get(body.get("user"))
        if user is None:
            return _answer(404, {"error": f"no user {body.get('user')!r}"})
        for key in user.access_keys:
            if key.access_key_id == body.get("access_key_id"):
                key.create_date = key.create_date - datetime.timedelta(days=int(body["days"]))
                return _answer(200, {"create_date": key.create_date.isoformat()})
        return _answer(404, {"error": f"no access key {body.get('access_key_id')!r}"})
    if action == "root-mfa":
        backend.account_summary._account_mfa_enabled = 1 if body.get("enabled") else 0
        return _answer(200, {"AccountMFAEnabled": backend.account_summary._account_mfa_enabled})
    return _answer(400, {"error": f"unknown action {action!r}"})


def administrator_access_exists():
    """Give every IAM backend the AWS managed AdministratorAccess policy."""
    from moto.iam import models
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    original = models.IAMBackend._init_aws_policies
    data = {}

    def with_administrator_access(self):
        policies = original(self)
        if any(p.name == "AdministratorAccess" for p in policies):
            return policies
        if "doc" not in data:
            data["doc"] = json.loads(aws_managed_policies_data)["AdministratorAccess"]
        admin = models.AWSManagedPolicy.from_data(
            "AdministratorAccess", self.account_id, self.region_name, data["doc"]
        )
        return policies + [admin]

    models.IAMBackend._init_aws_policies = with_administrator_access


def inline_policies_are_documents():
    """Store a role's inline policy given as a dict (CloudFormation) as JSON."""
    from moto.iam import models

    original = models.Role.put_policy

    def put_policy(self, policy_name, policy_json):
        if not isinstance(policy_json, str):
            policy_json = json.dumps(policy_json)
        original(self, policy_name, policy_json)

    models.Role.put_policy = put_policy


def install():
    """Route the control endpoint in moto's server (before its app exists), give
    IAM the AdministratorAccess policy, and keep inline role policies as JSON."""
    from moto.moto_api._internal import urls

    urls.url_paths[PATH] = control
    administrator_access_exists()
    inline_policies_are_documents()
