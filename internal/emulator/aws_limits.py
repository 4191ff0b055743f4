"""AWS's constraints, quotas and timing in the emulated account.

Imported by launcher.py (import_extensions) before it patches moto; each
patch below is registered in launcher.EXTRA_PATCHES and runs after the
launcher's own. Each restores something AWS enforces that moto 5.2.1 does
not, and names the AWS page it follows. None makes the emulator kinder than
AWS: the settings (launcher.CONFIG_SETTINGS, POST /_emulator/config) may only
lower a quota below AWS's figure, so that a test can reach it cheaply; their
defaults are AWS's.

Settings:
  history_event_limit       events in one execution's history (AWS: 25,000)
  payload_size_limit        bytes of a state's input/output or a task's
                            result, as UTF-8 JSON (AWS: 262,144 = 256 KiB)
  snapshot_seconds_per_gib  scaled seconds an EBS snapshot (or a copy) takes
                            per GiB of its volume (default 10); 0 completes
                            snapshots at once, as moto does
  scaled_now                read only: the emulated account's clock (epoch
                            seconds), which Wait and Retry sleeps advance by
                            what they ask for, whatever the time scale
"""

import re
import threading
import time

import launcher
from launcher import _fail, _require


class _Limits:
    """The settings in force; each section below sets its own defaults."""


LIMITS = _Limits()


def _int_setting(name, low, high):
    """A CONFIG_SETTINGS entry for an integer from low to high."""

    def setter(value):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError("%s must be an integer from %d to %d (AWS's figure)" % (name, low, high))
        setattr(LIMITS, name, value)

    return setter, lambda: getattr(LIMITS, name)


def _patch(fn):
    launcher.EXTRA_PATCHES.append(fn)
    return fn


# --------------------------------------------------------------------------- #
# EC2: what an instance's purchase option and root device allow.
# --------------------------------------------------------------------------- #


@_patch
def patch_protection_constraints():
    """ModifyInstanceAttribute refuses termination protection for a Spot
    Instance, and stop protection for a Spot Instance or an instance-store-
    backed instance (RootDeviceType instance-store), as AWS does.

    EC2 User Guide, "Enable termination protection" ("You can't enable
    termination protection for Spot Instances") and "Enable stop protection"
    ("You can't enable stop protection for instance store-backed instances",
    "... for Spot Instances"). moto 5.2.1 sets either attribute on any
    instance.

    The answer is HTTP 400 UnsupportedOperation. For termination protection
    on Spot, AWS's message is "Modifying 'disableApiTermination' is not
    supported for spot instances.", recorded in two bug reports years apart
    (cloud-custodian/cloud-custodian#2083, 2018; hashicorp/terraform-provider-
    aws#41206, 2025), both when turning protection off: so any value is
    refused, not only true. No report records the stop-protection refusals;
    their messages follow the same pattern ("Modifying 'disableApiStop' is
    not supported for spot instances." / "... for instance store-backed
    instances.") and are a best guess.
    """
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models.instances import InstanceBackend

    original = _require(InstanceBackend, "modify_instance_attribute")

    def modify_instance_attribute(self, instance_id, key, value):
        instance = self.get_instance(instance_id)
        spot = getattr(instance, "lifecycle", None) == "spot"
        store = getattr(instance, "root_device_type", "ebs") == "instance-store"
        if key == "disable_api_termination" and spot:
            raise EC2ClientError(
                "UnsupportedOperation", "Modifying 'disableApiTermination' is not supported for spot instances."
            )
        if key == "disable_api_stop" and (spot or store):
            kind = "spot instances" if spot else "instance store-backed instances"
            raise EC2ClientError("UnsupportedOperation", "Modifying 'disableApiStop' is not supported for %s." % kind)
        return original(self, instance_id, key, value)

    InstanceBackend.modify_instance_attribute = modify_instance_attribute


@_patch
def patch_instance_store_root():
    """An instance launched from an instance-store-backed AMI reports
    RootDeviceType "instance-store" and has no EBS root volume (EC2 User
    Guide, "Root volumes for your Amazon EC2 instances": its root device is
    an instance store volume, created from a template in Amazon S3). moto
    5.2.1 reports "ebs" for every instance and gives each an 8 GiB EBS root
    volume. An AMI registered with an ImageLocation (an S3 bundle manifest)
    and no BlockDeviceMappings is instance-store-backed (EC2 API reference,
    RegisterImage: ImageLocation is "required for Amazon S3-backed AMIs",
    i.e. instance store-backed); moto registers every AMI as "standard".
    moto's catalogue also has one instance-store AMI, ami-04681a1dbd79675b6.

    StopInstances then refuses such an instance with UnsupportedOperation
    "The instance '<id>' does not have an 'ebs' root device type and cannot
    be stopped." (EC2 API reference, StopInstances: "You can't stop ...
    instance store-backed instances"; the message as AWS answered it in
    mitchellh/vagrant-aws#193).
    """
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models.instances import Instance, InstanceBackend
    from moto.ec2.responses.amis import AmisResponse

    init = _require(Instance, "__init__")
    setup_defaults = _require(Instance, "setup_defaults")
    stop_instances = _require(InstanceBackend, "stop_instances")
    register = _require(AmisResponse, "register_image")

    def __init__(self, ec2_backend, image_id, *args, **kwargs):
        init(self, ec2_backend, image_id, *args, **kwargs)
        try:
            amis = ec2_backend.describe_images(filters={"image-id": self.image_id})
        except Exception:  # noqa: BLE001 - an unknown AMI keeps moto's default
            amis = []
        if amis and getattr(amis[0], "root_device_type", None) == "instance-store":
            self.root_device_type = "instance-store"

    def _setup_defaults(self):
        if getattr(self, "root_device_type", "ebs") == "instance-store":
            return
        setup_defaults(self)

    def _stop_instances(self, instance_ids, *args, **kwargs):
        for instance_id in instance_ids:
            instance = self.get_instance(instance_id)
            if getattr(instance, "root_device_type", "ebs") == "instance-store":
                raise EC2ClientError(
                    "UnsupportedOperation",
                    "The instance '%s' does not have an 'ebs' root device type and cannot be stopped." % instance_id,
                )
        return stop_instances(self, instance_ids, *args, **kwargs)

    def register_image(self):
        store = bool(self._get_param("ImageLocation")) and not self._get_param("BlockDeviceMappings")
        result = register(self)
        image_id = getattr(result, "result", {}).get("ImageId")
        if image_id is None:
            _fail("RegisterImage's result has no ImageId")
        self.ec2_backend.amis[image_id].root_device_type = "instance-store" if store else "ebs"
        return result

    Instance.__init__ = __init__
    Instance.setup_defaults = _setup_defaults
    InstanceBackend.stop_instances = _stop_instances
    AmisResponse.register_image = register_image


@_patch
def patch_security_group_duplicate_message():
    """CreateSecurityGroup of a name the VPC already has answers
    InvalidGroup.Duplicate "The security group '<name>' already exists for VPC
    '<vpc-id>'", in AWS's words (as AWS answered in hashicorp/terraform#15428,
    kubernetes/kops#2376, dask/dask-cloudprovider#198, pry0cc/axiom#644);
    moto 5.2.1 leaves out " for VPC '<vpc-id>'". Since the aws-sdk cause
    carries no error code (launcher, patch_aws_sdk_error_names), a workflow
    can only tell this error apart by its message, so the message must be
    AWS's (EC2 API reference, "Error codes": InvalidGroup.Duplicate).
    """
    from moto.ec2.exceptions import EC2ClientError, InvalidSecurityGroupDuplicateError
    from moto.ec2.models.security_groups import SecurityGroupBackend

    original = _require(SecurityGroupBackend, "create_security_group")

    def create_security_group(self, name, description, vpc_id=None, *args, **kwargs):
        try:
            return original(self, name, description, vpc_id, *args, **kwargs)
        except InvalidSecurityGroupDuplicateError:
            vpc = vpc_id or getattr(getattr(self, "default_vpc", None), "id", None)
            raise EC2ClientError(
                "InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'" % (name, vpc)
            ) from None

    SecurityGroupBackend.create_security_group = create_security_group


# --------------------------------------------------------------------------- #
# IAM quotas.
# --------------------------------------------------------------------------- #

# IAM User Guide, "IAM and AWS STS quotas", "IAM and STS character limits":
# the inline policies of a user, group or role together, whitespace excluded.
_INLINE_POLICY_QUOTA = {"role": 10240, "group": 5120, "user": 2048}
MANAGED_POLICY_SIZE_QUOTA = 6144
ATTACHED_POLICIES_PER_ROLE_QUOTA = 10
_WHITESPACE = re.compile(r"\s+")


def _policy_size(document):
    """Characters of a policy document as IAM counts them: whitespace excluded."""
    return len(_WHITESPACE.sub("", document or ""))


@_patch
def patch_inline_policy_quota():
    """PutRolePolicy (PutGroupPolicy, PutUserPolicy) refuses a document that
    would make the entity's inline policies together longer than 10,240
    (5,120, 2,048) characters, whitespace excluded (IAM User Guide, "IAM and
    AWS STS quotas": "Role policy size cannot exceed 10,240 characters ...
    IAM doesn't count white space"). A policy replaced under the same name
    counts once. The answer is HTTP 409 LimitExceeded, "Maximum policy size
    of 10240 bytes exceeded for role <name>" (as AWS words it, e.g.
    kubernetes/kops#12558, gchq/sleeper#1459 "(Service: Iam, Status Code:
    409 ...)"), and the entity's policies are unchanged. moto 5.2.1 stores
    any size.
    """
    from moto.iam.exceptions import LimitExceededException
    from moto.iam.models import IAMBackend

    def wrap(method, kind, getter):
        original = _require(IAMBackend, method)
        quota = _INLINE_POLICY_QUOTA[kind]

        def put(self, name, policy_name, policy_json):
            entity = getattr(self, getter)(name)
            others = sum(_policy_size(doc) for pname, doc in entity.policies.items() if pname != policy_name)
            if others + _policy_size(policy_json) > quota:
                raise LimitExceededException(
                    "Maximum policy size of %d bytes exceeded for %s %s" % (quota, kind, name)
                )
            return original(self, name, policy_name, policy_json)

        setattr(IAMBackend, method, put)

    wrap("put_role_policy", "role", "get_role")
    wrap("put_group_policy", "group", "get_group")
    wrap("put_user_policy", "user", "get_user")


@_patch
def patch_managed_policy_quotas():
    """CreatePolicy and CreatePolicyVersion refuse a document longer than
    6,144 characters, whitespace excluded, and AttachRolePolicy an eleventh
    managed policy on a role (IAM User Guide, "IAM and AWS STS quotas":
    managed policy size 6,144 characters; managed policies attached to a
    role: 10 by default). Both answer HTTP 409 LimitExceeded, in IAM's
    words "Cannot exceed quota for PolicySize: 6144" and "Cannot exceed
    quota for PoliciesPerRole: 10" (the latter recorded in aws/eks-hybrid#741
    with "(Service: Iam, Status Code: 409 ...)"). moto 5.2.1 enforces
    neither; it reports both quotas in GetAccountSummary.
    """
    from moto.iam.exceptions import LimitExceededException
    from moto.iam.models import IAMBackend

    create = _require(IAMBackend, "create_policy")
    create_version = _require(IAMBackend, "create_policy_version")
    attach = _require(IAMBackend, "attach_role_policy")

    def check(document):
        if _policy_size(document) > MANAGED_POLICY_SIZE_QUOTA:
            raise LimitExceededException("Cannot exceed quota for PolicySize: %d" % MANAGED_POLICY_SIZE_QUOTA)

    def create_policy(self, description, path, policy_document, policy_name, tags):
        check(policy_document)
        return create(self, description, path, policy_document, policy_name, tags)

    def create_policy_version(self, policy_arn, policy_document, set_as_default):
        check(policy_document)
        return create_version(self, policy_arn, policy_document, set_as_default)

    def attach_role_policy(self, policy_arn, role_name):
        role = self.get_role(role_name)
        attached = getattr(role, "managed_policies", {})
        if policy_arn not in attached and len(attached) >= ATTACHED_POLICIES_PER_ROLE_QUOTA:
            raise LimitExceededException(
                "Cannot exceed quota for PoliciesPerRole: %d" % ATTACHED_POLICIES_PER_ROLE_QUOTA
            )
        return attach(self, policy_arn, role_name)

    IAMBackend.create_policy = create_policy
    IAMBackend.create_policy_version = create_policy_version
    IAMBackend.attach_role_policy = attach_role_policy


# --------------------------------------------------------------------------- #
# Step Functions quotas.
# --------------------------------------------------------------------------- #

AWS_HISTORY_EVENT_LIMIT = 25000
AWS_PAYLOAD_SIZE_LIMIT = 256 * 1024
LIMITS.history_event_limit = AWS_HISTORY_EVENT_LIMIT
LIMITS.payload_size_limit = AWS_PAYLOAD_SIZE_LIMIT
launcher.CONFIG_SETTINGS["history_event_limit"] = _int_setting("history_event_limit", 3, AWS_HISTORY_EVENT_LIMIT)
launcher.CONFIG_SETTINGS["payload_size_limit"] = _int_setting("payload_size_limit", 2, AWS_PAYLOAD_SIZE_LIMIT)

_TERMINAL_EVENTS = {"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"}


@_patch
def patch_history_event_limit():
    """An execution whose history would pass 25,000 events fails: event
    25,000 is ExecutionFailed, error States.Runtime, cause "The execution
    reached the maximum number of history events (25000).", and nothing
    after it runs (Step Functions Developer Guide, "Step Functions service
    quotas": execution history, 25,000 events, a hard quota; "Using Map
    state ... to avoid reaching the history quota"). The error and cause are
    AWS's as reported by users (loads/ardere#86, aws-samples/amazon-omics-
    end-to-end-genomics#3) and, with the event ids, in floci-io/floci#2734
    (a Choice loop on AWS: event 24,999 its last ChoiceStateExited, event
    25,000 the ExecutionFailed). States.Runtime is not caught by a Catch.
    An execution that ends by itself as its 25,000th event ends as it would.
    moto 5.2.1 records events without end.

    The limit is read when the execution starts (setting history_event_limit,
    AWS's figure by default). Events of inline Map iterations and Parallel
    branches count, as on AWS; a child execution has its own history.
    """
    from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.eval import environment as environment_mod
    from moto.stepfunctions.parser.asl.eval.event import event_manager as em_mod
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    Environment = _require(environment_mod, "Environment")
    EventManager = _require(em_mod, "EventManager")
    EventHistoryContext = _require(em_mod, "EventHistoryContext")
    em_init = _require(EventManager, "__init__")
    add_event = _require(EventManager, "add_event")
    env_init = _require(Environment, "__init__")
    set_error = _require(Environment, "set_error")
    set_ended = _require(Environment, "set_ended")
    _require(_require(EventManager(), "_event_id_gen"), "_next_id")

    def __init__(self, *args, **kwargs):
        em_init(self, *args, **kwargs)
        self._emu_lock = threading.Lock()
        self._emu_limit = LIMITS.history_event_limit
        self._emu_failure = None
        self._emu_root = None

    def _add_event(self, context, event_type, event_details=None, timestamp=None, update_source_event_id=True):
        with self._emu_lock:
            if self._emu_failure is not None:
                # The execution has ended at the limit: nothing more is recorded.
                return self._emu_limit
            next_id = self._event_id_gen._next_id
            terminal = str(getattr(event_type, "value", event_type)) in _TERMINAL_EVENTS
            if next_id < self._emu_limit or (next_id == self._emu_limit and terminal):
                return add_event(self, context, event_type, event_details, timestamp, update_source_event_id)
            failure = ExecutionFailedEventDetails(
                error="States.Runtime",
                cause="The execution reached the maximum number of history events (%d)." % self._emu_limit,
            )
            event_id = add_event(
                self,
                EventHistoryContext(previous_event_id=next_id - 1),
                HistoryEventType.ExecutionFailed,
                EventDetails(executionFailedEventDetails=failure),
            )
            self._emu_failure = failure
            root = self._emu_root
        if root is not None:
            root.set_error(failure)
        return event_id

    def _env_init(self, *args, **kwargs):
        env_init(self, *args, **kwargs)
        # A frame (Map iteration, Parallel branch) makes a manager of its own
        # here and is then given its parent's: the first environment a
        # manager has is the execution's.
        if getattr(self.event_manager, "_emu_root", None) is None:
            self.event_manager._emu_root = self

    def _set_error(self, error):
        failure = getattr(self.event_manager, "_emu_failure", None)
        set_error(self, failure if failure is not None else error)

    def _set_ended(self):
        failure = getattr(self.event_manager, "_emu_failure", None)
        if failure is not None:
            set_error(self, failure)
            return
        set_ended(self)

    EventManager.__init__ = __init__
    EventManager.add_event = _add_event
    Environment.__init__ = _env_init
    Environment.set_error = _set_error
    Environment.set_ended = _set_ended


def _payload_bytes(text):
    return len(text.encode("utf-8"))


def _within_payload_quota_json(value):
    """State data (any JSON value, a string too) measured as its JSON text."""
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    return _payload_bytes(to_json_str(value)) <= LIMITS.payload_size_limit


def _within_payload_quota(value):
    """moto's contract: a str is already JSON text (a Lambda payload)."""
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    text = value if isinstance(value, str) else to_json_str(value)
    return _payload_bytes(text) <= LIMITS.payload_size_limit


@_patch
def patch_runtime_errors_uncatchable():
    """States.Runtime ends the execution: no Retry or Catch matches it, not
    even States.ALL (Step Functions Developer Guide, "Error handling in Step
    Functions": "A States.Runtime error isn't retriable, and will always cause
    the execution to fail. A retry or catch on States.ALL won't catch
    States.Runtime errors."). moto matched it with States.ALL, so a JSONPath
    that selects nothing in one Parallel branch was caught and the branch's
    siblings ran on; on AWS the whole execution fails at once.
    """
    from moto.stepfunctions.parser.asl.component.common.error_name import error_equals_decl
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType

    decl = _require(error_equals_decl, "ErrorEqualsDecl")
    original = _require(decl, "_eval_body")
    runtime = StatesErrorName(typ=StatesErrorNameType.StatesRuntime)

    def _eval_body(self, env):
        error_name = env.stack[-1]
        if error_name == runtime:
            env.stack.pop()
            env.stack.append(False)
            return
        original(self, env)

    decl._eval_body = _eval_body


@_patch
def patch_payload_size_limit():
    """A state's output, or a task's result, larger than 256 KiB (262,144
    bytes of UTF-8 JSON) fails with States.DataLimitExceeded, cause "The
    state/task '<name>' returned a result with a size exceeding the maximum
    number of bytes service limit." (Step Functions Developer Guide, "Step
    Functions service quotas": maximum input or output size for a task,
    state, or execution, 256 KiB; "Handling errors": States.DataLimitExceeded
    when the output of a connector or of a state is larger than that).

    moto 5.2.1 already checks where AWS does (moto.stepfunctions.parser.
    quotas, used by the state output check and the task result check) and
    answers as AWS does in executions recorded against AWS (LocalStack's
    tests/aws/services/stepfunctions/v2/error_handling/test_states_errors
    .snapshot.json, 2024-03-21): a Pass state's too large output fails the
    execution at once, ExecutionFailed after PassStateEntered; a task's too
    large result is a TaskFailed that the task's Catch can catch, even by
    States.ALL. This patch makes the figure a setting (payload_size_limit,
    AWS's by default), and lets a payload of exactly 262,144 bytes through,
    as AWS's quota is a maximum (moto refused it), and measures a string
    state output or task result as JSON, quotes included (moto measured the
    bare string).
    """
    import importlib

    from moto.stepfunctions.parser import quotas

    original = _require(quotas, "is_within_size_quota")
    quotas.is_within_size_quota = _within_payload_quota
    base = "moto.stepfunctions.parser.asl.component.state."
    for name, check in (
        (base + "state", _within_payload_quota_json),
        (base + "exec.state_task.service.state_task_service", _within_payload_quota_json),
        (base + "exec.state_task.state_task_lambda", _within_payload_quota),
    ):
        mod = importlib.import_module(name)
        if _require(mod, "is_within_size_quota") is not original:
            _fail("%s.is_within_size_quota is not moto's original" % name)
        mod.is_within_size_quota = check


# --------------------------------------------------------------------------- #
# Time: a scaled clock, and snapshots that take it.
# --------------------------------------------------------------------------- #

# A first, full EBS snapshot at about 100 MiB/s: 10 s per GiB, so a 2 TiB
# volume takes 5 h 41 min. AWS documents no figure ("there is no way to
# predict the creation time", AWS re:Post knowledge center,
# "ebs-incremental-snapshot-creation-slow": it grows with the volume's size
# and the changed blocks); time-based snapshot copies are given 15 minutes
# to 48 hours (EC2 API reference, CopySnapshot CompletionDurationMinutes).
DEFAULT_SNAPSHOT_SECONDS_PER_GIB = 10.0
LIMITS.snapshot_seconds_per_gib = DEFAULT_SNAPSHOT_SECONDS_PER_GIB
# Scaled seconds the emulated clock is ahead of the real one.
LIMITS.clock_offset = 0.0


def scaled_now():
    """The emulated account's clock, in epoch seconds: real time, plus every
    scaled second a Wait or Retry sleep asked for and did not really sleep."""
    return time.time() + LIMITS.clock_offset


def _set_seconds_per_gib(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError("snapshot_seconds_per_gib must be a number >= 0")
    LIMITS.snapshot_seconds_per_gib = float(value)


def _set_scaled_now(_value):
    raise ValueError("scaled_now is read only: Wait and Retry sleeps advance it")


launcher.CONFIG_SETTINGS["snapshot_seconds_per_gib"] = (_set_seconds_per_gib, lambda: LIMITS.snapshot_seconds_per_gib)
launcher.CONFIG_SETTINGS["scaled_now"] = (_set_scaled_now, scaled_now)


@_patch
def patch_scaled_clock():
    """The emulated account's clock runs in scaled time: a Wait or a Retry
    backoff that asks for N seconds moves it N seconds on, however short the
    real sleep (time_scale, launcher._scaled_sleep). It is one clock for the
    account, like AWS's wall clock: waits that overlap in real time (Map
    iterations, concurrent executions) move it to the latest wake-up among
    them, not by their sum; the time between them passes as real time.
    Snapshot completion (below) reads it. An execution stopped during its
    Wait does not move it."""
    original = _require(launcher, "_scaled_sleep")
    lock = threading.Lock()

    def _scaled_sleep(env, seconds, kind):
        wake = scaled_now() + max(float(seconds), 0.0)
        original(env, seconds, kind)
        is_running = getattr(env, "is_running", None)
        if is_running is not None and not is_running():
            return
        with lock:
            behind = wake - scaled_now()
            if behind > 0:
                LIMITS.clock_offset += behind

    launcher._scaled_sleep = _scaled_sleep


@_patch
def patch_snapshot_completion_time():
    """An EBS snapshot, and a CopySnapshot copy, stays "pending" until its
    volume's size in GiB times snapshot_seconds_per_gib (10 s by default,
    about 100 MiB/s) of scaled time has passed since it was created, its
    Progress rising from "0%"; then it is "completed", "100%". So a 2 TiB
    volume's first snapshot takes 5 h 41 min of scaled time, and a workflow
    waiting for it loops that long, in history events too. EBS User Guide,
    "Amazon EBS snapshots": snapshots are created asynchronously and stay
    pending until all modified blocks are transferred to Amazon S3, which
    can take several hours for large initial snapshots. moto 5.2.1 completes
    them at once.

    When snapshot_pending_describes is N > 0 (launcher, patch_snapshot_pending)
    a snapshot created then follows that model only: pending for N
    DescribeSnapshots views. The snapshots behind AMIs are completed.
    """
    from moto.ec2.models.elastic_block_store import Snapshot

    init = _require(Snapshot, "__init__")
    status = _require(Snapshot, "status")
    progress = _require(Snapshot, "progress")
    if not isinstance(status, property) or not isinstance(progress, property) or status.fset is None:
        _fail("Snapshot.status/progress are not the launcher's properties (patch_snapshot_pending)")

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        counted = self.__dict__.get("_emu_pending_left", 0) > 0
        size = getattr(getattr(self, "volume", None), "size", 0) or 0
        needed = 0.0 if counted or self.from_ami else float(size) * LIMITS.snapshot_seconds_per_gib
        self.__dict__["_emu_needed"] = needed
        self.__dict__["_emu_created"] = scaled_now()

    def _fraction(self):
        needed = self.__dict__.get("_emu_needed", 0.0)
        if needed <= 0:
            return 1.0
        return (scaled_now() - self.__dict__.get("_emu_created", 0.0)) / needed

    def _get_status(self):
        value = status.fget(self)
        if value == "completed" and _fraction(self) < 1.0:
            return "pending"
        return value

    def _progress(self):
        value = progress.fget(self)
        done = _fraction(self)
        if value == "100%" and done < 1.0:
            return "%d%%" % min(99, max(0, int(done * 100)))
        return value

    Snapshot.__init__ = __init__
    Snapshot.status = property(_get_status, status.fset)
    Snapshot.progress = property(_progress)


# --------------------------------------------------------------------------- #
# aws-sdk result member names.
# --------------------------------------------------------------------------- #

# software.amazon.awssdk.codegen.naming.DefaultNamingStrategy (AWS SDK for
# Java v2): a member whose Java name would be one of these takes the suffix
# "Value" (hence Step Functions' documented "EqualsValue").
_JAVA_KEYWORDS = frozenset(
    "abstract assert boolean break byte case catch char class const continue default do double else enum "
    "extends false final finally float for goto if implements import instanceof int interface long native "
    "new null package private protected public return short static strictfp super switch synchronized this "
    "throw throws transient true try void volatile while".split()
)
_RESERVED_STRUCTURE_METHODS = frozenset(
    "equals finalize getClass hashCode notify notifyAll toString wait builder sdkFields toBuilder "
    "overrideConfiguration sdkHttpResponse".split()
)
# Member renames in the Java SDK's service customizations (DynamoDB's
# AttributeValue NULL is NUL there: aws/aws-sdk-java-v2#6360).
_JAVA_MEMBER_CUSTOMIZATIONS = {("dynamodb", "AttributeValue", "NULL"): "NUL"}


def _uncapitalize(name):
    """software.amazon.awssdk.codegen.internal.Utils.unCapitalize: lowers the
    leading run of capitals, but not a capital that starts a word
    ("SSEKMSKeyId" -> "ssekmsKeyId", "ETag" -> "eTag", "MD5OfBody" ->
    "md5OfBody", "ChecksumSHA256" unchanged but the first letter)."""
    out, i, n = [], 0, len(name)
    while True:
        out.append(name[i].lower())
        i += 1
        if not (i < n and name[i].isupper() and not (i < n - 1 and name[i + 1].islower())):
            break
    return "".join(out) + name[i:]


_NAME_CACHE = {}


def sfn_member_name(service, shape_name, member, union=False):
    """The name Step Functions gives a result member: the AWS SDK for Java v2
    bean property name, capitalised (Java getter getSsekmsKeyId ->
    "SsekmsKeyId")."""
    key = (service, shape_name, member, union)
    name = _NAME_CACHE.get(key)
    if name is None:
        java = _JAVA_MEMBER_CUSTOMIZATIONS.get((service, shape_name, member), member)
        fluent = _uncapitalize(java)
        if (
            fluent in _JAVA_KEYWORDS
            or fluent.lower() in _JAVA_KEYWORDS
            or fluent in _RESERVED_STRUCTURE_METHODS
            or (union and fluent == "type")
        ):
            fluent = _uncapitalize(java + "Value")
        name = fluent[:1].upper() + fluent[1:]
        _NAME_CACHE[key] = name
    return name


def _rename_members(value, shape, service):
    """Renames, in place, the structure members of a botocore result to Step
    Functions' names, following the output shape: map keys and unknown
    members are data and stay as they are."""
    if shape is None:
        return
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        union = bool(getattr(shape, "is_union", False) or shape.metadata.get("union"))
        items = list(value.items())
        value.clear()
        for key, item in items:
            member = members.get(key)
            if member is None:
                value[key] = item
                continue
            _rename_members(item, member, service)
            value[sfn_member_name(service, shape.name, key, union)] = item
    elif kind == "list" and isinstance(value, list):
        for item in value:
            _rename_members(item, shape.member, service)
    elif kind == "map" and isinstance(value, dict):
        for item in value.values():
            _rename_members(item, shape.value, service)


@_patch
def patch_aws_sdk_member_names():
    """aws-sdk task results name their members as Step Functions does, after
    the AWS SDK for Java v2 (its bean property names, capitalised), at every
    depth: a leading run of capitals is lowered but for a capital that
    starts a word ("SSEKMSKeyId" -> "SsekmsKeyId", "DNSName" -> "DnsName",
    "VPCId" -> "VpcId", "BOOL" -> "Bool"), inner acronyms are kept
    ("ChecksumSHA256", "ETag", "AutoScalingGroupARN"), camelCase members of
    JSON APIs are capitalised ("executionArn" -> "ExecutionArn"), a Java
    keyword or Object method takes "Value" ("Equals" -> "EqualsValue"), and
    DynamoDB's AttributeValue NULL is "Nul". Map keys are data: unchanged.
    moto 5.2.1's StateTaskService._normalise_response is a no-op stub, so
    results kept botocore's names.

    Evidence. Step Functions Developer Guide, "Learning to use AWS service SDK
    integrations": "API fields named Equals will be referred to in your state
    machine as EqualsValue" (Java's naming, not the API's). Executions
    recorded against AWS in LocalStack's tests/aws/services/stepfunctions/v2/
    services/test_aws_sdk_task_service.snapshot.json (2025-11-06):
    test_s3_put_object[*] TaskSucceeded output {"ChecksumCRC32",
    "ChecksumType", "ETag", "ServerSideEncryption"} (an inner acronym kept;
    LocalStack's own camel/snake rule would say "ChecksumCrc32");
    test_s3_get_object[*] {"AcceptRanges", "Body", "ContentLength",
    "ContentType", "ETag", "LastModified", "Metadata", "ServerSideEncryption"};
    test_sfn_start_execution {"ExecutionArn", "StartDate"} (botocore:
    executionArn, startDate); test_dynamodb_put_get_item {"Item": {"data":
    {"S": ...}, "id": {"S": ...}}} (map keys kept). A leading run lowered:
    aws-sdk:dynamodb query/scan results carry "Bool" and "Nul" where the API
    says BOOL and NULL (aws/aws-sdk-js#4294, 2022; boto/boto3#4253, 2024),
    which is the Java v2 names (bool(), nul()) capitalised. The Java v2
    naming itself: aws-sdk-java-v2 codegen Utils.unCapitalize and
    DefaultNamingStrategy (reserved words, "Value" suffix). No recording
    shows an S3 SSEKMSKeyId result: "SsekmsKeyId" is the rule's answer, not
    an observation.
    """
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
        StateTaskServiceAwsSdk,
    )

    if "_normalise_response" in StateTaskServiceAwsSdk.__dict__:
        _fail("StateTaskServiceAwsSdk already overrides _normalise_response")
    base = _require(StateTaskService, "_normalise_response")
    operation_model = _require(launcher, "_operation_model")
    for service, action, member, want in (("s3", "putObject", "SSEKMSKeyId", "SsekmsKeyId"), ("s3", "putObject", "ETag", "ETag")):
        op = operation_model(service, action)
        if op is None or member not in op.output_shape.members:
            _fail("botocore has no %s %s output member %s" % (service, action, member))
        if sfn_member_name(service, op.output_shape.name, member) != want:
            _fail("member naming broke: %s is not %s" % (member, want))

    def _normalise_response(self, response, boto_service_name=None, service_action_name=None):
        if isinstance(response, dict):
            try:
                service = self._get_boto_service_name(boto_service_name=boto_service_name)
                op = operation_model(service, service_action_name or self.resource.api_action)
            except Exception:  # noqa: BLE001 - an unknown service: the call reported it
                op = None
            if op is not None and op.output_shape is not None:
                _rename_members(response, op.output_shape, service)
        base(self, response, boto_service_name=boto_service_name, service_action_name=service_action_name)

    StateTaskServiceAwsSdk._normalise_response = _normalise_response
