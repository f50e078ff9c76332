"""S3 conditional copies and TLS-only bucket policies, as AWS documents them and
moto 5.2.5 does not. Imported by ``moto_strata.py``; ``install()`` applies it.

strata's back-fill (``strata dr backfill``, docs/dr.md "Back-fill") copies into a
region's bucket only the objects it does not hold, each ``CopyObject`` carrying
``If-None-Match: *`` so that a copy never overwrites an object that replication (or
the application) wrote there meanwhile:

- CopyObject ``If-None-Match``
  (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html#API_CopyObject_RequestSyntax):
  "Copies the object only if the object key name at the destination does not
  already exist in the bucket specified. Otherwise, Amazon S3 returns a
  ``412 Precondition Failed`` error." A key whose current version is a delete
  marker does not exist (conditional writes,
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html).

moto 5.2.5 honours ``If-None-Match`` on PutObject but ignores it on CopyObject
(it checks only the *source* conditions, ``x-amz-copy-source-if-*``), so a copy
always overwrote. What the sandbox cannot show: S3's ``409
ConditionalRequestConflict`` for two conditional writes of one key at once (moto
serves requests one at a time).

TLS-only bucket policies. strata's buckets deny ``s3:*`` under the condition
``{"Bool": {"aws:SecureTransport": "false"}}``: the statement applies only to a
request that did not come over TLS
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html#transit,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-securetransport).
moto 5.2.5 evaluates a bucket policy's statements on object calls without their
``Condition``, so the statement denied every object read and write. Every request
the sandbox serves stands for an SDK call, which is HTTPS on AWS (the sandbox's
plain HTTP on 127.0.0.1 is the transport of the emulator, not of the call it
models): a statement conditioned on ``aws:SecureTransport`` being false does not
apply to it, and is left out of the evaluation. Statements with other conditions
are evaluated as moto does. That the policy refuses a plain-HTTP request is AWS's
guarantee, not shown here (tests/synth_structure.rs checks the statement).
"""

import json

from moto.s3.models import FakeBucket

from moto.s3.exceptions import PreconditionFailed
from moto.s3.responses import S3Response

_copy_object = S3Response.copy_object


def copy_object(self):
    if self.headers.get("If-None-Match") == "*":
        key_name = self.parse_key_name()
        # get_object answers the current version; a delete marker is no object.
        if self.backend.get_object(self.bucket_name, key_name) is not None:
            raise PreconditionFailed("If-None-Match")
    return _copy_object(self)


_get_permission = FakeBucket.get_permission

_INSECURE_ONLY = {"Bool": {"aws:SecureTransport": "false"}}


def _applies_over_tls(statement):
    return statement.get("Condition") != _INSECURE_ONLY


def get_permission(self, action, resource):
    if self.policy is None:
        return _get_permission(self, action, resource)
    try:
        policy = json.loads(self.policy)
    except (TypeError, ValueError):
        return _get_permission(self, action, resource)
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    kept = [s for s in statements if _applies_over_tls(s)]
    if len(kept) == len(statements):
        return _get_permission(self, action, resource)
    from moto.iam.access_control import IAMPolicy, PermissionResult

    if not kept:
        return PermissionResult.NEUTRAL
    return IAMPolicy(json.dumps({**policy, "Statement": kept})).is_action_permitted(
        action, resource
    )


def install():
    S3Response.copy_object = copy_object
    FakeBucket.get_permission = get_permission
