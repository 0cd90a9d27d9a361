"""libvirt CPU descriptions: ``virsh capabilities`` (host ``<cpu>``), ``virsh domcapabilities``
(the ``host-model`` mode) and a bare ``<cpu>`` element (what ``virsh cpu-compare`` takes).

They name a CPU model plus extra features, in libvirt's vocabulary; the model's own features are
implied, so the model is expanded through libvirt's cpu_map (bundled 9.0), honouring
``removed='yes'`` in the model and ``policy='disable'``/``'forbid'`` on the features.
"""

from __future__ import annotations

from .. import cpu_map
from ..errors import DumpParseError
from ..names import decode_names, resolve, vendor_from_name
from ..result import Identity
from ..table import TABLE
from ._common import dec_int, line_of, parse_xml

_DISABLED = {"disable", "forbid"}


def decode_capabilities(text: str):
    root = parse_xml(text)
    cpu = root.find("host/cpu")
    if root.tag != "capabilities" or cpu is None:
        raise DumpParseError("virsh capabilities output without <host><cpu>", 1)
    return _decode_cpu(cpu, text, "libvirt-capabilities")


def decode_domcapabilities(text: str):
    root = parse_xml(text)
    mode = next((m for m in root.iterfind("cpu/mode") if m.get("name") == "host-model"), None)
    if root.tag != "domainCapabilities" or mode is None:
        raise DumpParseError(
            "virsh domcapabilities output without <cpu><mode name='host-model'>", 1
        )
    if mode.get("supported") == "no":
        raise DumpParseError(
            "this host does not support the host-model CPU mode", line_of(text, "host-model")
        )
    return _decode_cpu(mode, text, "libvirt-domcapabilities")


def decode_cpu(text: str):
    root = parse_xml(text)
    if root.tag != "cpu":
        raise DumpParseError(f"expected a <cpu> element, found <{root.tag}>", 1)
    return _decode_cpu(root, text, "libvirt-cpu")


def _decode_cpu(cpu, text: str, format_name: str):
    arch = cpu.findtext("arch")
    if arch and arch not in ("x86_64", "i686"):
        raise DumpParseError(f"the CPU architecture is {arch}, not x86", line_of(text, "<arch>"))
    model_name = (cpu.findtext("model") or "").strip()
    if not model_name:
        raise DumpParseError("the <cpu> element names no <model>", line_of(text, "<cpu"))
    model = cpu_map.expand(model_name, line_of(text, "<model"))
    wanted = set(model.features)
    disabled = set()
    for feature in cpu.iterfind("feature"):
        name = feature.get("name")
        if not name:
            raise DumpParseError("<feature> element without a name", line_of(text, "<feature"))
        if feature.get("policy") in _DISABLED:
            disabled.add(name)
        else:
            wanted.add(name)
    wanted -= disabled
    present, hypervisor, unrecognised = resolve(sorted(wanted), "libvirt")
    absent, _, _ = resolve(sorted(disabled), "libvirt")

    vendor = vendor_from_name(cpu.findtext("vendor") or model.vendor or "")
    signature = cpu.find("signature")
    family = model_number = stepping = None
    if signature is not None:
        line = line_of(text, "<signature")
        family = (
            dec_int(signature.get("family", ""), line, "family")
            if signature.get("family")
            else None
        )
        model_number = (
            dec_int(signature.get("model", ""), line, "model") if signature.get("model") else None
        )
        stepping = (
            dec_int(signature.get("stepping", ""), line, "stepping")
            if signature.get("stepping")
            else None
        )
    maxphysaddr = cpu.find("maxphysaddr")
    phys_bits = None
    if maxphysaddr is not None and maxphysaddr.get("bits"):
        phys_bits = dec_int(
            maxphysaddr.get("bits"), line_of(text, "<maxphysaddr"), "maxphysaddr bits"
        )
    identity = Identity(
        vendor=vendor,
        family=family,
        model=model_number,
        stepping=stepping,
        phys_bits=phys_bits,
        in_vm=hypervisor,
    )
    warnings = [f"expanded through libvirt 9.0's {model_name} model ({model.source})"]
    if format_name == "libvirt-domcapabilities":
        warnings.append(
            "domcapabilities describes the CPU QEMU/KVM can give a guest on this host, which may "
            "differ from the silicon (KVM-emulated features added, unsupported ones disabled)"
        )
    return decode_names(
        format_name=format_name,
        identity=identity,
        present=present & ~TABLE.by_name["hypervisor"].mask,
        absent=absent,
        unrecognised=unrecognised,
        warnings=warnings,
    )
