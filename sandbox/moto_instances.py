"""Instances that run their user data: the app baked into an AMI starts, reads its
contract and answers its health path, and the load balancer's health checks ask it.
Imported by ``moto_strata.py``; ``install()`` applies it.

moto 5.2.5 runs nothing on an instance: a running instance registered in a target
group is reported ``healthy`` whatever it would serve, so a health gate that reads
DescribeTargetHealth sees the sandbox, not the app. AWS:

- the instance runs its user data as root at first boot
  (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/user-data.html);
- the load balancer sends the target group's health check (protocol, path, the
  matcher's codes) to each registered target: ``initial`` while the first checks
  run, ``healthy`` when it answers with a matching code, ``unhealthy`` with
  ``Target.ResponseCodeMismatch``, ``Target.Timeout`` or ``Target.FailedHealthChecks``
  otherwise (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html);
- GetConsoleOutput returns what the instance wrote to its console
  (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetConsoleOutput.html);
- SignalResource records ``Received SUCCESS signal with UniqueId ...`` on a
  resource that waits for signals, and is refused otherwise
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_SignalResource.html).

What this module models, for an instance launched from an AMI that carries an app
(the AMI's tag ``strata:sandbox-app`` names the directory baked in as ``/opt/app``;
CopyImage carries it to the copy, as copying an image copies its disk): the user
data runs under a supervisor process of its own (killed with the instance, and
when moto dies), its console output is what GetConsoleOutput returns, and the
target groups' health checks are real HTTP requests to the app. An instance of an
AMI without the tag behaves as before (no process; ``healthy`` when running and
registered), so a stack that does not bring an app is unaffected.

Emulated, not modelled (docs/sandbox.md): an instance is a process group on this
machine, not a VM. Its filesystem is the host's with three directories mapped into
a directory of its own: ``/etc/strata`` (what the user data writes), ``/opt/app``
(the AMI's app) and ``/opt/aws/bin`` (``cfn-signal``, a shim calling SignalResource
on the sandbox). Every instance would listen on the same port, so each gets a free
port of its own: the user data's ``PORT=`` line and its ``127.0.0.1:<port>`` health
probe are rewritten to it, and the load balancer's checks go there. The instance's
credentials and endpoint (the instance profile, the VPC's route to the service)
are the sandbox's: ``AWS_ENDPOINT_URL`` and test keys in its environment; IAM is
not evaluated. Its ``python3`` is the sandbox venv's (with boto3, as an AMI would
bundle its SDK).
"""

import atexit
import base64
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

APP_TAG = "strata:sandbox-app"

# instance id -> Runtime, for the instances whose user data runs.
_RUNTIMES = {}
# (account, region, image id) -> app directory, for copies of an image with an app.
_COPIED_APPS = {}
_LOCK = threading.Lock()
_ENDPOINT = {"url": None}
_ROOT = {"dir": None}

# The supervisor: runs the user data in its own process group (the group is the
# instance), and kills the whole group when told to (SIGTERM: the instance is
# terminated or stopped) or when moto, its parent, is gone (moto is SIGKILLed with
# the test that started it: nothing may outlive it).
SUPERVISOR = r"""
import os, signal, subprocess, sys, time
moto, script, console = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def die(*_):
    os.killpg(0, signal.SIGKILL)
signal.signal(signal.SIGTERM, die)
with open(console, "ab", buffering=0) as out:
    subprocess.Popen(["/bin/bash", script], stdout=out, stderr=out, stdin=subprocess.DEVNULL)
while True:
    if os.getppid() != moto:
        die()
    time.sleep(0.5)
"""

# /opt/aws/bin/cfn-signal: the options strata's user data passes, sent to the
# sandbox's SignalResource (the query API moto answers; it checks no signature).
CFN_SIGNAL = r"""#!/usr/bin/env python3
import argparse, os, sys, urllib.parse, urllib.request
p = argparse.ArgumentParser()
p.add_argument("-e", "--exit-code", default="0")
p.add_argument("--stack", required=True)
p.add_argument("--resource", required=True)
p.add_argument("--region", required=True)
a = p.parse_args()
status = "SUCCESS" if a.exit_code == "0" else "FAILURE"
body = urllib.parse.urlencode({
    "Action": "SignalResource", "Version": "2010-05-15", "StackName": a.stack,
    "LogicalResourceId": a.resource, "UniqueId": os.environ["STRATA_SANDBOX_INSTANCE_ID"],
    "Status": status,
}).encode()
req = urllib.request.Request(os.environ["AWS_ENDPOINT_URL"], data=body, headers={
    "Content-Type": "application/x-www-form-urlencoded",
    "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/" + a.region + "/cloudformation/aws4_request, SignedHeaders=host, Signature=0",
})
try:
    urllib.request.urlopen(req, timeout=10).read()
    print(f"cfn-signal: sent {status} for {a.resource} in {a.stack}")
except urllib.error.HTTPError as e:
    print(f"cfn-signal: {e.code} {e.read().decode(errors='replace')}", file=sys.stderr)
    sys.exit(1)
"""


class Runtime:
    """One instance's process group, port and console."""

    def __init__(self, instance_id, port, root, process):
        self.instance_id = instance_id
        self.port = port
        self.root = root
        self.process = process
        self.answered = False

    @property
    def console(self):
        return os.path.join(self.root, "console.log")

    def stop(self):
        if self.process.poll() is None:
            try:
                self.process.send_signal(signal.SIGTERM)
                self.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except OSError:
                    pass


def _root():
    if _ROOT["dir"] is None:
        _ROOT["dir"] = tempfile.mkdtemp(prefix="strata-instances-")
    return _ROOT["dir"]


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _decode(user_data):
    if user_data is None:
        return None
    if isinstance(user_data, list):
        user_data = user_data[0] if user_data else None
        if user_data is None:
            return None
    if hasattr(user_data, "decode") and not isinstance(user_data, (bytes, str)):
        return user_data.decode()
    if isinstance(user_data, bytes):
        user_data = user_data.decode()
    try:
        return base64.b64decode(user_data, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return user_data


def app_of(ec2_backend, image_id):
    """The app directory baked into `image_id`, or None."""
    tag = ec2_backend.tags.get(image_id, {}).get(APP_TAG)
    if tag:
        return tag
    return _COPIED_APPS.get((ec2_backend.account_id, ec2_backend.region_name, image_id))


def rewrite(script, root, app, shims, port):
    """The user data as this instance runs it: its three mapped directories and
    its own port (see the module docs)."""
    m = re.search(r"^PORT=(\d+)$", script, re.MULTILINE)
    if m:
        declared = m.group(1)
        script = re.sub(r"^PORT=\d+$", f"PORT={port}", script, flags=re.MULTILINE)
        script = script.replace(f"127.0.0.1:{declared}", f"127.0.0.1:{port}")
    return (
        script.replace("/etc/strata", os.path.join(root, "etc", "strata"))
        .replace("/opt/app/", app.rstrip("/") + "/")
        .replace("/opt/aws/bin/", shims + "/")
    )


def boot(instance, app):
    """Run `instance`'s user data with `app` as its /opt/app."""
    script = _decode(instance.user_data)
    if not script:
        return
    root = os.path.join(_root(), instance.id)
    shims = os.path.join(root, "opt", "aws", "bin")
    os.makedirs(shims, exist_ok=True)
    signal_shim = os.path.join(shims, "cfn-signal")
    with open(signal_shim, "w") as f:
        f.write(CFN_SIGNAL)
    os.chmod(signal_shim, 0o755)
    port = _free_port()
    path = os.path.join(root, "user-data.sh")
    with open(path, "w") as f:
        f.write(rewrite(script, root, app, shims, port))
    env = {
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": root,
        "AWS_ENDPOINT_URL": _ENDPOINT["url"],
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "STRATA_SANDBOX_INSTANCE_ID": instance.id,
    }
    process = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, str(os.getpid()), path, os.path.join(root, "console.log")],
        env=env,
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    with _LOCK:
        _RUNTIMES[instance.id] = Runtime(instance.id, port, root, process)


def halt(instance_id):
    with _LOCK:
        runtime = _RUNTIMES.pop(instance_id, None)
    if runtime is not None:
        runtime.stop()


def _halt_all():
    with _LOCK:
        runtimes = list(_RUNTIMES.values())
        _RUNTIMES.clear()
    for runtime in runtimes:
        runtime.stop()


def probe(runtime, group):
    """The target group's health check against the instance's app: (state, reason,
    description) as DescribeTargetHealth reports them."""
    path = getattr(group, "health_check_path", None) or "/"
    codes = (getattr(group, "matcher", None) or {}).get("HttpCode", "200")
    url = f"http://127.0.0.1:{runtime.port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            code = response.status
    except urllib.error.HTTPError as e:
        code = e.code
    except socket.timeout:
        if not runtime.answered:
            return ("initial", "Elb.InitialHealthChecking", "Initial health checks in progress")
        return ("unhealthy", "Target.Timeout", "Request timed out")
    except (urllib.error.URLError, ConnectionError, OSError):
        if not runtime.answered:
            return ("initial", "Elb.InitialHealthChecking", "Initial health checks in progress")
        return ("unhealthy", "Target.FailedHealthChecks", "Health checks failed")
    runtime.answered = True
    if _matches(code, codes):
        return ("healthy", None, None)
    return ("unhealthy", "Target.ResponseCodeMismatch", f"Health checks failed with these codes: [{code}]")


def _matches(code, codes):
    for part in str(codes).split(","):
        part = part.strip()
        if "-" in part:
            low, high = part.split("-", 1)
            if int(low) <= code <= int(high):
                return True
        elif part and int(part) == code:
            return True
    return False


def run_user_data():
    from moto.ec2.models.instances import Instance, InstanceBackend

    run_instances = InstanceBackend.run_instances

    def run_and_boot(self, image_id, count, user_data, security_group_names, **kwargs):
        reservation = run_instances(self, image_id, count, user_data, security_group_names, **kwargs)
        for instance in reservation.instances:
            app = app_of(self, instance.image_id)
            if app:
                boot(instance, app)
        return reservation

    InstanceBackend.run_instances = run_and_boot

    for name in ("terminate", "stop"):
        original = getattr(Instance, name)

        def halt_then(self, _original=original):
            halt(self.id)
            return _original(self)

        setattr(Instance, name, halt_then)


def copies_carry_the_app():
    from moto.ec2.models.amis import AmiBackend

    copy_image = AmiBackend.copy_image

    def copy(self, source_image_id, source_region, name=None, description=None):
        from moto.ec2.models import ec2_backends

        ami = copy_image(self, source_image_id, source_region, name=name, description=description)
        app = app_of(ec2_backends[self.account_id][source_region], source_image_id)
        if app:
            _COPIED_APPS[(self.account_id, self.region_name, ami.id)] = app
        return ami

    AmiBackend.copy_image = copy


def health_checks_ask_the_app():
    from moto.elbv2.models import FakeHealthStatus, FakeTargetGroup

    health_for = FakeTargetGroup.health_for

    def ask(self, target, ec2_backend):
        status = health_for(self, target, ec2_backend)
        runtime = _RUNTIMES.get(target["Id"])
        if runtime is None or status.status != "healthy":
            return status
        state, reason, description = probe(runtime, self)
        return FakeHealthStatus(status.instance_id, status.port, status.health_check_port, state, reason, description)

    FakeTargetGroup.health_for = ask


def console_output_is_the_instance_console():
    from moto.ec2.responses.general import General
    from moto.ec2.utils import Base64EncodedString

    get_console_output = General.get_console_output

    def console(self):
        runtime = _RUNTIMES.get(self._get_param("InstanceId"))
        result = get_console_output(self)
        if runtime is not None:
            try:
                with open(runtime.console, "rb") as f:
                    text = f.read().decode(errors="replace")
            except OSError:
                text = ""
            result.result["Output"] = Base64EncodedString.from_raw_string(text)
        return result

    General.get_console_output = console


def signal_resource():
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import Event
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import EmptyResult
    from moto_autoscaling import append_stack_event

    def signal(self):
        stack_name = self._get_param("StackName")
        logical_id = self._get_param("LogicalResourceId")
        unique_id = self._get_param("UniqueId")
        status = self._get_param("Status")
        if status not in ("SUCCESS", "FAILURE"):
            raise ValidationError(message=f"Invalid signal status {status!r}: SUCCESS or FAILURE")
        stack = self.cloudformation_backend.get_stack(stack_name)  # ValidationError if absent
        resources = stack.resource_map
        if logical_id not in resources._resource_json_map:
            raise ValidationError(message=f"Resource {logical_id} does not exist in stack {stack_name}")
        resource = resources._parsed_resources.get(logical_id)
        if not str(stack.status).endswith("_IN_PROGRESS"):
            # Only a resource that waits (CreationPolicy, or an update with
            # WaitOnResourceSignals) may be signalled: not one of a settled stack.
            raise ValidationError(
                message=f"Resource {logical_id} is in {stack.status} state and can not be signaled"
            )
        event = Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=getattr(resource, "physical_resource_id", None),
            resource_type="AWS::AutoScaling::AutoScalingGroup",
            resource_status="CREATE_IN_PROGRESS" if stack.status.startswith("CREATE") else "UPDATE_IN_PROGRESS",
            resource_status_reason=f"Received {status} signal with UniqueId {unique_id}",
            resource_properties=None,
        )
        append_stack_event(stack, event)
        return EmptyResult()

    CloudFormationResponse.signal_resource = signal


def install(port=None):
    if port is None:
        args = sys.argv[1:]
        port = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-p", "--port")), "5000")
    _ENDPOINT["url"] = f"http://127.0.0.1:{port}"
    atexit.register(_halt_all)
    run_user_data()
    copies_carry_the_app()
    health_checks_ask_the_app()
    console_output_is_the_instance_console()
    signal_resource()
