"""AWS's constraints, quotas and timing in the emulated account.

Imported by launcher.py (import_extensions) before it patches moto; each
patch below is registered in launcher.EXTRA_PATCHES and runs after the
launcher's own. Each restores something AWS enforces that moto 5.2.1 does
not, and names the AWS page it follows. None makes the emulator kinder than
AWS: the settings (launcher.CONFIG_SETTINGS, POST /_emulator/config) may only
lower a quota below AWS's figure, so that a test can reach it cheaply; their
defaults are AWS's.
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
