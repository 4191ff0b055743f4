"""IAM enforced in the emulated account: every call the state machine engine
makes is authorised against the role of the execution that makes it.

AWS: Step Functions assumes the state machine's execution role and makes each
aws-sdk and optimised-integration call with that role's credentials, so the
service authorises the call against the role's policies (Step Functions
Developer Guide, "How Step Functions works with IAM"; IAM User Guide, "Policy
evaluation logic"). moto 5.2.1 authorises nothing. This module restores it:

  * Attribution. The launcher signs every engine client with credentials that
    ENGINE_CREDENTIALS chooses; here that is one access key per execution role
    (moto's StateCredentials.role_arn: the execution's role, or a task's
    Credentials.RoleArn). A child execution started through the engine port
    runs with its own state machine's role, so its calls carry its own key.
    A header (X-Emulator-Engine-Context) adds the state machine and execution
    ARNs, for the trust policy's aws:SourceArn and the denial records.
  * Evaluation (evaluate()): explicit Deny wins, then Allow, else the implicit
    deny; identity-based policies (inline + attached managed, read from moto's
    IAM backend at call time), the permissions boundary, and the resource-based
    policies AWS consults for the services here (S3 bucket policy, KMS key
    policy). Action/NotAction, Resource/NotResource, Principal/NotPrincipal,
    wildcards, policy variables, and the Condition operators of the IAM User
    Guide ("IAM JSON policy elements: Condition operators") with IfExists and
    the ForAnyValue:/ForAllValues: set operators.
  * The table (RULES): for each API the engine may call, the IAM actions, the
    resource ARNs and the condition keys AWS authorises, per the Service
    Authorization Reference ("Actions, resources, and condition keys for
    <service>"). An API without an entry is DENIED and reported on stderr, so
    a new call cannot slip through unchecked.
  * Implicit authorisation AWS performs on the caller's behalf: the KMS
    permissions S3 needs for SSE-KMS objects and EBS needs for encrypted
    snapshots, and the KMS key policy.
  * Denials answer as the service does (EC2 UnauthorizedOperation, S3
    AccessDenied, KMS/Step Functions AccessDeniedException, ...) and are
    recorded: GET /_emulator/denials, POST /_emulator/denials/reset.

Why not moto's own evaluator (moto.iam.access_control.IAMPolicyStatement):
it knows only the StringEquals condition operator and ignores any other
(an unknown operator passes: more forgiving than AWS), turns an Allow whose
condition does not hold into an explicit Deny, grants a NotResource statement
to every resource, matches actions case-sensitively and has no '?' wildcard.
Its policy-document loading (IAMPolicy, which picks a managed policy's
default version) is reused.

The emulator may only be stricter or more faithful than AWS: where AWS's
behaviour cannot be settled from its documentation, the stricter credible
reading is taken and says so in a comment.
"""

import base64
import datetime
import hashlib
import ipaddress
import json
import re
import sys
import threading
import time
import urllib.parse

import launcher

PARTITION = "aws"
# Step Functions' service principal (trust policies name it).
STATES_PRINCIPAL = "states.amazonaws.com"
CONTEXT_HEADER = "X-Emulator-Engine-Context"

# --------------------------------------------------------------------------- #
# Policy evaluation (IAM User Guide, "Policy evaluation logic", "IAM JSON policy
# elements reference", "Condition operators", "Policy variables").
# --------------------------------------------------------------------------- #

ALLOW, DENY, NEUTRAL = "allow", "deny", "neutral"

_GLOB_CACHE = {}
_GLOB_LOCK = threading.Lock()


def _glob(pattern, ignore_case):
    key = (pattern, ignore_case)
    with _GLOB_LOCK:
        rx = _GLOB_CACHE.get(key)
    if rx is None:
        parts = []
        for ch in pattern:
            if ch == "*":
                parts.append(".*")
            elif ch == "?":
                parts.append(".")
            else:
                parts.append(re.escape(ch))
        rx = re.compile("^" + "".join(parts) + "$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))
        with _GLOB_LOCK:
            _GLOB_CACHE[key] = rx
    return rx


def glob_match(pattern, value, ignore_case=False):
    """'*' any run of characters, '?' one character (IAM wildcards)."""
    return _glob(pattern, ignore_case).match(value) is not None


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _text(value):
    """A policy or context value as IAM compares it: booleans are 'true'/'false'."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _substitute(pattern, context):
    """Policy variables (IAM User Guide, "IAM policy elements: Variables and
    tags"): ${key} is the request context's value, ${*} ${?} ${$} the literal
    characters, ${key, 'default'} a default. A variable with no value makes the
    element not match (None), as on AWS."""
    if "${" not in pattern:
        return pattern
    missing = []

    def repl(m):
        body = m.group(1)
        if body in ("*", "?", "$"):
            return "\0" + body  # literal, escaped below
        name, _, default = body.partition(",")
        value = context.get(name.strip().lower())
        if isinstance(value, list):
            value = value[0] if len(value) == 1 else None
        if value is None:
            d = default.strip()
            if len(d) >= 2 and d[0] == d[-1] == "'":
                return d[1:-1]
            missing.append(name)
            return ""
        return _text(value)

    out = _VARIABLE.sub(repl, pattern)
    if missing:
        return None
    return out


def _pattern_match(pattern, value, context, ignore_case=False):
    pattern = _substitute(pattern, context)
    if pattern is None:
        return False
    if "\0" in pattern:
        # Literal *, ? and $ from ${*} ${?} ${$}.
        parts = pattern.split("\0")
        rx = re.escape(parts[0]).replace(r"\*", ".*").replace(r"\?", ".")
        for part in parts[1:]:
            lit, rest = part[:1], part[1:]
            rx += re.escape(lit) + re.escape(rest).replace(r"\*", ".*").replace(r"\?", ".")
        return re.match("^" + rx + "$", value, re.DOTALL | (re.IGNORECASE if ignore_case else 0)) is not None
    return glob_match(pattern, value, ignore_case)


def _arn_match(pattern, value):
    """ArnLike/ArnEquals: each of the six colon-separated parts matched on its
    own, with wildcards (IAM User Guide, "Amazon Resource Name (ARN) condition
    operators")."""
    p = pattern.split(":", 5)
    v = value.split(":", 5)
    if len(p) != 6 or len(v) != 6:
        return False
    return all(glob_match(a, b) for a, b in zip(p, v))


def _parse_time(value):
    s = _text(value).strip()
    try:
        return float(s)  # epoch seconds
    except ValueError:
        pass
    try:
        if s.endswith("Z"):
            s = s[:-1] + "+00:00"
        dt = datetime.datetime.fromisoformat(s)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=datetime.timezone.utc)
        return dt.timestamp()
    except ValueError:
        return None


def _num(value):
    try:
        return float(_text(value))
    except ValueError:
        return None


def _ip_in(policy_value, actual):
    try:
        return ipaddress.ip_address(_text(actual)) in ipaddress.ip_network(_text(policy_value), strict=False)
    except ValueError:
        return False


def _cmp(fn):
    def op(policy_value, actual, context):
        a, b = fn[0](actual), fn[0](policy_value)
        return a is not None and b is not None and fn[1](a, b)

    return op


# name -> (match(policy_value, actual_value, context), negated)
_OPERATORS = {
    "StringEquals": (lambda p, a, c: _substitute(_text(p), c) == _text(a), False),
    "StringNotEquals": (lambda p, a, c: _substitute(_text(p), c) == _text(a), True),
    "StringEqualsIgnoreCase": (lambda p, a, c: (_substitute(_text(p), c) or "\0").lower() == _text(a).lower(), False),
    "StringNotEqualsIgnoreCase": (lambda p, a, c: (_substitute(_text(p), c) or "\0").lower() == _text(a).lower(), True),
    "StringLike": (lambda p, a, c: _pattern_match(_text(p), _text(a), c), False),
    "StringNotLike": (lambda p, a, c: _pattern_match(_text(p), _text(a), c), True),
    "NumericEquals": (_cmp((_num, lambda a, b: a == b)), False),
    "NumericNotEquals": (_cmp((_num, lambda a, b: a == b)), True),
    "NumericLessThan": (_cmp((_num, lambda a, b: a < b)), False),
    "NumericLessThanEquals": (_cmp((_num, lambda a, b: a <= b)), False),
    "NumericGreaterThan": (_cmp((_num, lambda a, b: a > b)), False),
    "NumericGreaterThanEquals": (_cmp((_num, lambda a, b: a >= b)), False),
    "DateEquals": (_cmp((_parse_time, lambda a, b: a == b)), False),
    "DateNotEquals": (_cmp((_parse_time, lambda a, b: a == b)), True),
    "DateLessThan": (_cmp((_parse_time, lambda a, b: a < b)), False),
    "DateLessThanEquals": (_cmp((_parse_time, lambda a, b: a <= b)), False),
    "DateGreaterThan": (_cmp((_parse_time, lambda a, b: a > b)), False),
    "DateGreaterThanEquals": (_cmp((_parse_time, lambda a, b: a >= b)), False),
    "Bool": (lambda p, a, c: _text(p).lower() == _text(a).lower(), False),
    "BinaryEquals": (lambda p, a, c: _text(p) == _text(a), False),
    "IpAddress": (lambda p, a, c: _ip_in(p, a), False),
    "NotIpAddress": (lambda p, a, c: _ip_in(p, a), True),
    "ArnEquals": (lambda p, a, c: _arn_match(_substitute(_text(p), c) or "", _text(a)), False),
    "ArnLike": (lambda p, a, c: _arn_match(_substitute(_text(p), c) or "", _text(a)), False),
    "ArnNotEquals": (lambda p, a, c: _arn_match(_substitute(_text(p), c) or "", _text(a)), True),
    "ArnNotLike": (lambda p, a, c: _arn_match(_substitute(_text(p), c) or "", _text(a)), True),
}


class UnknownOperator(Exception):
    pass


def condition_holds(operator, key, policy_values, context):
    """One condition (operator, key, values) against the request context.

    IAM User Guide, "Condition operators": several values for a key match if
    any matches; a negated operator (StringNotEquals, ...) holds when no value
    matches. A key absent from the request: the condition is false, except for
    negated operators (true), ...IfExists (true) and Null. Multivalued keys:
    ForAllValues: holds when every request value matches (and when there is
    none); ForAnyValue: when at least one does.
    """
    qualifier = None
    op = operator
    if op.startswith("ForAllValues:"):
        qualifier, op = "all", op[len("ForAllValues:"):]
    elif op.startswith("ForAnyValue:"):
        qualifier, op = "any", op[len("ForAnyValue:"):]
    if_exists = op.endswith("IfExists")
    if if_exists:
        op = op[: -len("IfExists")]
    values = [v for v in _as_list(policy_values)]
    actual = context.get(key.lower())
    present = actual is not None and not (isinstance(actual, list) and not actual)

    if op == "Null":
        want_absent = any(_text(v).lower() == "true" for v in values)
        return (not present) if want_absent else present

    if op not in _OPERATORS:
        raise UnknownOperator(operator)
    match, negated = _OPERATORS[op]

    def one(a):
        hit = any(match(v, a, context) for v in values)
        return not hit if negated else hit

    actual_list = _as_list(actual)
    if qualifier == "all":
        return all(one(a) for a in actual_list)
    if qualifier == "any":
        return present and any(one(a) for a in actual_list)
    if not present:
        return True if (if_exists or negated) else False
    if negated:
        return all(one(a) for a in actual_list)
    return any(one(a) for a in actual_list)


def conditions_hold(conditions, context):
    for operator, block in (conditions or {}).items():
        if not isinstance(block, dict):
            raise UnknownOperator(operator)
        for key, values in block.items():
            if not condition_holds(operator, key, values, context):
                return False
    return True


def principal_matches(statement, principal):
    """Principal/NotPrincipal of a resource-based policy against the calling
    role session. Returns 'specific' (names the role, the session or '*'),
    'account' (names the account: the account delegates to its IAM policies)
    or None."""
    if "Principal" in statement:
        found = _principal_in(statement["Principal"], principal)
        return found
    if "NotPrincipal" in statement:
        found = _principal_in(statement["NotPrincipal"], principal)
        return None if found else "specific"
    return None


def _principal_in(element, principal):
    if element == "*":
        return "specific"
    if not isinstance(element, dict):
        return None
    best = None
    for value in _as_list(element.get("AWS")):
        value = _text(value)
        if value == "*" or value == principal["role_arn"] or value == principal["session_arn"]:
            return "specific"
        if value in (principal["account"], "arn:%s:iam::%s:root" % (PARTITION, principal["account"])):
            best = "account"
    return best


def statement_applies(statement, action, resource, context, principal=None):
    """Whether a statement applies to (action, resource, context). Raises
    UnknownOperator for a condition operator it does not know."""
    if "NotAction" in statement:
        if any(glob_match(_text(p), action, True) for p in _as_list(statement["NotAction"])):
            return False
    elif not any(glob_match(_text(p), action, True) for p in _as_list(statement.get("Action"))):
        return False
    if "NotResource" in statement:
        if any(_pattern_match(_text(p), resource, context) for p in _as_list(statement["NotResource"])):
            return False
    elif "Resource" in statement:
        if not any(_pattern_match(_text(p), resource, context) for p in _as_list(statement["Resource"])):
            return False
    else:
        # A statement without Resource applies to nothing (an identity policy
        # must name resources; a trust policy is matched elsewhere).
        return False
    return conditions_hold(statement.get("Condition"), context)


def _statements(document):
    st = document.get("Statement", [])
    return st if isinstance(st, list) else [st]


def evaluate_policies(documents, action, resource, context, principal=None, resource_based=False):
    """(effect, statement) over policy documents: DENY if a Deny statement
    applies, ALLOW if an Allow does, else NEUTRAL. For a resource-based policy
    the effect is ALLOW only for a principal named specifically; ('account',
    statement) when only the account is named (delegation to IAM).

    An unknown condition operator makes an Allow not apply and a Deny apply
    (stricter than any reading of it)."""
    allowed = None
    account_allowed = None
    for doc_name, document in documents:
        for st in _statements(document):
            effect = st.get("Effect")
            if resource_based:
                who = principal_matches(st, principal)
                if who is None:
                    continue
            try:
                applies = statement_applies(st, action, resource, context)
            except UnknownOperator as exc:
                sys.stderr.write("emulator IAM: unknown condition operator %s in %s\n" % (exc, doc_name))
                applies = effect == "Deny"
            if not applies:
                continue
            if effect == "Deny":
                return DENY, (doc_name, st)
            if effect == "Allow":
                if resource_based and who == "account":
                    account_allowed = account_allowed or (doc_name, st)
                else:
                    allowed = allowed or (doc_name, st)
    if allowed:
        return ALLOW, allowed
    if account_allowed:
        return "account", account_allowed
    return NEUTRAL, None


_DOC_CACHE = {}
_DOC_LOCK = threading.Lock()


def parse_document(text):
    if isinstance(text, dict):
        return text
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")
    with _DOC_LOCK:
        doc = _DOC_CACHE.get(text)
    if doc is None:
        doc = json.loads(urllib.parse.unquote(text) if text.lstrip().startswith("%7B") else text)
        with _DOC_LOCK:
            if len(_DOC_CACHE) > 5000:
                _DOC_CACHE.clear()
            _DOC_CACHE[text] = doc
    return doc


# --------------------------------------------------------------------------- #
# Principals: which execution role each engine call runs as.
# --------------------------------------------------------------------------- #

_KEYS_LOCK = threading.Lock()
_KEYS = {}  # access key id -> {"role_arn", "via_role_arn"}


def _key_for(role_arn, via_role_arn):
    digest = hashlib.sha1(("%s|%s" % (role_arn, via_role_arn or "")).encode()).digest()
    return "ASIA" + base64.b32encode(digest).decode()[:16]


def engine_credentials(state_credentials):
    """ENGINE_CREDENTIALS hook: one access key per role the engine calls as.
    moto passes the task's StateCredentials: role_arn is the execution's role
    (env.aws_execution_details.role_arn) unless the task sets Credentials, in
    which case via_role_arn (set by patch_engine_context) is the execution's
    role that assumes it."""
    role_arn = getattr(state_credentials, "role_arn", None) or ""
    via = getattr(state_credentials, "via_role_arn", None)
    if via == role_arn:
        via = None
    key = _key_for(role_arn, via)
    with _KEYS_LOCK:
        _KEYS[key] = {"role_arn": role_arn, "via_role_arn": via}
    return key, "emulator-engine-secret"


def _session_name(role_arn):
    # Step Functions names the role session itself; the emulator uses a fixed
    # 32-character name per role.
    return hashlib.md5(role_arn.encode()).hexdigest()


def make_principal(role_arn, account, region):
    name = role_arn.rsplit("/", 1)[-1] if "/" in role_arn else role_arn
    session = _session_name(role_arn)
    return {
        "role_arn": role_arn,
        "role_name": name,
        "account": account,
        "region": region,
        "session": session,
        "session_arn": "arn:%s:sts::%s:assumed-role/%s/%s" % (PARTITION, account, name, session),
    }


def _iam_backend(account):
    from moto.iam.models import iam_backends

    return iam_backends[account][PARTITION]


def find_role(role_arn):
    """The moto Role for an ARN, or None (looked up at call time)."""
    m = re.match(r"^arn:[^:]+:iam::(\d{12}):role/(.+)$", role_arn or "")
    if not m:
        return None
    backend = _iam_backend(m.group(1))
    for role in list(backend.roles.values()):
        if role.arn == role_arn:
            return role
    return None


def _managed_document(policy):
    from moto.iam.access_control import IAMPolicy

    # moto's own loader: a managed policy's default version.
    return IAMPolicy(policy)._policy_json


def identity_documents(role):
    """The role's identity-based policies, read from moto's IAM backend now:
    inline policies, then attached managed policies (default versions)."""
    docs = []
    for name, text in list(role.policies.items()):
        docs.append(("inline policy %s of role %s" % (name, role.name), parse_document(text)))
    for arn, policy in list(role.managed_policies.items()):
        docs.append((arn, _managed_document(policy)))
    return docs


def boundary_documents(role):
    arn = getattr(role, "permissions_boundary_arn", None)
    if not arn:
        return None
    backend = _iam_backend(role.account_id)
    policy = backend.managed_policies.get(arn)
    if policy is None:
        from moto.iam.aws_managed_policies import aws_managed_policies_data  # noqa: F401

        try:
            policy = backend.get_policy(arn)
        except Exception:  # noqa: BLE001 - a boundary that does not exist allows nothing
            return [("permissions boundary %s (missing)" % arn, {"Statement": []})]
    return [("permissions boundary %s" % arn, _managed_document(policy))]


def trust_allows(role, principal_kind, principal_value, context):
    """Whether the role's trust policy lets a principal call sts:AssumeRole
    (IAM User Guide, "Roles terms and concepts": the trust policy is the role's
    resource-based policy). principal_kind: 'Service' or 'AWS'."""
    try:
        doc = parse_document(role.assume_role_policy_document)
    except Exception:  # noqa: BLE001 - unreadable: trusts nobody
        return False
    allowed = False
    for st in _statements(doc):
        actions = [_text(a) for a in _as_list(st.get("Action"))]
        if not any(glob_match(a, "sts:AssumeRole", True) for a in actions):
            continue
        who = st.get("Principal")
        names = []
        if who == "*":
            names = ["*"]
        elif isinstance(who, dict):
            names = [_text(v) for v in _as_list(who.get(principal_kind))]
        hit = "*" in names or principal_value in names
        if principal_kind == "AWS" and not hit:
            acct = principal_value.split(":")[4] if principal_value.count(":") >= 5 else ""
            hit = acct in names or ("arn:%s:iam::%s:root" % (PARTITION, acct)) in names
        if not hit:
            continue
        try:
            ok = conditions_hold(st.get("Condition"), context)
        except UnknownOperator:
            ok = st.get("Effect") == "Deny"
        if not ok:
            continue
        if st.get("Effect") == "Deny":
            return False
        if st.get("Effect") == "Allow":
            allowed = True
    return allowed


# --------------------------------------------------------------------------- #
# Decisions.
# --------------------------------------------------------------------------- #


class Check:
    """One authorisation AWS makes for a request: an IAM action on a resource
    ARN with the condition keys that resource and request carry.

    policy: 'identity' (identity-based policies and the permissions boundary
    only), 's3' (also the bucket policy: a same-account grant from either
    suffices, S3 User Guide "How Amazon S3 authorizes a request"), 'kms' (the
    key policy must allow, itself or by delegating to IAM through the account
    principal: KMS Developer Guide, "Key policies in AWS KMS")."""

    def __init__(self, action, resource, keys=None, policy="identity", resource_docs=None, note=""):
        self.action = action
        self.resource = resource
        self.keys = {k.lower(): v for k, v in (keys or {}).items()}
        self.policy = policy
        self.resource_docs = resource_docs
        self.note = note

    def describe(self):
        return "%s on %s" % (self.action, self.resource)


class Denied(Exception):
    """A check failed: reason is AWS's phrase for it."""

    def __init__(self, check, reason, explicit=False, statement=None, note=""):
        super().__init__(reason)
        self.check = check
        self.reason = reason
        self.explicit = explicit
        self.statement = statement
        self.note = note


def base_context(principal, role, region, via_service=False):
    now = time.time()
    ctx = {
        "aws:principalarn": principal["role_arn"],
        "aws:principalaccount": principal["account"],
        "aws:principaltype": "AssumedRole",
        "aws:requestedregion": region,
        # Step Functions calls AWS APIs over TLS.
        "aws:securetransport": "true",
        "aws:currenttime": datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:epochtime": str(int(now)),
        "aws:viaawsservice": "true" if via_service else "false",
    }
    if role is not None:
        ctx["aws:userid"] = "%s:%s" % (role.id, principal["session"])
        for tag in _role_tags(role):
            ctx["aws:principaltag/" + tag[0].lower()] = tag[1]
    return ctx


def _role_tags(role):
    tags = getattr(role, "tags", None) or {}
    out = []
    if isinstance(tags, dict):
        for k, v in tags.items():
            if isinstance(v, dict):
                out.append((v.get("Key", k), v.get("Value", "")))
            else:
                out.append((k, v))
    else:
        for t in tags:
            out.append((t.get("Key"), t.get("Value")))
    return out


def decide(principal, role, check, context):
    """Raises Denied unless AWS would allow the check (IAM User Guide, "Policy
    evaluation logic": an explicit deny in any policy wins; then an allow;
    otherwise the request is implicitly denied)."""
    ctx = dict(context)
    ctx.update(check.keys)
    if role is None:
        raise Denied(check, "because no identity-based policy allows the %s action" % check.action)
    identity, id_st = evaluate_policies(identity_documents(role), check.action, check.resource, ctx)
    if identity == DENY:
        raise Denied(check, "with an explicit deny in an identity-based policy", True, id_st)
    boundary_docs = boundary_documents(role)
    boundary = ALLOW
    if boundary_docs is not None:
        boundary, b_st = evaluate_policies(boundary_docs, check.action, check.resource, ctx)
        if boundary == DENY:
            raise Denied(check, "with an explicit deny in a permissions boundary", True, b_st)
    resource = NEUTRAL
    if check.resource_docs is not None:
        resource, r_st = evaluate_policies(
            check.resource_docs, check.action, check.resource, ctx, principal=principal, resource_based=True
        )
        if resource == DENY:
            raise Denied(check, "with an explicit deny in a resource-based policy", True, r_st)
    identity_ok = identity == ALLOW and boundary == ALLOW
    if check.policy == "kms":
        if resource == ALLOW and boundary == ALLOW:
            return
        if resource == "account":
            if identity_ok:
                return
            if identity == ALLOW:
                raise Denied(check, "because no permissions boundary allows the %s action" % check.action)
            raise Denied(check, "because no identity-based policy allows the %s action" % check.action)
        raise Denied(check, "because no resource-based policy allows the %s action" % check.action)
    if identity_ok:
        return
    if check.policy == "s3" and resource == ALLOW and boundary == ALLOW:
        return
    if identity == ALLOW:
        raise Denied(check, "because no permissions boundary allows the %s action" % check.action)
    raise Denied(check, "because no identity-based policy allows the %s action" % check.action)


def is_allowed(principal, role, check, context):
    try:
        decide(principal, role, check, context)
    except Denied:
        return False
    _note_grant(role, check, context)
    return True


# --------------------------------------------------------------------------- #
# Requests as the engine sends them.
# --------------------------------------------------------------------------- #

_CRED = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


class Request:
    """An engine request, parsed enough to authorise it."""

    def __init__(self, environ, service, action, protocol):
        self.environ = environ
        self.service = service
        self.action = action
        self.protocol = protocol
        m = _CRED.search(environ.get("HTTP_AUTHORIZATION", ""))
        self.access_key = m.group(1) if m else ""
        self.region = m.group(2) if m else "us-east-1"
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        self.path = environ.get("PATH_INFO", "/")
        self.query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        self.headers = {}
        for k, v in environ.items():
            if k.startswith("HTTP_"):
                self.headers[k[5:].replace("_", "-").lower()] = v
        self.params = {}
        self.json = {}
        if protocol in ("ec2", "query"):
            body = launcher._read_body(environ).decode("utf-8", errors="replace")
            raw = urllib.parse.parse_qs(body or environ.get("QUERY_STRING", ""), keep_blank_values=True)
            self.params = {k: v[0] for k, v in raw.items()}
        elif protocol in ("json", "rest-json"):
            body = launcher._read_body(environ)
            try:
                self.json = json.loads(body) if body.strip() else {}
            except ValueError:
                self.json = {}
        self.account = None  # set by the guard from the role

    def p(self, name, default=None):
        return self.params.get(name, default)

    def plist(self, prefix):
        """Values of prefix.1, prefix.2, ... in order."""
        rx = re.compile(r"^%s\.(\d+)$" % re.escape(prefix))
        found = []
        for k, v in self.params.items():
            m = rx.match(k)
            if m:
                found.append((int(m.group(1)), v))
        return [v for _, v in sorted(found)]

    def tags(self, prefix="Tag"):
        out = {}
        rx = re.compile(r"^%s\.(\d+)\.Key$" % re.escape(prefix))
        for k, v in self.params.items():
            m = rx.match(k)
            if m:
                out[v] = self.params.get("%s.%s.Value" % (prefix, m.group(1)), "")
        return out

    def tag_specs(self):
        """[(ResourceType, {key: value})] of TagSpecification.N."""
        out = []
        for i in range(1, 50):
            rtype = self.params.get("TagSpecification.%d.ResourceType" % i)
            if rtype is None:
                break
            out.append((rtype, self.tags("TagSpecification.%d.Tag" % i)))
        return out


def request_tag_keys(tags):
    """aws:RequestTag/<key> and aws:TagKeys for the tags a request applies."""
    keys = {"aws:RequestTag/" + k: v for k, v in tags.items()}
    keys["aws:TagKeys"] = list(tags.keys())
    return keys


# --------------------------------------------------------------------------- #
# EC2 resources (Service Authorization Reference, "Actions, resources, and
# condition keys for Amazon EC2": resource ARNs and their condition keys).
# --------------------------------------------------------------------------- #

_EC2_PREFIX = [
    ("i-", "instance"),
    ("vol-", "volume"),
    ("snap-", "snapshot"),
    ("sgr-", "security-group-rule"),
    ("sg-", "security-group"),
    ("eni-", "network-interface"),
    ("vpc-", "vpc"),
    ("subnet-", "subnet"),
    ("eipalloc-", "elastic-ip"),
    ("ami-", "image"),
    ("igw-", "internet-gateway"),
    ("rtb-", "route-table"),
    ("acl-", "network-acl"),
    ("dopt-", "dhcp-options"),
    ("nat-", "natgateway"),
    ("lt-", "launch-template"),
    ("key-", "key-pair"),
]
# Resource types whose ARN has no account (snapshot, image: owned resources
# shared across accounts; SAR: arn:${Partition}:ec2:${Region}::snapshot/${SnapshotId}).
_EC2_NO_ACCOUNT = {"snapshot", "image"}


def ec2_kind(resource_id):
    for prefix, kind in _EC2_PREFIX:
        if resource_id.startswith(prefix):
            return kind
    return "unknown-resource-type"


def ec2_arn(req, kind, rid, region=None):
    account = "" if kind in _EC2_NO_ACCOUNT else req.account
    return "arn:%s:ec2:%s:%s:%s/%s" % (PARTITION, region or req.region, account, kind, rid)


def ec2_backend(req, region=None):
    from moto.ec2.models import ec2_backends

    return ec2_backends[req.account][region or req.region]


def _zone(obj):
    z = getattr(obj, "zone", None) or getattr(obj, "availability_zone", None)
    if z is None and hasattr(obj, "_placement"):
        z = obj._placement.zone
    return getattr(z, "name", z)


def ec2_resource(req, kind, rid, region=None):
    """(ARN, condition keys) of an existing EC2 resource, from moto's current
    state: its tags as aws:ResourceTag/<key> and ec2:ResourceTag/<key>, and the
    keys the SAR lists for that resource type. A resource moto does not know
    is authorised by its ARN alone (AWS authorises before it looks it up)."""
    backend = ec2_backend(req, region)
    region = region or req.region
    arn = ec2_arn(req, kind, rid, region)
    keys = {"ec2:Region": region}
    for k, v in dict(backend.tags.get(rid, {})).items():
        keys["aws:ResourceTag/" + k] = v
        keys["ec2:ResourceTag/" + k] = v
    vpc_arn = lambda vpc_id: "arn:%s:ec2:%s:%s:vpc/%s" % (PARTITION, region, req.account, vpc_id)  # noqa: E731
    try:
        if kind == "instance":
            inst = backend.get_instance_by_id(rid)
            if inst is not None:
                keys["ec2:InstanceID"] = rid
                keys["ec2:InstanceType"] = inst.instance_type
                keys["ec2:AvailabilityZone"] = _zone(inst)
                keys["ec2:RootDeviceType"] = getattr(inst, "root_device_type", "ebs")
                keys["ec2:Tenancy"] = getattr(inst, "tenancy", None) or "default"
                keys["ec2:InstanceMarketType"] = "spot" if getattr(inst, "lifecycle", None) == "spot" else "on-demand"
        elif kind == "volume":
            vol = backend.volumes.get(rid)
            if vol is not None:
                keys["ec2:VolumeID"] = rid
                keys["ec2:Encrypted"] = _text(bool(vol.encrypted))
                keys["ec2:VolumeSize"] = str(vol.size)
                keys["ec2:VolumeType"] = vol.volume_type
                keys["ec2:AvailabilityZone"] = _zone(vol)
                if vol.kms_key_id:
                    keys["ec2:KmsKeyId"] = vol.kms_key_id
                if vol.snapshot_id:
                    keys["ec2:ParentSnapshot"] = ec2_arn(req, "snapshot", vol.snapshot_id, region)
        elif kind == "snapshot":
            snap = backend.snapshots.get(rid)
            if snap is not None:
                keys["ec2:SnapshotID"] = rid
                keys["ec2:Encrypted"] = _text(bool(snap.encrypted))
                keys["ec2:Owner"] = snap.owner_id
                if getattr(snap, "volume", None) is not None:
                    keys["ec2:VolumeSize"] = str(snap.volume.size)
                    keys["ec2:ParentVolume"] = ec2_arn(req, "volume", snap.volume.id, region)
        elif kind == "security-group":
            sg = backend.get_security_group_from_id(rid)
            if sg is not None:
                keys["ec2:SecurityGroupID"] = rid
                if sg.vpc_id:
                    keys["ec2:Vpc"] = vpc_arn(sg.vpc_id)
        elif kind == "network-interface":
            eni = backend.enis.get(rid)
            if eni is not None:
                keys["ec2:NetworkInterfaceID"] = rid
                subnet = eni.subnet
                keys["ec2:Subnet"] = "arn:%s:ec2:%s:%s:subnet/%s" % (PARTITION, region, req.account, subnet.id)
                keys["ec2:Vpc"] = vpc_arn(subnet.vpc_id)
                keys["ec2:AvailabilityZone"] = subnet.availability_zone
        elif kind == "elastic-ip":
            for addr in list(backend.addresses):
                if addr.allocation_id == rid:
                    keys["ec2:AllocationId"] = rid
                    keys["ec2:PublicIpAddress"] = addr.public_ip
                    keys["ec2:Domain"] = addr.domain
        elif kind == "vpc":
            keys["ec2:VpcID"] = rid
        elif kind == "subnet":
            keys["ec2:SubnetID"] = rid
    except Exception as exc:  # noqa: BLE001 - a moto internal moved: say so, keep the tags
        sys.stderr.write("emulator IAM: reading %s %s: %r\n" % (kind, rid, exc))
    return arn, keys


def ec2_check(req, kind, rid, extra=None, action=None, region=None):
    arn, keys = ec2_resource(req, kind, rid, region)
    if extra:
        keys.update(extra)
    return Check(action or "ec2:" + req.action, arn, keys)


def ec2_new(req, kind, tags=None, extra=None, action=None):
    """A resource the request creates: AWS authorises it by an ARN whose ID is
    '*' (it has none yet), with the request's tags as aws:RequestTag/<key> and
    aws:TagKeys (EC2 User Guide, "Grant permission to tag Amazon EC2 resources
    during creation")."""
    keys = {"ec2:Region": req.region}
    keys.update(request_tag_keys(tags or {}))
    if extra:
        keys.update(extra)
    return Check(action or "ec2:" + req.action, ec2_arn(req, kind, "*"), keys)


def tag_on_create(req):
    """ec2:CreateTags for each TagSpecification of a creating call, with
    ec2:CreateAction = the creating API (EC2 User Guide, "Grant permission to
    tag Amazon EC2 resources during creation": "to tag resources on creation,
    users must have permissions to use the action that creates the resource
    and the ec2:CreateTags action")."""
    checks = []
    for rtype, tags in req.tag_specs():
        checks.append(ec2_new(req, rtype, tags, {"ec2:CreateAction": req.action}, action="ec2:CreateTags"))
    return checks


def _ec2_tags_of_request(req):
    tags = {}
    for _, t in req.tag_specs():
        tags.update(t)
    return tags


def _instance_volumes(req, instance_id, exclude_boot=False, exclude=()):
    backend = ec2_backend(req)
    inst = backend.get_instance_by_id(instance_id)
    if inst is None:
        return []
    out = []
    for device, bdm in list(inst.block_device_mapping.items()):
        if exclude_boot and device == inst.root_device_name:
            continue
        if bdm.volume_id in exclude:
            continue
        out.append(bdm.volume_id)
    return out


# --------------------------------------------------------------------------- #
# KMS: the key policy, and the KMS permissions AWS services check on the
# caller's behalf.
# --------------------------------------------------------------------------- #

_KEY_ARN = re.compile(r"^arn:[^:]+:kms:([^:]+):(\d{12}):(key|alias)/(.+)$")


def resolve_key(account, region, key_id):
    """(key ARN, moto Key or None, AWS-managed?) for a key ID, key ARN, alias
    name or alias ARN."""
    from moto.kms.models import kms_backends

    m = _KEY_ARN.match(key_id or "")
    if m:
        region, account = m.group(1), m.group(2)
        if m.group(3) == "alias":
            key_id = "alias/" + m.group(4)
    if key_id.startswith("alias/aws/"):
        # An AWS managed key (aws/ebs, aws/s3): its key policy lets every
        # principal of the account use it through that service (KMS Developer
        # Guide, "AWS managed keys"), so it needs no IAM permission.
        backend = kms_backends[account][region]
        try:
            kid = backend.any_id_to_key_id(key_id)
            key = backend.keys.get(kid)
        except Exception:  # noqa: BLE001 - moto creates AWS managed keys lazily
            key = None
        arn = key.arn if key is not None else "arn:%s:kms:%s:%s:%s" % (PARTITION, region, account, key_id)
        return arn, key, True
    backend = kms_backends[account][region]
    key = None
    try:
        key = backend.keys.get(backend.any_id_to_key_id(key_id))
    except Exception:  # noqa: BLE001 - unknown key: authorised by its ARN, refused by its (absent) key policy
        key = None
    if key is not None:
        # moto creates the AWS managed keys (aws/ebs when a volume is first
        # encrypted by default) as customer keys with an alias under aws/:
        # such a key is the AWS managed key, whichever way it is named.
        aws_managed = getattr(key, "key_manager", "CUSTOMER") == "AWS" or any(
            str(a).startswith("alias/aws/") for a in getattr(key, "aliases", {})
        )
        return key.arn, key, aws_managed
    if m and m.group(3) == "key":
        return key_id, None, False
    return "arn:%s:kms:%s:%s:key/%s" % (PARTITION, region, account, key_id), None, False


def key_policy_docs(key):
    """The key policy, from moto's KMS backend (moto stores the policy given at
    CreateKey/PutKeyPolicy and otherwise the default key policy, which allows
    the account root kms:*, i.e. delegates to IAM, as AWS's default does). A
    key moto does not know has no key policy: nothing is allowed."""
    if key is None:
        return []
    try:
        return [("key policy of %s" % key.arn, parse_document(key.policy))]
    except Exception:  # noqa: BLE001 - unreadable key policy allows nothing
        return [("key policy of %s (unreadable)" % key.arn, {"Statement": []})]


def kms_checks(req, key_id, actions, via, extra=None):
    """Checks for KMS actions a service (via: 'ec2', 's3') performs with the
    caller's permissions. AWS managed keys need none."""
    arn, key, aws_managed = resolve_key(req.account, req.region, key_id)
    if aws_managed:
        return []
    keys = {
        "kms:ViaService": "%s.%s.amazonaws.com" % (via, req.region),
        "kms:CallerAccount": req.account,
        "aws:ViaAWSService": "true",
    }
    if extra:
        keys.update(extra)
    docs = key_policy_docs(key)
    checks = []
    for action in actions:
        k = dict(keys)
        if action == "kms:CreateGrant":
            # EBS creates the grant for itself: kms:GrantIsForAWSResource.
            k["kms:GrantIsForAWSResource"] = "true"
        checks.append(Check(action, arn, k, policy="kms", resource_docs=docs, note="on behalf of " + via))
    return checks


# Amazon EBS User Guide, "Requirements for Amazon EBS encryption", "Permissions
# for users": kms:CreateGrant, kms:Decrypt, kms:DescribeKey,
# kms:GenerateDataKeyWithoutPlainText and kms:ReEncrypt (the page's example
# policy writes kms:ReEncrypt*, i.e. ReEncryptFrom and ReEncryptTo). The page
# does not split them by operation, so every EBS operation that uses a customer
# managed key needs all of them on that key (the stricter reading).
EBS_KMS_ACTIONS = [
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
]


def ebs_kms_checks(req, key_id, resource_id):
    if not key_id:
        return []
    return kms_checks(req, key_id, EBS_KMS_ACTIONS, "ec2", {"kms:EncryptionContext:aws:ebs:id": resource_id})


def _default_ebs_key(req):
    backend = ec2_backend(req)
    for name in ("ebs_default_kms_key_id", "default_kms_key_id"):
        value = getattr(backend, name, None)
        if value:
            return value
    return "alias/aws/ebs"


# --------------------------------------------------------------------------- #
# The table: API -> the checks AWS makes. Each entry cites the Service
# Authorization Reference (SAR) page it follows. Resource types the SAR marks
# required are always authorised; an optional one is authorised when the
# request names, changes or creates a resource of that type (the reading that
# refuses more where the SAR leaves it open).
# --------------------------------------------------------------------------- #


def _star(req, iam_action=None, extra=None):
    """Actions without resource-level permissions: Resource '*'."""
    keys = {"ec2:Region": req.region} if req.service == "ec2" else {}
    if extra:
        keys.update(extra)
    return [Check(iam_action or "%s:%s" % (iam_prefix(req.service), req.action), "*", keys)]


def iam_prefix(service):
    return {
        "elasticloadbalancingv2": "elasticloadbalancing",
        "elasticloadbalancing": "elasticloadbalancing",
        "states": "states",
        "monitoring": "cloudwatch",
        "email": "ses",
    }.get(service, service)


# --- EC2 (SAR: "Actions, resources, and condition keys for Amazon EC2") ----- #


def ec2_create_tags(req):
    # SAR CreateTags: every taggable resource type, with aws:RequestTag/${TagKey},
    # aws:TagKeys and the resource's own tags; ec2:CreateAction only when the
    # tags are applied by a creating call (see tag_on_create).
    tags = req.tags("Tag")
    extra = request_tag_keys(tags)
    return [ec2_check(req, ec2_kind(r), r, extra) for r in req.plist("ResourceId")]


def ec2_delete_tags(req):
    keys = [k for k in req.tags("Tag")]
    return [ec2_check(req, ec2_kind(r), r, {"aws:TagKeys": keys}) for r in req.plist("ResourceId")]


def ec2_instance_action(req):
    # SAR: instance* (GetConsoleOutput, GetConsoleScreenshot,
    # DescribeInstanceAttribute, ModifyInstanceMetadataOptions, Stop/Start...).
    ids = [req.p("InstanceId")] if req.p("InstanceId") else req.plist("InstanceId")
    return [ec2_check(req, "instance", i) for i in ids]


_INSTANCE_ATTRIBUTES = {
    "instancetype": "InstanceType",
    "kernel": "Kernel",
    "ramdisk": "Ramdisk",
    "userdata": "UserData",
    "disableapitermination": "DisableApiTermination",
    "instanceinitiatedshutdownbehavior": "InstanceInitiatedShutdownBehavior",
    "rootdevicename": "RootDeviceName",
    "blockdevicemapping": "BlockDeviceMapping",
    "productcodes": "ProductCodes",
    "sourcedestcheck": "SourceDestCheck",
    "groupset": "GroupSet",
    "ebsoptimized": "EbsOptimized",
    "sriovnetsupport": "SriovNetSupport",
    "enasupport": "EnaSupport",
    "enclaveoptions": "EnclaveOptions",
    "disableapistop": "DisableApiStop",
}


def ec2_modify_instance_attribute(req):
    """SAR ModifyInstanceAttribute: instance* (ec2:Attribute,
    ec2:Attribute/${AttributeName}), security-group (the groups of a GroupId
    change), volume (the volumes whose BlockDeviceMapping changes; ec2:Encrypted).
    ec2:Attribute is the attribute's API name (InstanceType, DisableApiStop, ...),
    ec2:Attribute/<Name> its new scalar value (EC2 User Guide, example policies
    for ModifyInstanceAttribute use ec2:Attribute/InstanceType)."""
    instance_id = req.p("InstanceId")
    attrs = {}
    if req.p("Attribute"):
        name = _INSTANCE_ATTRIBUTES.get(req.p("Attribute").lower(), req.p("Attribute"))
        attrs[name] = req.p("Value")
    for k, v in req.params.items():
        head = k.split(".", 1)[0]
        if head in ("Action", "Version", "InstanceId", "Attribute", "Value", "DryRun"):
            continue
        if head == "GroupId":
            attrs.setdefault("GroupSet", None)
            continue
        name = _INSTANCE_ATTRIBUTES.get(head.lower(), head)
        attrs.setdefault(name, v if k.endswith(".Value") or "." not in k else None)
    extra = {}
    if attrs:
        extra["ec2:Attribute"] = list(attrs.keys())[0] if len(attrs) == 1 else list(attrs.keys())
        for name, value in attrs.items():
            if value is not None:
                extra["ec2:Attribute/" + name] = value
    checks = [ec2_check(req, "instance", instance_id, extra)]
    for group in req.plist("GroupId"):
        checks.append(ec2_check(req, "security-group", group))
    devices = set()
    for k, v in req.params.items():
        if re.match(r"^BlockDeviceMapping\.\d+\.DeviceName$", k):
            devices.add(v)
    if devices:
        inst = ec2_backend(req).get_instance_by_id(instance_id)
        if inst is not None:
            for device, bdm in list(inst.block_device_mapping.items()):
                if device in devices:
                    checks.append(ec2_check(req, "volume", bdm.volume_id))
    return checks


def ec2_modify_network_interface_attribute(req):
    """SAR ModifyNetworkInterfaceAttribute: network-interface* (ec2:Attribute),
    security-group (each group of a Groups change), instance (the attached
    instance when the attachment changes)."""
    eni_id = req.p("NetworkInterfaceId")
    changed = sorted({k.split(".", 1)[0] for k in req.params if k not in ("Action", "Version", "NetworkInterfaceId", "DryRun")})
    names = ["Groups" if c == "SecurityGroupId" else c for c in changed]
    extra = {"ec2:Attribute": names[0] if len(names) == 1 else names} if names else {}
    checks = [ec2_check(req, "network-interface", eni_id, extra)]
    for group in req.plist("SecurityGroupId"):
        checks.append(ec2_check(req, "security-group", group))
    if any(k.startswith("Attachment.") for k in req.params):
        eni = ec2_backend(req).enis.get(eni_id)
        inst = getattr(eni, "instance", None) if eni is not None else None
        if inst is not None:
            checks.append(ec2_check(req, "instance", inst.id))
    return checks


def ec2_create_security_group(req):
    """SAR CreateSecurityGroup: security-group* (new; aws:RequestTag, aws:TagKeys),
    vpc (the VPC it is created in), plus ec2:CreateTags with
    ec2:CreateAction=CreateSecurityGroup for TagSpecifications."""
    tags = _ec2_tags_of_request(req)
    checks = [ec2_new(req, "security-group", tags)]
    vpc_id = req.p("VpcId")
    if vpc_id:
        checks.append(ec2_check(req, "vpc", vpc_id))
    return checks + tag_on_create(req)


def _group_id(req):
    gid = req.p("GroupId")
    if not gid and req.p("GroupName"):
        backend = ec2_backend(req)
        try:
            sg = backend.get_security_group_by_name_or_id(req.p("GroupName"), None)
            gid = sg.id if sg is not None else None
        except Exception:  # noqa: BLE001
            gid = None
    return gid or "*"


def ec2_security_group_rules(req):
    """SAR Authorize/RevokeSecurityGroupIngress/Egress: security-group*
    (aws:ResourceTag, ec2:ResourceTag, ec2:Vpc); Authorize* also
    security-group-rule (new; aws:RequestTag) when the request tags the rules."""
    checks = [ec2_check(req, "security-group", _group_id(req))]
    specs = req.tag_specs()
    if specs and req.action.startswith("Authorize"):
        checks.append(ec2_new(req, "security-group-rule", _ec2_tags_of_request(req)))
        checks += tag_on_create(req)
    return checks


def ec2_create_snapshot(req):
    """SAR CreateSnapshot: volume* (ec2:Encrypted, tags), snapshot* (new;
    aws:RequestTag); ec2:CreateTags for TagSpecifications; the EBS KMS
    permissions on the volume's key when it is encrypted."""
    vol_id = req.p("VolumeId")
    tags = _ec2_tags_of_request(req)
    checks = [ec2_check(req, "volume", vol_id), ec2_new(req, "snapshot", tags)]
    checks += tag_on_create(req)
    vol = ec2_backend(req).volumes.get(vol_id)
    if vol is not None and vol.encrypted:
        checks += ebs_kms_checks(req, vol.kms_key_id or _default_ebs_key(req), vol_id)
    return checks


def ec2_create_snapshots(req):
    """SAR CreateSnapshots: instance*, volume* (each volume snapshotted),
    snapshot* (new); ec2:CreateTags for TagSpecifications (and for
    CopyTagsFromSource, which tags the snapshots with the volumes' tags); the
    EBS KMS permissions for each encrypted volume's key."""
    instance_id = req.p("InstanceSpecification.InstanceId")
    exclude_boot = str(req.p("InstanceSpecification.ExcludeBootVolume", "false")).lower() == "true"
    exclude = set(req.plist("InstanceSpecification.ExcludeDataVolumeId"))
    tags = _ec2_tags_of_request(req)
    checks = [ec2_check(req, "instance", instance_id)]
    backend = ec2_backend(req)
    volumes = _instance_volumes(req, instance_id, exclude_boot, exclude)
    for vol_id in volumes:
        checks.append(ec2_check(req, "volume", vol_id))
    for _ in volumes or [None]:
        checks.append(ec2_new(req, "snapshot", tags))
        break  # one ARN ('snapshot/*') stands for every new snapshot
    checks += tag_on_create(req)
    if req.p("CopyTagsFromSource") == "volume":
        for vol_id in volumes:
            vol_tags = dict(backend.tags.get(vol_id, {}))
            if vol_tags:
                checks.append(
                    ec2_new(req, "snapshot", vol_tags, {"ec2:CreateAction": req.action}, action="ec2:CreateTags")
                )
    for vol_id in volumes:
        vol = backend.volumes.get(vol_id)
        if vol is not None and vol.encrypted:
            checks += ebs_kms_checks(req, vol.kms_key_id or _default_ebs_key(req), vol_id)
    return checks


def ec2_copy_snapshot(req):
    """SAR CopySnapshot: snapshot* for the source snapshot and the new one
    (ec2:Encrypted; aws:RequestTag on the new one); ec2:CreateTags with
    ec2:CreateAction=CopySnapshot for TagSpecifications. EBS KMS permissions on
    the source's key (to read it) and on the copy's key (Encrypted + KmsKeyId,
    else the source's key, else the account's default EBS key)."""
    source_region = req.p("SourceRegion") or req.region
    source_id = req.p("SourceSnapshotId")
    tags = _ec2_tags_of_request(req)
    source = ec2_backend(req, source_region).snapshots.get(source_id)
    source_encrypted = bool(source is not None and source.encrypted)
    encrypted = source_encrypted or str(req.p("Encrypted", "false")).lower() == "true"
    checks = [
        ec2_check(req, "snapshot", source_id, region=source_region),
        ec2_new(req, "snapshot", tags, {"ec2:Encrypted": _text(encrypted)}),
    ]
    checks += tag_on_create(req)
    if source_encrypted:
        checks += ebs_kms_checks(req, source.kms_key_id or _default_ebs_key(req), source_id)
    if encrypted:
        dest_key = req.p("KmsKeyId") or (source.kms_key_id if source_encrypted else None) or _default_ebs_key(req)
        checks += ebs_kms_checks(req, dest_key, "snap-*")
    return checks


def ec2_snapshot_action(req):
    # SAR DeleteSnapshot (and ModifySnapshotAttribute...): snapshot*.
    return [ec2_check(req, "snapshot", req.p("SnapshotId"))]


def ec2_disassociate_address(req):
    """SAR DisassociateAddress: elastic-ip and network-interface (both
    optional): the address and the interface it leaves."""
    backend = ec2_backend(req)
    assoc = req.p("AssociationId")
    public_ip = req.p("PublicIp")
    address = None
    for addr in list(backend.addresses):
        if (assoc and addr.association_id == assoc) or (public_ip and addr.public_ip == public_ip):
            address = addr
    if address is None:
        return [Check("ec2:DisassociateAddress", ec2_arn(req, "elastic-ip", "*"), {"ec2:Region": req.region})]
    checks = [ec2_check(req, "elastic-ip", address.allocation_id or address.public_ip)]
    if address.eni is not None:
        checks.append(ec2_check(req, "network-interface", address.eni.id))
    return checks


def ec2_iam_instance_profile_association(req):
    """SAR DisassociateIamInstanceProfile / ReplaceIamInstanceProfileAssociation:
    instance* (the instance of the association)."""
    backend = ec2_backend(req)
    assoc = req.p("AssociationId")
    for instance_id, a in list(backend.iam_instance_profile_associations.items()):
        if a.association_id == assoc:
            return [ec2_check(req, "instance", instance_id)]
    return [Check("ec2:" + req.action, ec2_arn(req, "instance", "*"), {"ec2:Region": req.region})]


def ec2_terminate(req):
    return [ec2_check(req, "instance", i) for i in req.plist("InstanceId")]


# --- S3 (SAR: "Actions, resources, and condition keys for Amazon S3"; S3 API
# reference, each operation's "Permissions") ------------------------------- #


def _s3_backend(req):
    from moto.s3.models import s3_backends

    return s3_backends[req.account][PARTITION]


def s3_location(req):
    parts = req.path.lstrip("/").split("/", 1)
    bucket = urllib.parse.unquote(parts[0]) if parts and parts[0] else ""
    key = urllib.parse.unquote(parts[1]) if len(parts) > 1 else ""
    return bucket, key


def _bucket(req, name):
    try:
        return _s3_backend(req).buckets.get(name)
    except Exception:  # noqa: BLE001
        return None


def bucket_policy_docs(bucket):
    if bucket is None or not getattr(bucket, "policy", None):
        return []
    try:
        return [("bucket policy of %s" % bucket.name, parse_document(bucket.policy))]
    except Exception:  # noqa: BLE001 - unreadable: grants nothing
        return []


def _s3_keys(req):
    h = req.headers
    keys = {
        "s3:authType": "REST-HEADER",
        "s3:signatureversion": "AWS4-HMAC-SHA256",
        "s3:ResourceAccount": req.account,
    }
    for header in (
        "x-amz-server-side-encryption",
        "x-amz-server-side-encryption-aws-kms-key-id",
        "x-amz-content-sha256",
        "x-amz-acl",
        "x-amz-storage-class",
        "x-amz-copy-source",
        "x-amz-metadata-directive",
        "x-amz-grant-full-control",
        "x-amz-grant-read",
        "x-amz-website-redirect-location",
    ):
        if header in h:
            keys["s3:" + header] = h[header]
    if "if-none-match" in h:
        keys["s3:if-none-match"] = h["if-none-match"]
    if "if-match" in h:
        keys["s3:if-match"] = h["if-match"]
    if "x-amz-object-lock-mode" in h:
        keys["s3:object-lock-mode"] = h["x-amz-object-lock-mode"]
    if "x-amz-object-lock-retain-until-date" in h:
        keys["s3:object-lock-retain-until-date"] = h["x-amz-object-lock-retain-until-date"]
    if "x-amz-object-lock-legal-hold" in h:
        keys["s3:object-lock-legal-hold"] = h["x-amz-object-lock-legal-hold"]
    if "x-amz-tagging" in h:
        tags = dict(urllib.parse.parse_qsl(h["x-amz-tagging"], keep_blank_values=True))
        for k, v in tags.items():
            keys["s3:RequestObjectTag/" + k] = v
        keys["s3:RequestObjectTagKeys"] = list(tags.keys())
    return keys


def s3_check(req, action, bucket_name, key=None, extra=None):
    bucket = _bucket(req, bucket_name)
    arn = "arn:%s:s3:::%s" % (PARTITION, bucket_name) + ("/" + key if key is not None else "")
    keys = _s3_keys(req)
    if extra:
        keys.update(extra)
    return Check(action, arn, keys, policy="s3", resource_docs=bucket_policy_docs(bucket))


def _bucket_sse_kms_key(bucket):
    """The KMS key of the bucket's default encryption (SSE-KMS), or None."""
    enc = getattr(bucket, "encryption", None)
    if not enc:
        return None, False
    text = json.dumps(enc)
    algo = re.search(r'"SSEAlgorithm":\s*"([^"]+)"', text)
    if not algo or not algo.group(1).startswith("aws:kms"):
        return None, False
    key = re.search(r'"KMSMasterKeyID":\s*"([^"]+)"', text)
    bucket_key = re.search(r'"BucketKeyEnabled":\s*"?(true|True)', text) is not None
    return (key.group(1) if key else "alias/aws/s3"), bucket_key


def s3_put_object(req):
    """S3 PutObject: s3:PutObject on the object; s3:PutObjectRetention /
    s3:PutObjectLegalHold / s3:PutObjectTagging when the request sets them
    (S3 API reference, PutObject "Permissions"); on an SSE-KMS object
    kms:GenerateDataKey on its key (S3 User Guide, "Using server-side
    encryption with AWS KMS keys (SSE-KMS)": "To upload an object encrypted
    with an AWS KMS key ... you need kms:GenerateDataKey")."""
    bucket_name, key = s3_location(req)
    h = req.headers
    checks = [s3_check(req, "s3:PutObject", bucket_name, key)]
    if "x-amz-object-lock-mode" in h or "x-amz-object-lock-retain-until-date" in h:
        checks.append(s3_check(req, "s3:PutObjectRetention", bucket_name, key))
    if "x-amz-object-lock-legal-hold" in h:
        checks.append(s3_check(req, "s3:PutObjectLegalHold", bucket_name, key))
    if "x-amz-tagging" in h:
        checks.append(s3_check(req, "s3:PutObjectTagging", bucket_name, key))
    bucket = _bucket(req, bucket_name)
    kms_key, bucket_key = None, False
    sse = h.get("x-amz-server-side-encryption", "")
    if sse.startswith("aws:kms"):
        kms_key = h.get("x-amz-server-side-encryption-aws-kms-key-id") or "alias/aws/s3"
        bucket_key = h.get("x-amz-server-side-encryption-bucket-key-enabled", "").lower() == "true"
    elif not sse and bucket is not None:
        kms_key, bucket_key = _bucket_sse_kms_key(bucket)
    if kms_key:
        context_arn = "arn:%s:s3:::%s" % (PARTITION, bucket_name) + ("" if bucket_key else "/" + key)
        checks += kms_checks(req, kms_key, ["kms:GenerateDataKey"], "s3", {"kms:EncryptionContext:aws:s3:arn": context_arn})
    return checks


class Respond(Exception):
    """Answer the request with this response instead of moto (a denial that
    is not an IAM policy's: S3's 403 for a missing object)."""

    def __init__(self, response, record):
        super().__init__(record.get("reason", ""))
        self.response = response
        self.record = record


def s3_read_object(req, principal, role, context):
    """S3 GetObject / HeadObject (S3 API reference, GetObject and HeadObject,
    "Permissions"): s3:GetObject on the object. "If the object you request
    doesn't exist, the error that Amazon S3 returns depends on whether you
    also have the s3:ListBucket permission": 404 NoSuchKey with it, 403
    AccessDenied without it (a HEAD answer has no body). An SSE-KMS object
    needs kms:Decrypt on its key for GetObject, and for HeadObject when
    checksum mode is enabled and the object has a checksum (HeadObject
    ChecksumMode: "you must have permission to use the kms:Decrypt action")."""
    bucket_name, key = s3_location(req)
    read_check = s3_check(req, "s3:GetObject", bucket_name, key)
    decide(principal, role, read_check, context)
    _note_grant(role, read_check, context)
    bucket = _bucket(req, bucket_name)
    if bucket is None:
        return []  # moto answers NoSuchBucket, as S3 does
    version = (req.query.get("versionId") or [None])[0]
    obj = None
    try:
        obj = _s3_backend(req).get_object(bucket_name, key, version_id=version)
    except Exception:  # noqa: BLE001
        obj = None
    if obj is None:
        list_check = s3_check(req, "s3:ListBucket", bucket_name, None, {"s3:prefix": key})
        if not is_allowed(principal, role, list_check, context):
            reason = "the object does not exist and no policy allows s3:ListBucket on the bucket (S3 answers 403 AccessDenied, not 404)"
            raise Respond(s3_access_denied(req, "Access Denied"), {
                "iam_action": "s3:ListBucket",
                "resource": list_check.resource,
                "reason": reason,
                "code": "AccessDenied",
                "status": 403,
            })
        return []
    checks = []
    encryption = getattr(obj, "encryption", None)
    kms_key = getattr(obj, "kms_key_id", None)
    if encryption is None:
        kms_key_default, _ = _bucket_sse_kms_key(bucket)
        if kms_key_default:
            encryption, kms_key = "aws:kms", kms_key_default
    wants_checksum = req.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED"
    has_checksum = bool(getattr(obj, "checksum_value", None) or getattr(obj, "checksum_algorithm", None))
    needs_decrypt = req.action == "GetObject" or (wants_checksum and has_checksum)
    if encryption and str(encryption).startswith("aws:kms") and needs_decrypt:
        checks += kms_checks(
            req,
            kms_key or "alias/aws/s3",
            ["kms:Decrypt"],
            "s3",
            {"kms:EncryptionContext:aws:s3:arn": "arn:%s:s3:::%s/%s" % (PARTITION, bucket_name, key)},
        )
    return checks


def s3_list(req):
    bucket_name, _ = s3_location(req)
    extra = {}
    for q, k in (("prefix", "s3:prefix"), ("delimiter", "s3:delimiter"), ("max-keys", "s3:max-keys")):
        if q in req.query:
            extra[k] = req.query[q][0]
    return [s3_check(req, "s3:ListBucket", bucket_name, None, extra)]


def s3_create_bucket(req):
    """CreateBucket authorises s3:CreateBucket on the new bucket (Service
    Authorization Reference, Amazon S3), and s3:PutBucketObjectLockConfiguration
    too when the bucket is created with Object Lock (S3 API Reference,
    CreateBucket, "Permissions")."""
    bucket_name, _ = s3_location(req)
    arn = "arn:%s:s3:::%s" % (PARTITION, bucket_name)
    checks = [Check("s3:CreateBucket", arn, _s3_keys(req), policy="s3")]
    if req.headers.get("x-amz-bucket-object-lock-enabled", "").lower() == "true":
        checks.append(Check("s3:PutBucketObjectLockConfiguration", arn, _s3_keys(req), policy="s3"))
    return checks


def s3_bucket_read(action):
    """SAR Amazon S3: GetBucketVersioning, GetBucketObjectLockConfiguration
    (the IAM action of the GetObjectLockConfiguration API): bucket*."""

    def check(req):
        bucket_name, _ = s3_location(req)
        return [s3_check(req, action, bucket_name)]

    return check


def _bypasses_governance(req):
    return req.headers.get("x-amz-bypass-governance-retention", "").lower() == "true"


def s3_delete_object(req):
    """S3 DeleteObject: s3:DeleteObject (s3:DeleteObjectVersion with a
    versionId); s3:BypassGovernanceRetention too when the request bypasses
    GOVERNANCE retention (S3 User Guide, "Bypassing governance mode")."""
    bucket_name, key = s3_location(req)
    action = "s3:DeleteObjectVersion" if "versionId" in req.query else "s3:DeleteObject"
    checks = [s3_check(req, action, bucket_name, key)]
    if _bypasses_governance(req):
        checks.append(s3_check(req, "s3:BypassGovernanceRetention", bucket_name, key))
    return checks


def s3_object_lock_write(action):
    """S3 PutObjectRetention, PutObjectLegalHold: the action on the object;
    s3:BypassGovernanceRetention too for a retention change that bypasses
    GOVERNANCE mode (S3 API Reference, PutObjectRetention, "Permissions")."""

    def check(req):
        bucket_name, key = s3_location(req)
        checks = [s3_check(req, action, bucket_name, key)]
        if _bypasses_governance(req):
            checks.append(s3_check(req, "s3:BypassGovernanceRetention", bucket_name, key))
        return checks

    return check


def s3_access_denied(req, message):
    request_id = hashlib.md5(str(time.time()).encode()).hexdigest()[:16].upper()
    headers = [("x-amz-request-id", request_id), ("x-amz-id-2", base64.b64encode(request_id.encode()).decode())]
    if req.method == "HEAD":
        headers.append(("Content-Length", "0"))
        return "403 Forbidden", headers, b""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>%s</Message>'
        "<RequestId>%s</RequestId><HostId>%s</HostId></Error>"
        % (launcher._xml_escape(message), request_id, headers[1][1])
    ).encode("utf-8")
    headers += [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
    return "403 Forbidden", headers, body


# --- IAM (SAR: "Actions, resources, and condition keys for AWS Identity and
# Access Management") --------------------------------------------------------- #


def iam_role_check(req):
    # SAR GetRole, GetRolePolicy, PutRolePolicy, DeleteRolePolicy,
    # ListRolePolicies, AttachRolePolicy...: role* (aws:ResourceTag,
    # iam:ResourceTag). iam:PolicyARN for Attach/DetachRolePolicy.
    name = req.p("RoleName", "")
    backend = _iam_backend(req.account)
    arn = "arn:%s:iam::%s:role/%s" % (PARTITION, req.account, name)
    keys = {}
    for role in list(backend.roles.values()):
        if role.name == name:
            arn = role.arn
            for k, v in _role_tags(role):
                keys["aws:ResourceTag/" + k] = v
                keys["iam:ResourceTag/" + k] = v
            if getattr(role, "permissions_boundary_arn", None):
                keys["iam:PermissionsBoundary"] = role.permissions_boundary_arn
    if req.p("PolicyArn"):
        keys["iam:PolicyARN"] = req.p("PolicyArn")
    return [Check("iam:" + req.action, arn, keys)]


def iam_policy_check(req):
    # SAR "Actions, resources, and condition keys for AWS Identity and Access
    # Management": CreatePolicy: policy* (aws:TagKeys, aws:RequestTag/${TagKey});
    # GetPolicy, GetPolicyVersion, CreatePolicyVersion, DeletePolicy,
    # DeletePolicyVersion, SetDefaultPolicyVersion: policy*. A new policy's
    # ARN is arn:<partition>:iam::<account>:policy<Path><PolicyName> (IAM User
    # Guide, "IAM identifiers": the path is part of the ARN).
    arn = req.p("PolicyArn")
    keys = {}
    if req.action == "CreatePolicy":
        path = req.p("Path") or "/"
        arn = "arn:%s:iam::%s:policy%s%s" % (PARTITION, req.account, path, req.p("PolicyName", ""))
        tags = req.tags("Tags.member")
        if tags:
            keys.update(request_tag_keys(tags))
            # IAM User Guide, "Permissions required for tagging IAM
            # resources": tags given at creation also need iam:TagPolicy.
            return [Check("iam:CreatePolicy", arn, keys), Check("iam:TagPolicy", arn, keys)]
    return [Check("iam:" + req.action, arn or "arn:%s:iam::%s:policy/*" % (PARTITION, req.account), keys)]


def iam_instance_profile_check(req):
    # SAR GetInstanceProfile: instance-profile*.
    name = req.p("InstanceProfileName", "")
    backend = _iam_backend(req.account)
    arn = "arn:%s:iam::%s:instance-profile/%s" % (PARTITION, req.account, name)
    for profile in list(getattr(backend, "instance_profiles", {}).values()):
        if profile.name == name:
            arn = profile.arn
    return [Check("iam:" + req.action, arn, {})]


# --- Auto Scaling, Elastic Load Balancing ------------------------------------ #


def autoscaling_group_check(req):
    """SAR "Actions, resources, and condition keys for Amazon EC2 Auto
    Scaling": DetachInstances, EnterStandby, ...: autoScalingGroup*
    (aws:ResourceTag, autoscaling:ResourceTag)."""
    from moto.autoscaling.models import autoscaling_backends

    name = req.p("AutoScalingGroupName", "")
    arn = "arn:%s:autoscaling:%s:%s:autoScalingGroup:*:autoScalingGroupName/%s" % (PARTITION, req.region, req.account, name)
    keys = {}
    group = autoscaling_backends[req.account][req.region].autoscaling_groups.get(name)
    if group is not None:
        arn = group.arn
        for tag in list(group.tags):
            keys["aws:ResourceTag/" + tag.get("Key", "")] = tag.get("Value", "")
            keys["autoscaling:ResourceTag/" + tag.get("Key", "")] = tag.get("Value", "")
    return [Check("autoscaling:" + req.action, arn, keys)]


def elbv2_target_group_check(req):
    """SAR "Actions, resources, and condition keys for Elastic Load Balancing
    V2": DeregisterTargets, RegisterTargets: targetgroup* (aws:ResourceTag,
    elasticloadbalancing:ResourceTag)."""
    arn = req.p("TargetGroupArn", "")
    keys = {}
    try:
        from moto.elbv2.models import elbv2_backends

        tags = elbv2_backends[req.account][req.region].tagging_service.get_tag_dict_for_resource(arn)
        for k, v in tags.items():
            keys["aws:ResourceTag/" + k] = v
            keys["elasticloadbalancing:ResourceTag/" + k] = v
    except Exception:  # noqa: BLE001 - no tags known
        pass
    return [Check("elasticloadbalancing:" + req.action, arn, keys)]


def elb_load_balancer_check(req):
    """SAR "Actions, resources, and condition keys for Elastic Load Balancing"
    (classic): DeregisterInstancesFromLoadBalancer, ...: loadbalancer*."""
    name = req.p("LoadBalancerName", "")
    arn = "arn:%s:elasticloadbalancing:%s:%s:loadbalancer/%s" % (PARTITION, req.region, req.account, name)
    keys = {}
    try:
        from moto.elb.models import elb_backends

        lb = elb_backends[req.account][req.region].load_balancers.get(name)
        for k, v in dict(getattr(lb, "tags", {}) or {}).items():
            keys["aws:ResourceTag/" + k] = v
            keys["elasticloadbalancing:ResourceTag/" + k] = v
    except Exception:  # noqa: BLE001
        pass
    return [Check("elasticloadbalancing:" + req.action, arn, keys)]


# --- Step Functions, KMS, SNS -------------------------------------------------- #


def states_check(req):
    """SAR "Actions, resources, and condition keys for AWS Step Functions":
    StartExecution, StartSyncExecution: stateMachine*; DescribeExecution,
    StopExecution: execution*; SendTask*: no resource (Resource '*')."""
    body = req.json
    if req.action in ("StartExecution", "StartSyncExecution"):
        arn = body.get("stateMachineArn", "")
    elif req.action in ("DescribeExecution", "StopExecution", "GetExecutionHistory"):
        arn = body.get("executionArn", "")
    else:
        arn = "*"
    return [Check("states:" + req.action, arn, {})]


def kms_direct(req):
    """SAR "Actions, resources, and condition keys for AWS Key Management
    Service": key* for CreateGrant, Decrypt, DescribeKey, Encrypt,
    GenerateDataKey*, ...; the key policy must allow (KMS Developer Guide, "Key
    policies in AWS KMS")."""
    body = req.json
    key_id = body.get("KeyId") or body.get("DestinationKeyId") or ""
    if not key_id and req.action == "Decrypt":
        key_id = _key_of_ciphertext(req, body.get("CiphertextBlob", ""))
    arn, key, _ = resolve_key(req.account, req.region, key_id or "unknown")
    keys = {"kms:CallerAccount": req.account}
    if key_id.startswith("alias/") or ":alias/" in key_id:
        keys["kms:RequestAlias"] = "alias/" + key_id.split("alias/", 1)[1]
    for k, v in (body.get("EncryptionContext") or {}).items():
        keys["kms:EncryptionContext:" + k] = v
    if body.get("EncryptionContext"):
        keys["kms:EncryptionContextKeys"] = list(body["EncryptionContext"].keys())
    if req.action == "CreateGrant":
        keys["kms:GrantIsForAWSResource"] = "false"
        if body.get("GranteePrincipal"):
            keys["kms:GranteePrincipal"] = body["GranteePrincipal"]
        if body.get("Operations"):
            keys["kms:GrantOperations"] = body["Operations"]
    return [Check("kms:" + req.action, arn, keys, policy="kms", resource_docs=key_policy_docs(key))]


def _key_of_ciphertext(req, blob):
    try:
        raw = base64.b64decode(blob)
        m = re.match(rb"^([0-9a-f-]{36})", raw)
        return m.group(1).decode() if m else ""
    except Exception:  # noqa: BLE001
        return ""


def sns_publish(req):
    # SAR "Actions, resources, and condition keys for Amazon SNS": Publish: topic*.
    arn = req.p("TopicArn") or req.p("TargetArn") or "*"
    return [Check("sns:Publish", arn, {})]


# (service as the engine port identifies it, API action) -> checks(req).
# s3 GetObject/HeadObject are handled by s3_read_object (they need the
# principal to decide between 403 and 404).
RULES = {}
for _a in (
    "DescribeInstances", "DescribeTags", "DescribeNetworkInterfaces", "DescribeSecurityGroups",
    "DescribeSnapshots", "DescribeIamInstanceProfileAssociations", "DescribeAddresses",
    "DescribeVolumes", "DescribeRegions", "DescribeAvailabilityZones", "DescribeSubnets", "DescribeVpcs",
    "DescribeImages", "DescribeInstanceStatus", "DescribeSecurityGroupRules", "DescribeNetworkAcls",
    "DescribeRouteTables",
):
    RULES[("ec2", _a)] = _star
RULES.update({
    ("ec2", "CreateTags"): ec2_create_tags,
    ("ec2", "DeleteTags"): ec2_delete_tags,
    ("ec2", "ModifyInstanceAttribute"): ec2_modify_instance_attribute,
    ("ec2", "DescribeInstanceAttribute"): ec2_instance_action,
    ("ec2", "GetConsoleOutput"): ec2_instance_action,
    ("ec2", "GetConsoleScreenshot"): ec2_instance_action,
    ("ec2", "ModifyInstanceMetadataOptions"): ec2_instance_action,
    ("ec2", "StopInstances"): ec2_instance_action,
    ("ec2", "TerminateInstances"): ec2_terminate,
    ("ec2", "ModifyNetworkInterfaceAttribute"): ec2_modify_network_interface_attribute,
    ("ec2", "CreateSecurityGroup"): ec2_create_security_group,
    ("ec2", "AuthorizeSecurityGroupIngress"): ec2_security_group_rules,
    ("ec2", "AuthorizeSecurityGroupEgress"): ec2_security_group_rules,
    ("ec2", "RevokeSecurityGroupIngress"): ec2_security_group_rules,
    ("ec2", "RevokeSecurityGroupEgress"): ec2_security_group_rules,
    ("ec2", "CreateSnapshot"): ec2_create_snapshot,
    ("ec2", "CreateSnapshots"): ec2_create_snapshots,
    ("ec2", "CopySnapshot"): ec2_copy_snapshot,
    ("ec2", "DeleteSnapshot"): ec2_snapshot_action,
    ("ec2", "DisassociateAddress"): ec2_disassociate_address,
    ("ec2", "DisassociateIamInstanceProfile"): ec2_iam_instance_profile_association,
    ("autoscaling", "DescribeAutoScalingInstances"): _star,
    ("autoscaling", "DescribeAutoScalingGroups"): _star,
    ("autoscaling", "DetachInstances"): autoscaling_group_check,
    ("autoscaling", "EnterStandby"): autoscaling_group_check,
    ("elasticloadbalancingv2", "DescribeTargetGroups"): _star,
    ("elasticloadbalancingv2", "DescribeTargetHealth"): _star,
    ("elasticloadbalancingv2", "DescribeLoadBalancers"): _star,
    ("elasticloadbalancingv2", "DeregisterTargets"): elbv2_target_group_check,
    ("elasticloadbalancing", "DescribeLoadBalancers"): _star,
    ("elasticloadbalancing", "DeregisterInstancesFromLoadBalancer"): elb_load_balancer_check,
    ("iam", "GetInstanceProfile"): iam_instance_profile_check,
    # ListRoles authorises on the roles' path: a role ARN pattern
    # (Service Authorization Reference, IAM: ListRoles, role*).
    ("iam", "ListRoles"): lambda req: [Check("iam:ListRoles", "arn:%s:iam::%s:role/*" % (PARTITION, req.account), {})],
    ("iam", "GetRole"): iam_role_check,
    ("iam", "GetRolePolicy"): iam_role_check,
    ("iam", "PutRolePolicy"): iam_role_check,
    ("iam", "DeleteRolePolicy"): iam_role_check,
    ("iam", "ListRolePolicies"): iam_role_check,
    ("iam", "ListAttachedRolePolicies"): iam_role_check,
    ("iam", "AttachRolePolicy"): iam_role_check,
    ("iam", "DetachRolePolicy"): iam_role_check,
    ("iam", "CreatePolicy"): iam_policy_check,
    ("iam", "GetPolicy"): iam_policy_check,
    ("iam", "GetPolicyVersion"): iam_policy_check,
    ("iam", "CreatePolicyVersion"): iam_policy_check,
    ("iam", "SetDefaultPolicyVersion"): iam_policy_check,
    ("iam", "DeletePolicy"): iam_policy_check,
    ("s3", "PutObject"): s3_put_object,
    ("s3", "ListObjects"): s3_list,
    ("s3", "ListObjectsV2"): s3_list,
    ("s3", "DeleteObject"): s3_delete_object,
    ("s3", "PutObjectRetention"): s3_object_lock_write("s3:PutObjectRetention"),
    ("s3", "PutObjectLegalHold"): s3_object_lock_write("s3:PutObjectLegalHold"),
    ("s3", "GetBucketVersioning"): s3_bucket_read("s3:GetBucketVersioning"),
    ("s3", "GetBucketObjectLockConfiguration"): s3_bucket_read("s3:GetBucketObjectLockConfiguration"),
    ("s3", "CreateBucket"): s3_create_bucket,
    # ListBuckets is authorised as s3:ListAllMyBuckets, with no resource
    # (Service Authorization Reference, Amazon S3).
    ("s3", "ListBuckets"): lambda req: [Check("s3:ListAllMyBuckets", "*", {})],
    ("states", "StartExecution"): states_check,
    ("states", "ListStateMachines"): states_check,
    ("states", "StartSyncExecution"): states_check,
    ("states", "DescribeExecution"): states_check,
    ("states", "StopExecution"): states_check,
    ("states", "SendTaskSuccess"): states_check,
    ("states", "SendTaskFailure"): states_check,
    ("states", "SendTaskHeartbeat"): states_check,
    ("kms", "CreateGrant"): kms_direct,
    # ListKeys has no resource (Service Authorization Reference, AWS KMS).
    ("kms", "ListKeys"): lambda req: [Check("kms:ListKeys", "*", {})],
    ("kms", "DescribeKey"): kms_direct,
    ("kms", "Encrypt"): kms_direct,
    ("kms", "Decrypt"): kms_direct,
    ("kms", "GenerateDataKey"): kms_direct,
    ("kms", "GenerateDataKeyWithoutPlaintext"): kms_direct,
    ("sns", "Publish"): sns_publish,
})
S3_READS = {("s3", "GetObject"), ("s3", "HeadObject")}


# --------------------------------------------------------------------------- #
# Denials: wire format and record.
# --------------------------------------------------------------------------- #

_DENIALS_LOCK = threading.Lock()
_DENIALS = []
_MAX_DENIALS = 10000


def _record(entry):
    entry["time"] = time.time()
    with _DENIALS_LOCK:
        _DENIALS.append(entry)
        if len(_DENIALS) > _MAX_DENIALS:
            del _DENIALS[: len(_DENIALS) - _MAX_DENIALS]


# Grants: for each call allowed, the identity-policy statements that allow it
# (recorded only while a test asks, POST /_emulator/grants/record). A
# statement that is the only one allowing some call is needed: without it
# that call is refused.
_GRANTS_LOCK = threading.Lock()
_GRANTS = []
_GRANTS_ON = [False]


def _note_grant(role, check, context):
    if not _GRANTS_ON[0] or role is None:
        return
    ctx = dict(context)
    ctx.update(check.keys)
    allowers = []
    for name, doc in identity_documents(role):
        for i, st in enumerate(_statements(doc)):
            try:
                applies = st.get("Effect") == "Allow" and statement_applies(st, check.action, check.resource, ctx)
            except UnknownOperator:
                applies = False
            if applies:
                allowers.append({"policy": name, "index": i, "sid": st.get("Sid", "")})
    with _GRANTS_LOCK:
        _GRANTS.append({"role": role.arn, "iam_action": check.action, "resource": check.resource, "statements": allowers})


def grants(_payload):
    with _GRANTS_LOCK:
        return list(_GRANTS)


def record_grants(payload):
    with _GRANTS_LOCK:
        _GRANTS_ON[0] = bool(payload.get("on"))
        _GRANTS.clear()
    return {"on": _GRANTS_ON[0]}


def denials(_payload):
    with _DENIALS_LOCK:
        return list(_DENIALS)


def reset_denials(_payload):
    with _DENIALS_LOCK:
        _DENIALS.clear()
    return {"ok": True}


def denial_message(principal, check, reason, quote=False):
    """AWS's access-denied message (IAM User Guide, "Troubleshoot access denied
    error messages"): 'User: <principal> is not authorized to perform:
    <action> on resource: <arn> because no identity-based policy allows the
    <action> action' / '... with an explicit deny in an identity-based policy'.
    The resource part is left out for Resource '*' actions."""
    on = ""
    if check.resource and check.resource != "*":
        on = " on resource: " + ('"%s"' % check.resource if quote else check.resource)
    return "User: %s is not authorized to perform: %s%s %s" % (principal["session_arn"], check.action, on, reason)


def _encoded_failure(principal, check, reason, explicit, context):
    """The 'Encoded authorization failure message' EC2 adds. On AWS it is
    opaque (sts:DecodeAuthorizationMessage decodes it); here it is the same
    kind of JSON document, base64url-encoded, so a test can read it."""
    doc = {
        "allowed": False,
        "explicitDeny": bool(explicit),
        "matchedStatements": {"items": []},
        "failures": {"items": []},
        "context": {
            "principal": {"id": principal["session"], "arn": principal["session_arn"]},
            "action": check.action,
            "resource": check.resource,
            "conditions": {
                "items": [
                    {"key": k, "values": {"items": [{"value": _text(x)} for x in _as_list(v)]}}
                    for k, v in sorted(check.keys.items())
                ]
            },
        },
        "reason": reason,
    }
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode().rstrip("=")


# The error each service answers an authorisation failure with: (code, HTTP status).
_DENIAL_CODES = {
    "ec2": ("UnauthorizedOperation", 403),  # EC2 API reference, "Common client error codes"
    "s3": ("AccessDenied", 403),  # S3 API reference, "Error responses"
    "kms": ("AccessDeniedException", 400),  # KMS API reference, AccessDeniedException
    "states": ("AccessDeniedException", 400),  # Step Functions API reference, "Common errors"
    "sns": ("AuthorizationError", 403),  # SNS API reference, Publish errors
    "iam": ("AccessDenied", 403),
    "autoscaling": ("AccessDenied", 403),
    "elasticloadbalancing": ("AccessDenied", 403),
    "elasticloadbalancingv2": ("AccessDenied", 403),
}


def deny_response(req, principal, check, reason, explicit, context):
    code, status = _DENIAL_CODES.get(req.service, ("AccessDeniedException", 400) if req.protocol == "json" else ("AccessDenied", 403))
    message = denial_message(principal, check, reason, quote=req.service == "s3")
    if req.service == "ec2":
        message = "You are not authorized to perform this operation. %s. Encoded authorization failure message: %s" % (
            message,
            _encoded_failure(principal, check, reason, explicit, context),
        )
    if req.service == "s3":
        return code, status, message, s3_access_denied(req, message)
    return code, status, message, launcher.fault_response(req.protocol, {"code": code, "message": message, "status": status})


# --------------------------------------------------------------------------- #
# The guard on the engine port.
# --------------------------------------------------------------------------- #


def _engine_context(environ):
    raw = environ.get("HTTP_" + CONTEXT_HEADER.upper().replace("-", "_"), "")
    if not raw:
        return {}
    try:
        return json.loads(base64.b64decode(raw))
    except Exception:  # noqa: BLE001
        return {}


def _account_of(role_arn):
    parts = (role_arn or "").split(":")
    if len(parts) >= 5 and parts[4].isdigit():
        return parts[4]
    return "123456789012"


def _role_checks(req, principal, role, via, ctx, engine):
    """Step Functions must be able to assume the execution role: its trust
    policy allows states.amazonaws.com (Step Functions Developer Guide,
    "Creating an IAM role for your state machine"; aws:SourceArn /
    aws:SourceAccount carry the state machine). A task's Credentials.RoleArn
    is assumed by the execution role: the execution role needs sts:AssumeRole
    on it and its trust policy must trust the execution role (Step Functions
    Developer Guide, "Task Credentials" / IAM "Granting a user permissions to
    switch roles")."""
    assume = Check("sts:AssumeRole", principal["role_arn"], {})
    if role is None:
        raise Denied(assume, "because the role %s does not exist" % principal["role_arn"])
    if via is None:
        trust_ctx = {"aws:sourceaccount": principal["account"]}
        if engine.get("state_machine"):
            trust_ctx["aws:sourcearn"] = engine["state_machine"]
        if not trust_allows(role, "Service", STATES_PRINCIPAL, trust_ctx):
            raise Denied(assume, "because the role's trust policy does not allow %s to assume it" % STATES_PRINCIPAL)
        return
    via_role = find_role(via)
    via_principal = make_principal(via, _account_of(via), req.region)
    if via_role is None:
        raise Denied(assume, "because the execution role %s does not exist" % via)
    decide(via_principal, via_role, assume, base_context(via_principal, via_role, req.region))
    if not trust_allows(role, "AWS", via, {"aws:principalarn": via}):
        raise Denied(assume, "because the trust policy of %s does not allow %s to assume it" % (principal["role_arn"], via))


def guard(environ, service, action, protocol):
    """ENGINE_GUARDS entry: authorise one engine call; None lets moto answer."""
    req = Request(environ, service, action, protocol)
    engine = _engine_context(environ)
    with _KEYS_LOCK:
        info = _KEYS.get(req.access_key)
    if info is None:
        info = {"role_arn": "", "via_role_arn": None}
    role_arn = info["role_arn"]
    req.account = _account_of(role_arn)
    principal = make_principal(role_arn or "arn:%s:iam::%s:role/unknown" % (PARTITION, req.account), req.account, req.region)
    role = find_role(role_arn)
    context = base_context(principal, role, req.region)
    record = {
        "service": service,
        "action": action,
        "principal": principal["session_arn"],
        "role": role_arn,
        "state_machine": engine.get("state_machine", ""),
        "execution": engine.get("execution", ""),
    }
    try:
        _role_checks(req, principal, role, info.get("via_role_arn"), context, engine)
        key = (service, action)
        if key in S3_READS:
            checks = s3_read_object(req, principal, role, context)
        elif key in RULES:
            checks = RULES[key](req)
        else:
            check = Check("%s:%s" % (iam_prefix(service), action), "*", {})
            sys.stderr.write(
                "emulator IAM: DENIED %s %s: no authorisation rule in iam_enforce.RULES "
                "(add the actions, resources and condition keys AWS authorises)\n" % (service, action)
            )
            raise Denied(check, "because no identity-based policy allows the %s action" % check.action, note="no rule")
        for check in checks:
            decide(principal, role, check, context)
            _note_grant(role, check, context)
    except Respond as r:
        record.update(r.record)
        _record(record)
        return r.response
    except Denied as d:
        code, status, message, response = deny_response(req, principal, d.check, d.reason, d.explicit, context)
        reason = d.reason
        if d.note == "no rule":
            reason = "no authorisation rule for %s %s in the emulator (iam_enforce.RULES): denied" % (service, action)
        elif d.check.note:
            reason = "%s (%s)" % (reason, d.check.note)
        record.update(
            {
                "iam_action": d.check.action,
                "resource": d.check.resource,
                "reason": reason,
                "code": code,
                "status": status,
                "message": message,
            }
        )
        if d.statement:
            record["statement"] = json.dumps(d.statement[1], sort_keys=True)
            record["policy"] = d.statement[0]
        _record(record)
        return response
    return None


# --------------------------------------------------------------------------- #
# Patches and registration.
# --------------------------------------------------------------------------- #

_TLS = threading.local()


def patch_engine_context():
    """Each task states which state machine and execution it runs in
    (X-Emulator-Engine-Context on its calls), and a task with Credentials
    records the execution role that assumes the task's role (via_role_arn).
    moto's StateTask._eval_state_credentials returns the credentials every
    task's calls are made with."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import StateCredentials

    cls = launcher._require(state_task, "StateTask")
    original = launcher._require(cls, "_eval_state_credentials")

    def _eval_state_credentials(self, env):
        creds = original(self, env)
        execution_role = env.aws_execution_details.role_arn
        try:
            data = env.states.context_object.context_object_data
            _TLS.context = {"state_machine": data["StateMachine"]["Id"], "execution": data["Execution"]["Id"]}
        except Exception:  # noqa: BLE001 - the context is informative only
            _TLS.context = {}
        if creds.role_arn != execution_role:
            creds = StateCredentials(role_arn=creds.role_arn)
            creds.via_role_arn = execution_role
        return creds

    cls._eval_state_credentials = _eval_state_credentials


def patch_sfn_error_suffix():
    """The optimised Step Functions integration names an error
    StepFunctions.<Code> with one 'Exception' suffix
    (StepFunctions.AccessDeniedException, as the Step Functions API's own
    error code reads). moto's StateTaskServiceSfn._from_error appends
    'Exception' to codes that already end in it (AccessDeniedException ->
    StepFunctions.AccessDeniedExceptionException); the denial this module
    answers with made that visible."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )

    original = launcher._require(StateTaskServiceSfn, "_from_error")

    def _from_error(self, env, ex):
        event = original(self, env, ex)
        name = getattr(event.error_name, "error_name", None)
        if isinstance(name, str) and name.endswith("ExceptionException"):
            fixed = name[: -len("Exception")]
            event.error_name.error_name = fixed
            details = (event.event_details or {}).get("taskFailedEventDetails")
            if details is not None and details.get("error") == name:
                details["error"] = fixed
        return event

    StateTaskServiceSfn._from_error = _from_error


def _add_context_header(request, **_kwargs):
    ctx = getattr(_TLS, "context", None)
    if ctx:
        request.headers[CONTEXT_HEADER] = base64.b64encode(json.dumps(ctx).encode()).decode()


def engine_client_hook(client):
    client.meta.events.register("before-sign.*.*", _add_context_header)


launcher.ENGINE_CREDENTIALS.append(engine_credentials)
launcher.ENGINE_CLIENT_HOOKS.append(engine_client_hook)
launcher.ENGINE_GUARDS.append(guard)
def patch_s3_bucket_policy_conditions():
    """A bucket policy's statements apply only when their conditions hold (IAM
    User Guide, "Policy evaluation logic"). moto's own S3 check
    (FakeBucket.get_permission, through moto.iam.access_control.IAMPolicy)
    ignores conditions, so the stack's TLS-only statement ("Deny s3:* when
    aws:SecureTransport is false") refused every request to the evidence
    bucket. This evaluates the bucket policy with its conditions, for the
    caller moto's S3 sees outside the engine port (the tests and scene
    builders, acting as the account over TLS, as every AWS SDK does). Engine
    calls are authorised in full by guard(), the bucket policy included."""
    import moto.s3.models as s3_models
    from moto.iam.access_control import PermissionResult

    import moto.s3.responses as s3_responses

    bucket_cls = launcher._require(s3_models, "FakeBucket")
    launcher._require(bucket_cls, "get_permission")
    response_cls = launcher._require(s3_responses, "S3Response")
    key_response = launcher._require(response_cls, "_key_response")

    def _key_response(self, request, full_url):
        # The object request's headers carry condition keys the bucket
        # policy may test (s3:if-none-match: S3 User Guide, "Enforce
        # conditional writes on Amazon S3 buckets").
        _TLS.s3_headers = {k.lower(): v for k, v in dict(getattr(request, "headers", {}) or {}).items()}
        try:
            return key_response(self, request, full_url)
        finally:
            _TLS.s3_headers = None

    response_cls._key_response = _key_response

    def get_permission(self, action, resource):
        if self.policy is None:
            return PermissionResult.NEUTRAL
        account = getattr(self, "account_id", None) or "123456789012"
        principal = make_principal("arn:%s:iam::%s:root" % (PARTITION, account), account, getattr(self, "region_name", ""))
        context = {"aws:securetransport": "true", "aws:principalaccount": account, "aws:principalarn": principal["role_arn"]}
        headers = getattr(_TLS, "s3_headers", None) or {}
        for header in ("if-none-match", "if-match"):
            if header in headers:
                context["s3:" + header] = headers[header]
        doc = parse_document(self.policy.decode() if isinstance(self.policy, bytes) else self.policy)
        effect, _ = evaluate_policies([("bucket policy of " + self.name, doc)], action, resource, context, principal=principal, resource_based=True)
        if effect == DENY:
            return PermissionResult.DENIED
        if effect == ALLOW:
            return PermissionResult.PERMITTED
        return PermissionResult.NEUTRAL

    bucket_cls.get_permission = get_permission


launcher.EXTRA_PATCHES.append(patch_engine_context)
launcher.EXTRA_PATCHES.append(patch_sfn_error_suffix)
launcher.EXTRA_PATCHES.append(patch_s3_bucket_policy_conditions)
launcher.CONTROL_ENDPOINTS[("GET", "/_emulator/denials")] = denials
launcher.CONTROL_ENDPOINTS[("GET", "/_emulator/grants")] = grants
launcher.CONTROL_ENDPOINTS[("POST", "/_emulator/grants/record")] = record_grants
launcher.CONTROL_ENDPOINTS[("POST", "/_emulator/denials/reset")] = reset_denials
