"""The catalog API's fields that come from the core (``kbsite.output``): a report's software
stack is ``cpus.cpuid.stack.HostStack.to_dict()`` as stored with the report (``{}``: not
reported), so every key is optional and keys of older versions are passed through as stored."""

from __future__ import annotations

from rest_framework import serializers

from kbsite.output import OutputSerializer


def _text() -> serializers.CharField:
    return serializers.CharField(allow_blank=True, required=False)


class HostStackSerializer(OutputSerializer):
    """A host's software stack (``HostStack.to_dict``)."""

    closed = False

    qemu_version = _text()
    qemu_machine_types = serializers.ListField(child=serializers.CharField(), required=False)
    libvirt_version = _text()
    kernel_release = _text()
    kernel_cmdline = _text()
    microcode = _text()
    vulnerabilities = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text="/sys/devices/system/cpu/vulnerabilities: file name -> its text.",
    )
    esxi_build = _text()
    vcenter_build = _text()
    hyperv_config_version = _text()
    vmx_features = serializers.ListField(
        child=serializers.CharField(),
        allow_null=True,
        required=False,
        help_text="vmx-* capabilities; null: not reported.",
    )
