#!/usr/bin/env python3
"""essential-ir emulator launcher: moto 5.2.1 patched to run Step Functions like AWS.

Started by the Go package internal/emulator (which embeds this file). It:

  1. checks that moto 5.2.1 is installed (exit 3 otherwise);
  2. applies the monkeypatches below, in order, failing loudly if a moto internal
     they rely on is missing (so a moto upgrade cannot silently disable a fix);
  3. serves the moto WSGI app on two loopback ports:
       * the API port: tests, scene builders and Go SDK clients; never counted or
         faulted; also serves the control endpoints under /_emulator/;
       * the engine port: MOTO_PORT points here, so every aws-sdk/optimised
         integration call the state machine engine makes arrives here, where it is
         recorded (GET /_emulator/calls) and may be failed by fault rules;
  4. prints "READY <api_port> <engine_port>" on stdout;
  5. exits when stdin reaches EOF (the parent died or closed it) or on SIGTERM.

Every patch says which real AWS behaviour it restores.
"""

import datetime
import io
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
import uuid

REQUIRED_MOTO = "5.2.1"

# --------------------------------------------------------------------------- #
# Shared harness state (both ports, all threads).
# --------------------------------------------------------------------------- #


class _HarnessState:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls = []  # dicts: service, action, status, time
        self.faults = []  # dicts: service, action, code, message, status, count
        self.delays = []  # dicts: kind, requested_seconds, state
        self.time_scale = 0.0
        self.snapshot_pending_describes = 0
        self.engine_port = 0


STATE = _HarnessState()

# Extension points for the modules beside this file (every other *.py in the
# launcher's directory is imported before the patches are applied; a module
# reaches this one as `import launcher`).
#
# EXTRA_PATCHES: patch functions applied after PATCHES, in registration order.
EXTRA_PATCHES = []
# ENGINE_GUARDS: callables guard(environ, service, action, protocol) run on
# every engine call after the fault rules; the first to return a response
# (status_line, headers, body) answers the call instead of moto.
ENGINE_GUARDS = []
# CONFIG_SETTINGS: name -> (set(value), get()) pairs that extend
# POST/GET /_emulator/config.
CONFIG_SETTINGS = {}
# CONTROL_ENDPOINTS: (method, path) -> handler(payload) returning a JSON-able
# answer: more /_emulator/ endpoints.
CONTROL_ENDPOINTS = {}
# ENGINE_CREDENTIALS: callables creds(state_credentials) -> (access_key_id,
# secret_access_key) or None, asked in order when the engine needs a client;
# the first answer signs that client (clients are cached per credentials), so
# a module can tell apart the principals the engine calls as. Default: "ak".
ENGINE_CREDENTIALS = []
# ENGINE_CLIENT_HOOKS: callables hook(client) run once on each new engine client.
ENGINE_CLIENT_HOOKS = []

# Real sleeps never go below these, even with time_scale 0, so that an endless
# Wait/Retry loop yields the GIL instead of spinning and flooding the history
# (the requested delay is still recorded as asked).
_MIN_REAL_SLEEP = {"wait": 0.025, "retry": 0.01}


def _fail(msg):
    raise RuntimeError("emulator patch failed: " + msg)


def _require(obj, attr):
    """Returns obj.attr or raises: a patched moto internal must exist."""
    if not hasattr(obj, attr):
        _fail("%r has no attribute %r (moto internals changed?)" % (obj, attr))
    return getattr(obj, attr)


def _aws_timestamp(dt, always_millis=False):
    """Formats a datetime like AWS state data does (ISO-8601, UTC, 'Z')."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if always_millis:
        return "%s.%03dZ" % (base, dt.microsecond // 1000)
    if dt.microsecond == 0:
        return base + "Z"
    if dt.microsecond % 1000 == 0:
        return "%s.%03dZ" % (base, dt.microsecond // 1000)
    return "%s.%06dZ" % (base, dt.microsecond)


def _jsonable(value):
    """Recursively replaces datetimes/bytes/streams so state data is pure JSON."""
    from botocore.response import StreamingBody

    if isinstance(value, dict):
        for k in list(value.keys()):
            value[k] = _jsonable(value[k])
        return value
    if isinstance(value, list):
        for i, v in enumerate(value):
            value[i] = _jsonable(v)
        return value
    if isinstance(value, datetime.datetime):
        return _aws_timestamp(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, StreamingBody):
        return value.read().decode("utf-8", errors="replace")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return value


def _record_delay(kind, seconds, env):
    state_name = ""
    try:
        state_name = env.states.context_object.context_object_data["State"]["Name"]
    except Exception:  # noqa: BLE001 - best effort: the state may be unknown
        pass
    with STATE.lock:
        STATE.delays.append(
            {"kind": kind, "requested_seconds": float(seconds), "state": state_name or ""}
        )


def _scaled_sleep(env, seconds, kind):
    """Sleeps seconds*time_scale (at least _MIN_REAL_SLEEP), waking early on stop."""
    real = max(float(seconds) * STATE.time_scale, _MIN_REAL_SLEEP[kind])
    event = getattr(env, "program_state_event", None)
    if event is not None:
        event.wait(real)
    else:
        time.sleep(real)


# --------------------------------------------------------------------------- #
# Patches. Each is a small function; PATCHES lists them in application order.
# --------------------------------------------------------------------------- #


def patch_enable_execution():
    """Run state machines (moto's parser backend) instead of only storing them.

    AWS: StartExecution runs the definition. moto: only with
    config stepfunctions.execute_state_machine = True.
    """
    from moto.core import config

    cfg = _require(config, "default_user_config")
    if "stepfunctions" not in cfg:
        _fail("default_user_config has no 'stepfunctions' section")
    cfg["stepfunctions"]["execute_state_machine"] = True


def patch_state_machine_deepcopy():
    """Any number of executions per account/region.

    moto #10077 (fixed after 5.2.1): StepFunctionsParserBackend.start_execution
    deep-copies the StateMachine, which drags in its backend and every running
    execution (threads, RLocks) -> 2nd StartExecution fails "cannot pickle
    '_thread.RLock'". The copy only needs to freeze the state machine's own
    configuration, so copy that and share backend/executions/versions.
    """
    import copy

    from moto.stepfunctions.models import StateMachine

    _require(StateMachine, "start_execution")
    shared = {"backend", "executions", "versions", "aliases", "latest_version"}

    def __deepcopy__(self, memo):
        clone = copy.copy(self)
        memo[id(self)] = clone
        for key, value in self.__dict__.items():
            if key in shared:
                continue
            if isinstance(value, (dict, list, set)):
                try:
                    setattr(clone, key, copy.deepcopy(value, memo))
                except Exception:  # noqa: BLE001 - keep the shared reference
                    pass
        clone.executions = []
        return clone

    StateMachine.__deepcopy__ = __deepcopy__


def patch_unnamed_execution():
    """StartExecution without a name gets a UUID name, like AWS.

    moto passes name=None: the ARN ends in ':None' and the 2nd unnamed execution
    fails ExecutionAlreadyExists.
    """
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original = _require(StepFunctionsParserBackend, "start_execution")

    def start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
        if not name:
            name = str(uuid.uuid4())
        return original(self, state_machine_arn, name, execution_input, trace_header)

    StepFunctionsParserBackend.start_execution = start_execution


def patch_context_start_time():
    """$$.Execution.StartTime is an ISO-8601 string ("2024-01-02T03:04:05.678Z").

    moto puts the datetime object into the context object, so States.Format and
    DescribeExecution (JSON encoding) fail.
    """
    from moto.stepfunctions.parser.backend.execution import Execution

    original = _require(Execution, "get_start_execution_details")

    def get_start_execution_details(self):
        details = original(self)
        if isinstance(details.start_time, datetime.datetime):
            details.start_time = _aws_timestamp(details.start_time, always_millis=True)
        return details

    Execution.get_start_execution_details = get_start_execution_details


def patch_context_entered_time():
    """$$.State.EnteredTime is formatted like AWS ("2024-01-02T03:04:05.678Z");
    moto writes datetime.isoformat() ("...05.678901+00:00"). moto's State module
    only uses its 'datetime' global for that line, so give it a shim whose
    datetime.now() formats the AWS way."""
    from moto.stepfunctions.parser.asl.component.state import state as state_mod

    real = _require(state_mod, "datetime")
    if real is not datetime:
        _fail("state.datetime is not the datetime module")
    _require(_require(state_mod, "CommonStateField"), "_eval_body")

    class _AwsDatetime(datetime.datetime):
        def isoformat(self, sep="T", timespec="auto"):
            return _aws_timestamp(self, always_millis=True)

    dt_module = datetime

    class _DatetimeShim:
        datetime = _AwsDatetime
        timezone = dt_module.timezone
        timedelta = dt_module.timedelta
        date = dt_module.date

    state_mod.datetime = _DatetimeShim


def patch_execution_output_json():
    """DescribeExecution.output is always JSON text (a string output is quoted).

    moto keeps the Python value; moto's DescribeExecution returns a str output
    unquoted and fails on datetimes. Store the JSON text once the execution ends.
    """
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
    from moto.stepfunctions.parser.backend.execution import (
        BaseExecutionWorkerCommunication,
    )

    original = _require(BaseExecutionWorkerCommunication, "_reflect_execution_status")

    def _reflect_execution_status(self):
        original(self)
        execution = self.execution
        if execution.output is not None and not isinstance(execution.output, _JSONText):
            execution.output = _JSONText(
                to_json_str(_jsonable(execution.output), separators=(",", ":"))
            )

    BaseExecutionWorkerCommunication._reflect_execution_status = _reflect_execution_status


class _JSONText(str):
    """Marks an execution output that is already JSON text."""


_INDEFINITE_CACHE = {}


def _is_indefinite(path):
    """True for JSONPaths that may select several nodes (AWS returns a list):
    '..', '*', filters '[?(...)]', unions '[a,b]' and slices '[a:b]'."""
    cached = _INDEFINITE_CACHE.get(path)
    if cached is None:
        bare = re.sub(r"'[^']*'|\"[^\"]*\"", "''", path)
        cached = bool(
            ".." in bare
            or "*" in bare
            or "[?" in bare
            or re.search(r"\[[^\]]*[,:][^\]]*\]", bare)
        )
        _INDEFINITE_CACHE[path] = cached
    return cached


_JSONPATH_CACHE = {}


def patch_extract_json():
    """JSONPath results like AWS (Jayway): a definite path yields the value itself,
    an indefinite one ('..', '*', '[?()]', '[a,b]', '[a:b]') always a list (even of
    one match, or empty); '.length()' yields the array/string length.

    moto's moto.stepfunctions.parser.asl.utils.json_path.extract_json returns
    '$.a[0].b' as [b] and a one-match '$.a[*].b' as a scalar. The function is
    imported by name in several modules, so every such binding is replaced.
    """
    import importlib

    from jsonpath_ng.ext import parse as jp_parse

    from moto.stepfunctions.parser.asl.utils import json_path

    original = _require(json_path, "extract_json")
    no_such = _require(json_path, "NoSuchJsonPathError")

    def extract_json(path, data):
        if path.endswith(".length()"):
            value = extract_json(path[: -len(".length()")], data)
            if isinstance(value, (list, str, dict)):
                return len(value)
            raise no_such(json_path=path, data=data)
        expr = _JSONPATH_CACHE.get(path)
        if expr is None:
            expr = jp_parse(path)
            _JSONPATH_CACHE[path] = expr
        matches = expr.find(data)
        if _is_indefinite(path):
            return [m.value for m in matches]
        if not matches:
            raise no_such(json_path=path, data=data)
        return matches[0].value

    extract_json.__wrapped_original__ = original
    json_path.extract_json = extract_json

    known = [
        "moto.stepfunctions.parser.asl.component.common.string.string_expression",
        "moto.stepfunctions.parser.asl.component.intrinsic.argument.argument",
        "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.timestamp_operators",
        "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.boolean_equals",
        "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.numeric",
        "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.string_operators",
        "moto.stepfunctions.parser.asl.eval.states",
    ]
    for name in known:
        mod = importlib.import_module(name)
        if _require(mod, "extract_json") is not original:
            _fail("%s.extract_json is not moto's original" % name)
        mod.extract_json = extract_json
    # Any other module that imported it by name (defensive sweep).
    for name, mod in list(sys.modules.items()):
        if name.startswith("moto.") and getattr(mod, "extract_json", None) is original:
            mod.extract_json = extract_json


def patch_service_names():
    """ASL service names that differ from boto3's: 'elasticloadbalancingv2' is
    boto3 'elbv2', 'elasticloadbalancing' is 'elb' (AWS accepts the ASL names;
    moto says 'Unknown service'). Also cloudwatchlogs/eventbridge/acmpca."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )

    overrides = _require(StateTaskService, "_SERVICE_NAME_SFN_TO_BOTO_OVERRIDES")
    overrides.update(
        {
            "elasticloadbalancingv2": "elbv2",
            "elasticloadbalancing": "elb",
            "cloudwatchlogs": "logs",
            "eventbridge": "events",
            "acmpca": "acm-pca",
        }
    )


# PascalCase service names Step Functions uses in aws-sdk error names, keyed by the
# (lower-case) ASL service name from the Resource ARN.
_SERVICE_ERROR_PREFIX = {
    "acmpca": "AcmPca",
    "autoscaling": "AutoScaling",
    "cloudtrail": "CloudTrail",
    "cloudwatch": "CloudWatch",
    "cloudwatchlogs": "CloudWatchLogs",
    "dynamodb": "DynamoDb",
    "ebs": "Ebs",
    "ec2": "Ec2",
    "elasticloadbalancing": "ElasticLoadBalancing",
    "elasticloadbalancingv2": "ElasticLoadBalancingV2",
    "eventbridge": "EventBridge",
    "guardduty": "GuardDuty",
    "iam": "Iam",
    "kms": "Kms",
    "lambda": "Lambda",
    "organizations": "Organizations",
    "s3": "S3",
    "secretsmanager": "SecretsManager",
    "securityhub": "SecurityHub",
    "sfn": "Sfn",
    "sns": "Sns",
    "sqs": "Sqs",
    "ssm": "Ssm",
    "sts": "Sts",
}


def _error_prefix(asl_service):
    name = asl_service.lower()
    if name in _SERVICE_ERROR_PREFIX:
        return _SERVICE_ERROR_PREFIX[name]
    return asl_service[:1].upper() + asl_service[1:]


def _aws_sdk_error_name(prefix, ex):
    """'<Service>.<Exception>' as Step Functions names aws-sdk errors.

    AWS docs ("Using AWS SDK service integrations"): the Error is ServiceName.ErrorName,
    both PascalCase, always with an 'Exception' suffix (S3 BucketAlreadyExists ->
    S3.BucketAlreadyExistsException). The names are the AWS SDK for Java v2
    exception classes: a modeled error keeps its shape name, with a trailing
    'Fault' replaced by 'Exception' (AutoScaling ResourceContentionFault ->
    AutoScaling.ResourceContentionException); an error the service model does not
    declare is the service's base exception, e.g. every EC2 error (EC2 declares
    none) is Ec2.Ec2Exception and an undeclared AutoScaling ValidationError is
    AutoScaling.AutoScalingException.
    """
    cls = ex.__class__.__name__
    if cls == "ClientError":
        # A HEAD request has no error body, so botocore sees only the status;
        # the Java SDK v2 raises NoSuchKeyException for S3 HeadObject's 404.
        status = getattr(ex, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
        op = getattr(ex, "operation_name", "")
        if prefix == "S3" and op == "HeadObject" and status == 404:
            return "S3.NoSuchKeyException"
        return "%s.%sException" % (prefix, prefix)
    if cls.endswith("Fault"):
        cls = cls[: -len("Fault")] + "Exception"
    elif not cls.endswith("Exception"):
        cls += "Exception"
    return "%s.%s" % (prefix, cls)


def patch_aws_sdk_error_names():
    """aws-sdk task errors are named like AWS ('Ec2.Ec2Exception',
    'Iam.NoSuchEntityException', ...); moto emits 'ec2.ec2Exception' because
    _SERVICE_ERROR_NAMES only knows dynamodb/sfn.

    The Cause is the AWS SDK for Java v2 message,
    "<message> (Service: Ec2, Status Code: 503, Request ID: ...)", with no error
    code in it, not even for errors that only carry the generic
    '<Service>Exception' name (every EC2 error): causes recorded against AWS
    (LocalStack's Step Functions snapshot tests, e.g. "The specified bucket does
    not exist (Service: S3, Status Code: 404, Request ID: <id>, Extended Request
    ID: <id>)") carry none, so a Choice can only tell EC2 errors apart by their
    message.
    """
    from botocore.exceptions import ClientError

    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk as mod,
    )

    cls = _require(mod, "StateTaskServiceAwsSdk")
    _require(cls, "_from_error")
    _require(cls, "_get_task_failure_event")
    names = _require(mod, "_SERVICE_ERROR_NAMES")
    for k, v in _SERVICE_ERROR_PREFIX.items():
        names.setdefault(k, v)
    parent_from_error = cls.__mro__[1]._from_error

    def _from_error(self, env, ex):
        if not isinstance(ex, ClientError):
            return parent_from_error(self, env, ex)
        prefix = _error_prefix(self.resource.api_name)
        error = _aws_sdk_error_name(prefix, ex)
        err = ex.response.get("Error", {}) or {}
        meta = ex.response.get("ResponseMetadata", {}) or {}
        details = ["Service: %s" % prefix, "Status Code: %s" % meta.get("HTTPStatusCode")]
        details.append("Request ID: %s" % meta.get("RequestId"))
        if meta.get("HostId"):
            details.append("Extended Request ID: %s" % meta["HostId"])
        message = err.get("Message") or ""
        cause = "%s (%s)" % (message, ", ".join(details))
        return self._get_task_failure_event(env=env, error=error, cause=cause)

    cls._from_error = _from_error


_SERVICE_MODELS = {}
_SERVICE_MODELS_LOCK = threading.Lock()


def _operation_model(boto_service, action):
    import botocore.session

    from moto.stepfunctions.parser.utils import camel_to_snake_case

    with _SERVICE_MODELS_LOCK:
        entry = _SERVICE_MODELS.get(boto_service)
        if entry is None:
            model = botocore.session.get_session().get_service_model(boto_service)
            ops = {camel_to_snake_case(op): op for op in model.operation_names}
            entry = (model, ops)
            _SERVICE_MODELS[boto_service] = entry
    model, ops = entry
    op = ops.get(camel_to_snake_case(action))
    return model.operation_model(op) if op else None


def patch_normalise_parameters():
    """Task parameters are mapped onto the API's input shape, as AWS does:
    an object given for a string member (IAM PolicyDocument) is sent as its JSON
    text, an object for a blob (S3 putObject Body) as JSON bytes, a string blob
    as its UTF-8 bytes; member names are matched case-insensitively.

    moto's StateTaskService._normalise_parameters is a no-op stub.
    """
    from botocore.model import Shape

    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )

    _require(StateTaskService, "_normalise_parameters")
    _require(StateTaskService, "_to_boto_request")
    original_value = _require(StateTaskService, "_to_boto_request_value")

    def _to_boto_request_value(self, request_value, value_shape: Shape):
        if value_shape.type_name == "blob" and isinstance(request_value, str):
            return request_value.encode("utf-8")
        return original_value(self, request_value, value_shape)

    def _normalise_parameters(self, parameters, boto_service_name=None, service_action_name=None):
        if not isinstance(parameters, dict):
            return
        try:
            service = self._get_boto_service_name(boto_service_name=boto_service_name)
            action = service_action_name or self.resource.api_action
            op = _operation_model(service, action)
        except Exception:  # noqa: BLE001 - unknown service: the call reports it
            return
        if op is not None and op.input_shape is not None:
            self._to_boto_request(parameters, op.input_shape)

    StateTaskService._to_boto_request_value = _to_boto_request_value
    StateTaskService._normalise_parameters = _normalise_parameters


def patch_task_results_json():
    """Task results are JSON in state data: timestamps become ISO-8601 strings
    (describeInstances LaunchTime -> "2024-01-02T03:04:05Z"), streamed bodies and
    bytes become text. moto keeps datetime objects, which breaks
    DescribeExecution, States.Format and JSON output.
    """
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )

    original = _require(StateTaskService, "_normalise_response")

    def _normalise_response(self, response, boto_service_name=None, service_action_name=None):
        original(self, response, boto_service_name=boto_service_name, service_action_name=service_action_name)
        _jsonable(response)

    StateTaskService._normalise_response = _normalise_response

    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
        StateTaskServiceAwsSdk,
    )

    original_eval = _require(StateTaskServiceAwsSdk, "_eval_service_task")

    def _eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials):
        original_eval(self, env, resource_runtime_part, normalised_parameters, state_credentials)
        env.stack[-1] = _jsonable(env.stack[-1])

    StateTaskServiceAwsSdk._eval_service_task = _eval_service_task


def patch_retry_backoff():
    """Retry backoff: AWS sleeps IntervalSeconds * BackoffRate^n (capped by
    MaxDelaySeconds, randomised by JitterStrategy FULL). The harness computes
    the same interval with moto's own components, records it
    (GET /_emulator/delays) and sleeps interval * time_scale instead.
    """
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    cls = _require(retrier_decl, "RetrierDecl")
    _require(cls, "_eval_body")
    outcome = _require(retrier_decl, "RetrierOutcome")
    attempts = _require(retrier_decl, "MaxAttemptsOutcome")

    def _eval_body(self, env):
        self.error_equals.eval(env)
        if not env.stack.pop():
            env.stack.append(outcome.Skipped)
            return
        self.max_attempts.eval(env=env)
        if env.stack.pop() == attempts.EXHAUSTED:
            env.stack.append(outcome.Failed)
            return
        self.interval_seconds.eval(env=env)
        self.backoff_rate.eval(env=env)
        self.max_delay_seconds.eval(env=env)
        self.jitter_strategy.eval(env=env)
        interval_seconds = env.stack.pop()
        _record_delay("retry", interval_seconds, env)
        _scaled_sleep(env, interval_seconds, "retry")
        env.stack.append(outcome.Executed)

    cls._eval_body = _eval_body


def patch_wait_state():
    """Wait states: AWS waits the requested time. The harness records the
    requested seconds (GET /_emulator/delays) and waits seconds * time_scale,
    still waking at once when the execution is stopped."""
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import (
        wait_function,
    )

    cls = _require(wait_function, "WaitFunction")
    _require(cls, "_eval_body")
    _require(cls, "_get_wait_seconds")

    def _eval_body(self, env):
        seconds = self._get_wait_seconds(env=env)
        _record_delay("wait", max(seconds, 0), env)
        _scaled_sleep(env, max(seconds, 0), "wait")

    cls._eval_body = _eval_body


def patch_parse_cache():
    """Performance: parse each definition once (AWS does not re-parse per
    execution either); ~2x faster workflows. The parsed program is stateless:
    execution state lives in the per-execution Environment."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    original = _require(AmazonStateLanguageParser, "parse")
    cache = {}
    lock = threading.Lock()

    def parse(definition):
        with lock:
            hit = cache.get(definition)
        if hit is not None:
            return hit
        result = original(definition)
        with lock:
            cache[definition] = result
        return result

    AmazonStateLanguageParser.parse = staticmethod(parse)


def patch_boto_clients():
    """Engine calls go to 127.0.0.1:<engine port> (moto uses 'localhost', which
    may resolve to ::1 where nothing listens) and clients are cached per
    (region, service, credentials): creating a boto3 client costs more than
    most calls. ENGINE_CREDENTIALS chooses the credentials (iam_enforce.py:
    one access key per execution role).
    Like AWS, the engine does not retry: the state machine's Retry decides."""
    import importlib

    import boto3
    from botocore.config import Config

    from moto.stepfunctions.parser.asl.utils import boto_client

    original = _require(boto_client, "boto_client_for")
    timeout = _require(boto_client, "TimeoutSeconds").DEFAULT_TIMEOUT_SECONDS
    cache = {}
    lock = threading.Lock()

    def boto_client_for(region, service, state_credentials=None):
        access_key, secret_key = "ak", "sk"
        for creds in ENGINE_CREDENTIALS:
            answer = creds(state_credentials)
            if answer is not None:
                access_key, secret_key = answer
                break
        key = (region, service, STATE.engine_port, access_key)
        with lock:
            client = cache.get(key)
            if client is None:
                client = boto3.session.Session().client(
                    service_name=service,
                    region_name=region,
                    aws_access_key_id=access_key,
                    aws_secret_access_key=secret_key,
                    endpoint_url="http://127.0.0.1:%d" % STATE.engine_port,
                    config=Config(
                        parameter_validation=False,
                        retries={"max_attempts": 0, "total_max_attempts": 1},
                        connect_timeout=timeout,
                        read_timeout=timeout,
                        max_pool_connections=50,
                    ),
                )
                for hook in ENGINE_CLIENT_HOOKS:
                    hook(client)
                cache[key] = client
        return client

    boto_client.boto_client_for = boto_client_for
    base = "moto.stepfunctions.parser.asl.component.state.exec."
    known = [
        base + "state_task.service.state_task_service_aws_sdk",
        base + "state_task.service.state_task_service_sfn",
        base + "state_task.service.state_task_service_sns",
        base + "state_task.service.state_task_service_sqs",
        base + "state_task.service.state_task_service_dynamodb",
        base + "state_task.service.state_task_service_events",
        base + "state_task.service.state_task_service_ecs",
        base + "state_task.service.state_task_service_glue",
        base + "state_task.service.state_task_service_batch",
        base + "state_task.service.state_task_service_unsupported",
        base + "state_task.lambda_eval_utils",
        base + "state_map.item_reader.eval.resource_eval_s3",
        base + "state_map.result_writer.resource_eval.resource_eval_s3",
    ]
    for name in known:
        mod = importlib.import_module(name)
        if _require(mod, "boto_client_for") is not original:
            _fail("%s.boto_client_for is not moto's original" % name)
        mod.boto_client_for = boto_client_for
    for name, mod in list(sys.modules.items()):
        if name.startswith("moto.") and getattr(mod, "boto_client_for", None) is original:
            mod.boto_client_for = boto_client_for


def patch_eni_groups():
    """An ENI reports only its own security groups (DescribeNetworkInterfaces and
    DescribeInstances NetworkInterfaces[].Groups), so after
    ModifyNetworkInterfaceAttribute Groups the old group is gone, as on AWS.
    moto's NetworkInterface.group_set adds the instance's groups.

    The instance-level SecurityGroups of DescribeInstances are, on AWS, those of
    its network interfaces: derived from the ENIs here, and
    ModifyInstanceAttribute Groups replaces the primary ENI's groups.
    """
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface
    from moto.ec2.models.instances import Instance

    _require(NetworkInterface, "group_set")

    def group_set(self):
        seen, out = set(), []
        for g in self._group_set:
            if id(g) not in seen:
                seen.add(id(g))
                out.append(g)
        return out

    NetworkInterface.group_set = property(group_set)

    if "security_groups" in Instance.__dict__:
        _fail("Instance.security_groups is already a class attribute")

    def _get_sgs(self):
        nics = self.__dict__.get("nics") or {}
        if nics:
            seen, out = set(), []
            for idx in sorted(nics):
                for g in nics[idx].group_set:
                    if g.id not in seen:
                        seen.add(g.id)
                        out.append(g)
            if out:
                return out
        return self.__dict__.get("_emu_security_groups", [])

    def _set_sgs(self, groups):
        self.__dict__["_emu_security_groups"] = groups
        nics = self.__dict__.get("nics") or {}
        if 0 in nics and groups is not None:
            nics[0]._group_set = [g for g in groups if hasattr(g, "id")]

    Instance.security_groups = property(_get_sgs, _set_sgs)


def patch_snapshot_pending():
    """New snapshots are 'pending' (Progress '0%') for their first N
    DescribeSnapshots views (POST /_emulator/config snapshot_pending_describes),
    then 'completed'/'100%', as AWS snapshots take time. moto completes them at
    once. N = 0 (default) keeps moto's behaviour."""
    from moto.ec2.models.elastic_block_store import EBSBackend, Snapshot

    original_init = _require(Snapshot, "__init__")
    original_describe = _require(EBSBackend, "describe_snapshots")
    _require(Snapshot, "progress")

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        n = STATE.snapshot_pending_describes
        self.__dict__["_emu_pending_left"] = n
        # CreateSnapshot itself answers 'pending' on AWS.
        self.__dict__["_emu_pending_view"] = n > 0

    def _get_status(self):
        if self.__dict__.get("_emu_pending_view"):
            return "pending"
        return self.__dict__.get("_emu_status", "completed")

    def _set_status(self, value):
        self.__dict__["_emu_status"] = value

    def _progress(self):
        return "0%" if self.__dict__.get("_emu_pending_view") else "100%"

    def describe_snapshots(self, snapshot_ids=None, filters=None):
        with STATE.lock:
            for snap in list(self.snapshots.values()):
                left = snap.__dict__.get("_emu_pending_left", 0)
                wanted = not snapshot_ids or snap.id in snapshot_ids
                if wanted and left > 0:
                    snap.__dict__["_emu_pending_left"] = left - 1
                    snap.__dict__["_emu_pending_view"] = True
                elif wanted:
                    snap.__dict__["_emu_pending_view"] = False
        return original_describe(self, snapshot_ids=snapshot_ids, filters=filters)

    Snapshot.__init__ = __init__
    Snapshot.status = property(_get_status, _set_status)
    Snapshot.progress = property(_progress)
    EBSBackend.describe_snapshots = describe_snapshots


def patch_copy_snapshot_encrypted():
    """CopySnapshot with Encrypted=true makes an encrypted copy: with KmsKeyId
    if given, else with the account's default EBS key (alias/aws/ebs), per the
    EC2 CopySnapshot API reference. moto 5.2.1 ignores Encrypted: the copy
    inherits the source's encryption, so an unencrypted snapshot could never be
    secured."""
    import threading

    from moto.ec2.models.elastic_block_store import EBSBackend
    from moto.ec2.responses.elastic_block_store import ElasticBlockStore

    original_response = _require(ElasticBlockStore, "copy_snapshot")
    original_backend = _require(EBSBackend, "copy_snapshot")
    local = threading.local()

    def copy_snapshot_response(self):
        local.encrypted = str(self._get_param("Encrypted", "false")).lower() == "true"
        try:
            return original_response(self)
        finally:
            local.encrypted = False

    def copy_snapshot_backend(self, source_snapshot_id, source_region, description, kms_key_id):
        if getattr(local, "encrypted", False) and not kms_key_id:
            kms_key_id = "alias/aws/ebs"
        return original_backend(self, source_snapshot_id, source_region, description, kms_key_id)

    ElasticBlockStore.copy_snapshot = copy_snapshot_response
    EBSBackend.copy_snapshot = copy_snapshot_backend


def patch_history_integers():
    """GetExecutionHistory always answers: every event's integer fields (id,
    previousEventId, a Map's length, an iteration's index) are integers, as
    in the Step Functions API reference. moto 5.2.1 sometimes records a
    non-integer there when Map iterations are aborted by a failing Parallel
    branch, and its serializer then fails the whole call with HTTP 500. Such
    a field is dropped and reported on stderr."""
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original = _require(StepFunctionsParserBackend, "get_execution_history")
    int_fields = {"id", "previousEventId", "index", "length", "timeoutInSeconds", "heartbeatInSeconds"}

    def clean(obj, path):
        if isinstance(obj, dict):
            for key in list(obj.keys()):
                value = obj[key]
                if key in int_fields and not isinstance(value, int):
                    sys.stderr.write("emulator: dropped non-integer %s%s=%r from execution history\n" % (path, key, value))
                    del obj[key]
                else:
                    clean(value, path + key + ".")
        elif isinstance(obj, list):
            for item in obj:
                clean(item, path)

    def get_execution_history(self, execution_arn):
        out = original(self, execution_arn)
        clean(out, "")
        return out

    StepFunctionsParserBackend.get_execution_history = get_execution_history



def _epoch_millis(value):
    """A timestamp as AWS's optimised integrations put it in state data:
    milliseconds since the epoch, as an integer (the Java SDK's Date)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return int(round(value.timestamp() * 1000))


def patch_sfn_optimised_response():
    """Optimised Step Functions integration results look like AWS's:
    arn:aws:states:::states:startExecution answers {"ExecutionArn", "StartDate"}
    (also the TaskSubmitted output of .sync and .sync:2); .sync and .sync:2
    answer the child's DescribeExecution in the API's PascalCase member names
    (ExecutionArn, StateMachineArn, Name, Status, StartDate, StopDate, Input,
    InputDetails {"Included"}, Output, OutputDetails), with .sync:2's Input and
    Output parsed JSON (so $.Output.field selects) and .sync's kept as JSON
    text. Timestamps are epoch milliseconds (numbers), as the Java SDK behind
    the optimised integrations serialises them; aws-sdk integrations keep
    ISO-8601 strings (patch_task_results_json).

    When the child fails, times out or is aborted the task fails with
    States.TaskFailed and the Cause is that DescribeExecution result as JSON
    text (moto's own behaviour, as AWS documents it), now also PascalCase.

    moto's StateTaskService._normalise_response is a no-op stub, so the .sync
    resolvers read submission_output["ExecutionArn"] from boto's camelCase
    {"executionArn"} and fail with States.Runtime KeyError 'ExecutionArn'.
    """
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )

    _require(StateTaskService, "_from_boto_response")
    _require(StateTaskServiceSfn, "_build_sync_resolver")
    _require(StateTaskServiceSfn, "_build_sync2_resolver")
    if "_normalise_response" in StateTaskServiceSfn.__dict__:
        _fail("StateTaskServiceSfn already overrides _normalise_response")
    for action in ("start_execution", "describe_execution"):
        if _operation_model("stepfunctions", action) is None:
            _fail("botocore has no stepfunctions %s operation" % action)

    def _normalise_response(self, response, boto_service_name=None, service_action_name=None):
        if isinstance(response, dict):
            response.pop("ResponseMetadata", None)
            op = _operation_model("stepfunctions", service_action_name or self.resource.api_action)
            if op is not None and op.output_shape is not None:
                self._from_boto_response(response, op.output_shape)
            for key, value in list(response.items()):
                if isinstance(value, datetime.datetime):
                    response[key] = _epoch_millis(value)
        # The shared normaliser (patch_task_results_json): pure JSON state data.
        StateTaskService._normalise_response(
            self, response, boto_service_name=boto_service_name, service_action_name=service_action_name
        )

    StateTaskServiceSfn._normalise_response = _normalise_response


def patch_map_iteration_states_errors():
    """An INLINE Map iteration (or a Parallel branch) that fails with a States.*
    error fails the Map (Parallel) state with that same error, as on AWS: a
    child execution's failure caught as States.TaskFailed in an iteration
    reaches the Map's Catch as States.TaskFailed, with its Cause.

    moto 5.2.1 wraps the iteration's error name in CustomErrorName
    (iteration_worker.py, branches_decl.py), which refuses names beginning
    with 'States.', so the Map fails with States.Runtime "Custom Error Names
    MUST NOT begin with the prefix 'States.'" instead.
    """
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        iteration_worker,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import (
        branches_decl,
    )

    _require(StatesErrorName, "from_name")
    for mod in (iteration_worker, branches_decl):
        if _require(mod, "CustomErrorName") is not CustomErrorName:
            _fail("%s.CustomErrorName is not moto's CustomErrorName" % mod.__name__)

    def error_name_of(error_name=None):
        if error_name is not None and error_name.startswith("States."):
            try:
                return StatesErrorName.from_name(error_name)
            except ValueError:
                # A States.* name moto does not know: keep the name as is.
                obj = CustomErrorName(None)
                obj.error_name = error_name
                return obj
        return CustomErrorName(error_name)

    for mod in (iteration_worker, branches_decl):
        mod.CustomErrorName = error_name_of


# Executions that have ended so far (a count, and their ARNs), and the
# condition .sync waits on. Its lock also makes the end of an execution atomic
# for DescribeExecution.
_EXECUTION_ENDED = threading.Condition(threading.RLock())
_EXECUTIONS_ENDED = [0]
_ENDED_EXECUTION_ARNS = set()


def _waited_execution_arn(sync_resolver):
    """The ARN of the child execution a moto .sync resolver reads
    (state_task_service_sfn's _build_sync(2)_resolver closes over
    execution_arn), or None for other .sync integrations."""
    code = getattr(sync_resolver, "__code__", None)
    cells = getattr(sync_resolver, "__closure__", None)
    if code is None or cells is None:
        return None
    for name, cell in zip(code.co_freevars, cells):
        if name == "execution_arn":
            return cell.cell_contents
    return None


def patch_sync_wait():
    """Emulator latency, not an AWS behaviour: a .sync/.sync:2 task notices
    that its child execution has ended as soon as it ends. moto 5.2.1 polls
    DescribeExecution every 0.5 s (_DELAY_SECONDS_SYNC_CONDITION_CHECK), which
    adds up to 0.5 s per child, and a read per poll. On AWS a .sync task learns
    of its child's end from the child's EventBridge status-change event
    (which is why its role needs events:PutRule and events:PutTargets), so
    its reads do not grow with the child's run time. Here the wait for a
    child execution wakes up when that child ends, then asks DescribeExecution
    once (the call is still made on the engine port, counted and faultable, as
    on AWS, whose .sync also calls DescribeExecution for the output); other
    .sync integrations wake whenever any execution ends, 0.5 s the fallback.

    The end of an execution (status, stop date, output, error) is also made
    atomic for DescribeExecution: moto sets status SUCCEEDED before the
    output, so a fast poll could see a SUCCEEDED child without its output.
    """
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback as cb,
    )
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
    from moto.stepfunctions.responses import StepFunctionResponse

    fallback = float(_require(cb, "_DELAY_SECONDS_SYNC_CONDITION_CHECK"))
    cls = _require(cb, "StateTaskServiceCallback")
    _require(cls, "_eval_sync")
    _require(cls, "_eval_wait_for_task_token")
    tmp_threads = _require(cb, "TMP_THREADS")
    reflect = _require(BaseExecutionWorkerCommunication, "_reflect_execution_status")
    describe = _require(StepFunctionResponse, "describe_execution")

    def _reflect_execution_status(self):
        with _EXECUTION_ENDED:
            reflect(self)
            _EXECUTIONS_ENDED[0] += 1
            _ENDED_EXECUTION_ARNS.add(self.execution.exec_arn)
            _EXECUTION_ENDED.notify_all()

    def describe_execution(self):
        with _EXECUTION_ENDED:
            return describe(self)

    def _eval_sync(self, env, sync_resolver, timeout_seconds, callback_endpoint, heartbeat_endpoint):
        # moto's StateTaskServiceCallback._eval_sync, waiting on ends of
        # executions instead of sleeping.
        callback_output = None
        if callback_endpoint is not None:

            def _local_update_wait_for_task_token():
                nonlocal callback_output
                callback_output = self._eval_wait_for_task_token(
                    env=env,
                    timeout_seconds=timeout_seconds,
                    callback_endpoint=callback_endpoint,
                    heartbeat_endpoint=heartbeat_endpoint,
                )

            thread = threading.Thread(
                target=_local_update_wait_for_task_token,
                name="WaitForTaskToken_SyncTask_%s" % self.resource.resource_arn,
                daemon=True,
            )
            tmp_threads.append(thread)
            thread.start()

        sync_result = None
        child = _waited_execution_arn(sync_resolver)
        while env.is_running():
            if child is not None and not callback_output:
                # Wait for this child's end; read it only then.
                with _EXECUTION_ENDED:
                    ended = child in _ENDED_EXECUTION_ARNS
                    if not ended:
                        _EXECUTION_ENDED.wait(fallback)
                if not ended:
                    continue
            with _EXECUTION_ENDED:
                seen = _EXECUTIONS_ENDED[0]
            sync_result = sync_resolver()
            if callback_output or sync_result:
                break
            with _EXECUTION_ENDED:
                if _EXECUTIONS_ENDED[0] == seen:
                    _EXECUTION_ENDED.wait(fallback)
        return callback_output or sync_result

    BaseExecutionWorkerCommunication._reflect_execution_status = _reflect_execution_status
    StepFunctionResponse.describe_execution = describe_execution
    cls._eval_sync = _eval_sync



# A 1x1 white JPEG (JFIF, baseline), base64: what GetConsoleScreenshot
# returns in shape (ImageData is a base64 JPG), not a real console.
_CONSOLE_SCREENSHOT_JPEG = (
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/"
    "wAALCAABAAEBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAACf/EABQQAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQEAAD8AKp//2Q=="
)


def patch_console_screenshot():
    """GetConsoleScreenshot answers for an existing instance with its InstanceId
    and ImageData, a base64-encoded JPG of the console (EC2 API reference,
    GetConsoleScreenshot), and InvalidInstanceID.NotFound otherwise. moto
    5.2.1 does not implement the action at all. The image is a fixed 1x1
    JPEG: the workflow stores whatever bytes it gets, so their size and
    content do not matter to it."""
    from moto.core.responses import ActionResult
    from moto.ec2.responses.general import General

    if hasattr(General, "get_console_screenshot"):
        raise RuntimeError("moto now implements GetConsoleScreenshot: drop patch_console_screenshot")

    def get_console_screenshot(self):
        instance_id = self._get_param("InstanceId")
        instance = self.ec2_backend.get_instance(instance_id)
        return ActionResult({"InstanceId": instance.id, "ImageData": _CONSOLE_SCREENSHOT_JPEG})

    General.get_console_screenshot = get_console_screenshot

def patch_target_group_pages():
    """DescribeTargetGroups returns at most PageSize groups (1 to 400, 400 by
    default) and a NextMarker while more remain; Marker continues after it
    (Elastic Load Balancing API reference, DescribeTargetGroups). moto 5.2.1
    ignores both and returns every group at once, so a workflow's paging was
    never exercised. Here the groups are listed in ARN order and the marker
    is the last ARN of the page, so a group deleted between two pages does
    not lose the place."""
    from moto.core.responses import ActionResult
    from moto.elbv2.responses import ELBV2Response

    _require(ELBV2Response, "describe_target_groups")

    def describe_target_groups(self):
        groups = sorted(
            self.elbv2_backend.describe_target_groups(
                self._get_param("LoadBalancerArn"),
                self._get_param("TargetGroupArns", []),
                self._get_param("Names", []),
            ),
            key=lambda g: g.arn,
        )
        marker = self._get_param("Marker")
        if marker:
            groups = [g for g in groups if g.arn > marker]
        size = self._get_int_param("PageSize", 400)
        result = {"TargetGroups": groups[:size]}
        if len(groups) > size:
            result["NextMarker"] = groups[size - 1].arn
        return ActionResult(result)

    ELBV2Response.describe_target_groups = describe_target_groups


def patch_send_task_failure_cause():
    """SendTaskFailure fails the waiting task with the Error and the Cause
    given (Step Functions API reference, SendTaskFailure: "cause: a more
    detailed explanation of the cause of the failure"). moto 5.2.1's
    response handler reads only the error and drops the cause."""
    import inspect

    from moto.core.responses import EmptyResult
    from moto.stepfunctions.responses import StepFunctionResponse

    original = StepFunctionResponse.send_task_failure
    if "cause" in inspect.getsource(original):
        raise RuntimeError("moto now passes SendTaskFailure's cause: drop patch_send_task_failure_cause")

    def send_task_failure(self):
        self.stepfunction_backend.send_task_failure(
            self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
        )
        return EmptyResult()

    StepFunctionResponse.send_task_failure = send_task_failure


def patch_iam_policy_documents():
    """IAM returns a policy document URL-encoded (RFC 3986) in GetPolicyVersion
    as in GetRolePolicy (IAM API reference, GetPolicyVersion: "The policy
    document returned in this structure is URL-encoded ... if you use Java,
    you can use the decode method of the java.net.URLDecoder utility class"),
    and Step Functions' aws-sdk integrations, built on the AWS SDK for Java
    v2, pass it on as that string. moto 5.2.1 returns GetPolicyVersion's
    Document unencoded, and botocore's json_decode_policies handler turns
    every IAM document into an object for the engine's clients: the workflow
    would read a JSON object where AWS gives it text."""
    from botocore.handlers import json_decode_policies
    from moto.core.serialize import url_encode
    from moto.iam.responses import IamResponse

    transformers = _require(IamResponse, "RESPONSE_KEY_PATH_TO_TRANSFORMER")
    transformers.setdefault("GetPolicyVersionResponse.PolicyVersion.Document", url_encode)

    def keep_documents_encoded(client):
        client.meta.events.unregister("after-call.iam", json_decode_policies)

    ENGINE_CLIENT_HOOKS.append(keep_documents_encoded)


PATCHES = [
    patch_enable_execution,
    patch_state_machine_deepcopy,
    patch_unnamed_execution,
    patch_context_start_time,
    patch_context_entered_time,
    patch_execution_output_json,
    patch_extract_json,
    patch_service_names,
    patch_aws_sdk_error_names,
    patch_normalise_parameters,
    patch_task_results_json,
    patch_retry_backoff,
    patch_wait_state,
    patch_parse_cache,
    patch_boto_clients,
    patch_eni_groups,
    patch_snapshot_pending,
    patch_copy_snapshot_encrypted,
    patch_history_integers,
    patch_sfn_optimised_response,
    patch_map_iteration_states_errors,
    patch_sync_wait,
    patch_console_screenshot,
    patch_target_group_pages,
    patch_send_task_failure_cause,
    patch_iam_policy_documents,
]


def apply_patches():
    for patch in PATCHES + EXTRA_PATCHES:
        try:
            patch()
        except Exception as exc:
            raise RuntimeError("%s: %s" % (patch.__name__, exc)) from exc


# --------------------------------------------------------------------------- #
# Request identification, call recording and fault injection (engine port).
# --------------------------------------------------------------------------- #

_CRED_RE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_EC2_PROTOCOL_SERVICES = {"ec2"}
_S3_SUBRESOURCES = [
    ("retention", "Retention"),
    ("legal-hold", "LegalHold"),
    ("tagging", "Tagging"),
    ("acl", "Acl"),
    ("policy", "Policy"),
    ("versioning", "Versioning"),
    ("object-lock", "ObjectLockConfiguration"),
    ("encryption", "Encryption"),
    ("lifecycle", "Lifecycle"),
    ("uploads", "Uploads"),
]


def _read_body(environ):
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return b""
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _s3_action(environ):
    method = environ.get("REQUEST_METHOD", "GET").upper()
    path = environ.get("PATH_INFO", "/")
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    parts = [p for p in path.split("/") if p]
    is_object = len(parts) >= 2
    verb = {"GET": "Get", "PUT": "Put", "DELETE": "Delete", "HEAD": "Head", "POST": "Post"}.get(method, method.title())
    for key, name in _S3_SUBRESOURCES:
        if key in query:
            return "%s%s%s" % (verb, "Object" if is_object else "Bucket", name)
    if is_object:
        if method == "PUT" and environ.get("HTTP_X_AMZ_COPY_SOURCE"):
            return "CopyObject"
        return verb + "Object"
    if not parts:
        return "ListBuckets"
    if method == "GET":
        return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
    if method == "PUT":
        return "CreateBucket"
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    return verb + "Bucket"


def identify(environ):
    """Returns (service, action, protocol) of an AWS request."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = _CRED_RE.search(auth)
    if not m:
        m = _CRED_RE.search(
            "Credential=" + urllib.parse.unquote(
                (urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential") or [""])[0]
            )
        )
    service = m.group(1) if m else "unknown"
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    ctype = environ.get("CONTENT_TYPE", "")
    if target:
        return service, target.rsplit(".", 1)[-1], "json"
    if service == "s3":
        return service, _s3_action(environ), "s3"
    params = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" not in params and "x-www-form-urlencoded" in ctype:
        params = urllib.parse.parse_qs(_read_body(environ).decode("utf-8", errors="replace"))
    action = (params.get("Action") or [""])[0]
    if service == "elasticloadbalancing" and (params.get("Version") or [""])[0] == "2015-12-01":
        service = "elasticloadbalancingv2"
    if action:
        return service, action, "ec2" if service in _EC2_PROTOCOL_SERVICES else "query"
    if "json" in ctype:
        return service, "%s %s" % (environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")), "rest-json"
    return service, "%s %s" % (environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")), "query"


def _rule_matches(rule, service, action):
    rs = rule.get("service", "")
    if rs and rs != "*":
        # "elasticloadbalancing" covers both ELB APIs; "elasticloadbalancingv2" only v2.
        if not (rs == service or (rs == "elasticloadbalancing" and service == "elasticloadbalancingv2")):
            return False
    ra = rule.get("action", "")
    if ra and ra != "*" and ra.lower() != action.lower():
        return False
    return rule.get("count", 0) > 0


def _take_fault(service, action):
    with STATE.lock:
        for rule in STATE.faults:
            if _rule_matches(rule, service, action):
                rule["count"] -= 1
                return dict(rule)
    return None


def _xml_escape(s):
    return (
        str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def fault_response(protocol, rule):
    """Builds (status_line, headers, body) in the service's real wire format."""
    from http import HTTPStatus

    code = rule.get("code") or "InternalError"
    message = rule.get("message") or code
    status = int(rule.get("status") or 400)
    request_id = str(uuid.uuid4())
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    status_line = "%d %s" % (status, reason)
    headers = [("x-amzn-RequestId", request_id)]
    if protocol in ("json", "rest-json"):
        body = json.dumps({"__type": code, "message": message, "Message": message})
        headers += [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
    elif protocol == "ec2":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>%s</Code>'
            "<Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>"
            % (_xml_escape(code), _xml_escape(message), request_id)
        )
        headers.append(("Content-Type", "text/xml;charset=UTF-8"))
    elif protocol == "s3":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            "<RequestId>%s</RequestId><HostId>emulator</HostId></Error>"
            % (_xml_escape(code), _xml_escape(message), request_id)
        )
        headers += [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    else:
        kind = "Sender" if status < 500 else "Receiver"
        body = (
            "<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error>"
            "<RequestId>%s</RequestId></ErrorResponse>"
            % (kind, _xml_escape(code), _xml_escape(message), request_id)
        )
        headers.append(("Content-Type", "text/xml"))
    data = body.encode("utf-8")
    headers.append(("Content-Length", str(len(data))))
    return status_line, headers, data


class EngineMiddleware:
    """Counts every engine call and injects faults by rule."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        service, action, protocol = identify(environ)
        record = {"service": service, "action": action, "status": 0, "time": time.time()}
        with STATE.lock:
            STATE.calls.append(record)
        rule = _take_fault(service, action)
        answer = fault_response(protocol, rule) if rule is not None else None
        for guard in ENGINE_GUARDS:
            if answer is not None:
                break
            answer = guard(environ, service, action, protocol)
        if answer is not None:
            status_line, headers, body = answer
            record["status"] = int(status_line.split(" ", 1)[0])
            start_response(status_line, headers)
            return [body]

        def _start_response(status, headers, exc_info=None):
            try:
                record["status"] = int(str(status).split(" ", 1)[0])
            except ValueError:
                pass
            return start_response(status, headers, exc_info)

        return self.app(environ, _start_response)


def _json_response(start_response, obj, status="200 OK"):
    data = json.dumps(obj).encode("utf-8")
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


class ControlMiddleware:
    """Serves /_emulator/ control endpoints, passes everything else to moto."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/_emulator/"):
            return self.app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET").upper()
        try:
            body = _read_body(environ)
            payload = json.loads(body) if body.strip() else {}
            return self._handle(method, path.rstrip("/"), payload, start_response)
        except Exception as exc:  # noqa: BLE001 - report to the client
            return _json_response(start_response, {"error": str(exc)}, "400 Bad Request")

    def _handle(self, method, path, payload, start_response):
        with STATE.lock:
            if path == "/_emulator/calls" and method == "GET":
                return _json_response(start_response, list(STATE.calls))
            if path == "/_emulator/calls/reset" and method == "POST":
                STATE.calls.clear()
                return _json_response(start_response, {"ok": True})
            if path == "/_emulator/delays" and method == "GET":
                return _json_response(start_response, list(STATE.delays))
            if path == "/_emulator/delays/reset" and method == "POST":
                STATE.delays.clear()
                return _json_response(start_response, {"ok": True})
            if path == "/_emulator/faults" and method == "GET":
                return _json_response(start_response, {"rules": [dict(r) for r in STATE.faults]})
            if path == "/_emulator/faults" and method == "POST":
                rules = []
                for r in payload.get("rules") or []:
                    rules.append(
                        {
                            "service": str(r.get("service", "")),
                            "action": str(r.get("action", "")),
                            "code": str(r.get("code", "")),
                            "message": str(r.get("message", "")),
                            "status": int(r.get("status") or 400),
                            "count": int(r.get("count") or 0),
                        }
                    )
                STATE.faults = rules
                return _json_response(start_response, {"rules": rules})
            if path == "/_emulator/config" and method == "POST":
                if payload.get("time_scale") is not None:
                    scale = float(payload["time_scale"])
                    if scale < 0:
                        raise ValueError("time_scale must be >= 0")
                    STATE.time_scale = scale
                if payload.get("snapshot_pending_describes") is not None:
                    n = int(payload["snapshot_pending_describes"])
                    if n < 0:
                        raise ValueError("snapshot_pending_describes must be >= 0")
                    STATE.snapshot_pending_describes = n
                for name, (setter, _) in CONFIG_SETTINGS.items():
                    if payload.get(name) is not None:
                        setter(payload[name])
                return _json_response(start_response, self._config())
            if path == "/_emulator/config" and method == "GET":
                return _json_response(start_response, self._config())
            handler = CONTROL_ENDPOINTS.get((method, path))
            if handler is not None:
                return _json_response(start_response, handler(payload))
        return _json_response(start_response, {"error": "no such endpoint %s %s" % (method, path)}, "404 Not Found")

    @staticmethod
    def _config():
        config = {
            "time_scale": STATE.time_scale,
            "snapshot_pending_describes": STATE.snapshot_pending_describes,
        }
        for name, (_, getter) in CONFIG_SETTINGS.items():
            config[name] = getter()
        return config


# --------------------------------------------------------------------------- #
# Main.
# --------------------------------------------------------------------------- #


def import_extensions():
    """Imports every other module beside this file, in name order; each
    registers its patches, guards and settings in the registries above."""
    import importlib

    here = os.path.dirname(os.path.abspath(__file__))
    sys.modules.setdefault("launcher", sys.modules[__name__])
    if here not in sys.path:
        sys.path.insert(0, here)
    for name in sorted(os.listdir(here)):
        if name.endswith(".py") and name != os.path.basename(__file__):
            importlib.import_module(name[:-3])


def _exit_on_stdin_eof():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except Exception:  # noqa: BLE001 - any failure means the parent is gone
        pass
    os._exit(0)


def main():
    try:
        import moto
    except ImportError:
        moto = None
    if moto is None or getattr(moto, "__version__", None) != REQUIRED_MOTO:
        found = getattr(moto, "__version__", "not installed") if moto else "not installed"
        sys.stderr.write(
            "moto %s is required: pip install 'moto[server]==%s'\n(found moto: %s)\n"
            % (REQUIRED_MOTO, REQUIRED_MOTO, found)
        )
        sys.stderr.flush()
        sys.exit(3)

    import logging

    if not os.environ.get("EMULATOR_VERBOSE"):
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        logging.getLogger("moto").setLevel(logging.ERROR)
        # The engine logs every failed task (full state dump) at ERROR level.
        logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
        logging.getLogger("botocore").setLevel(logging.ERROR)

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    threading.Thread(target=_exit_on_stdin_eof, name="stdin-eof", daemon=True).start()

    from werkzeug.serving import make_server

    # Engine port first: MOTO_PORT must name it before anything is served.
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    app = DomainDispatcherApplication(create_backend_app)
    engine = make_server("127.0.0.1", 0, EngineMiddleware(app), threaded=True)
    STATE.engine_port = engine.server_port
    os.environ["MOTO_PORT"] = str(STATE.engine_port)

    import_extensions()
    apply_patches()

    api = make_server("127.0.0.1", 0, ControlMiddleware(app), threaded=True)
    for srv, name in ((engine, "engine"), (api, "api")):
        threading.Thread(target=srv.serve_forever, name="serve-" + name, daemon=True).start()

    sys.stdout.write("READY %d %d\n" % (api.server_port, engine.server_port))
    sys.stdout.flush()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException:  # noqa: BLE001 - report, then exit without waiting for threads
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
