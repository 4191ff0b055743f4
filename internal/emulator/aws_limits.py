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
