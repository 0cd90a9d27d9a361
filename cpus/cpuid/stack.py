"""The software stack beside a host's CPUID: QEMU, libvirt, kernel, microcode, vulnerabilities,
VMware/Hyper-V builds, and the VMX capabilities KVM can offer a nested guest.

Every field is optional: a report that does not say is *unknown*, never "absent".  ``HostStack``
validates what an upload gives (``from_dict`` raises ``StackError`` with a reason), and
``to_dict`` is what the database stores (``HostReport.stack``) and the API returns.

Pure core: no Django.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import vmx
from .releases import parse_version, show

_TEXT_FIELDS = {
    "qemu_version": 64,
    "libvirt_version": 64,
    "kernel_release": 128,
    "kernel_cmdline": 4096,
    "microcode": 32,
    "esxi_build": 64,
    "vcenter_build": 64,
    "hyperv_config_version": 16,
}
_MICROCODE = re.compile(r"^(0x)?[0-9a-fA-F]{1,16}$")
_CMDLINE_KEYS = ("tsx", "mitigations", "tsx_async_abort", "kvm-intel.nested", "kvm_amd.nested")
MAX_MACHINE_TYPES = 200
MAX_VULNERABILITIES = 64


class StackError(ValueError):
    """A stack field that is not what it claims to be."""


@dataclass(frozen=True)
class HostStack:
    qemu_version: str = ""
    qemu_machine_types: tuple[str, ...] = ()
    libvirt_version: str = ""
    kernel_release: str = ""
    kernel_cmdline: str = ""
    microcode: str = ""
    vulnerabilities: tuple[tuple[str, str], ...] = ()
    esxi_build: str = ""
    vcenter_build: str = ""
    hyperv_config_version: str = ""
    vmx_features: frozenset[str] | None = field(default=None)

    @property
    def qemu(self) -> tuple[int, int, int] | None:
        return parse_version(self.qemu_version)

    @property
    def libvirt(self) -> tuple[int, int, int] | None:
        return parse_version(self.libvirt_version)

    @property
    def cmdline_options(self) -> dict[str, str]:
        """The kernel options that change what a guest can see (``tsx=``, ``mitigations=``,
        nested virtualisation switches)."""
        found = {}
        for token in self.kernel_cmdline.split():
            key, _, value = token.partition("=")
            if key in _CMDLINE_KEYS:
                found[key] = value
        return found

    @property
    def is_empty(self) -> bool:
        known = {k: v for k, v in self.to_dict().items() if k != "vmx_features"}
        return not any(known.values()) and self.vmx_features is None

    def to_dict(self) -> dict:
        return {
            "qemu_version": self.qemu_version,
            "qemu_machine_types": list(self.qemu_machine_types),
            "libvirt_version": self.libvirt_version,
            "kernel_release": self.kernel_release,
            "kernel_cmdline": self.kernel_cmdline,
            "microcode": self.microcode,
            "vulnerabilities": dict(self.vulnerabilities),
            "esxi_build": self.esxi_build,
            "vcenter_build": self.vcenter_build,
            "hyperv_config_version": self.hyperv_config_version,
            "vmx_features": sorted(self.vmx_features) if self.vmx_features is not None else None,
        }

    def merged(self, other: HostStack | None) -> HostStack:
        """This stack with ``other``'s known fields filling the unknown ones."""
        if other is None:
            return self
        mine, theirs = self.to_dict(), other.to_dict()
        combined = {
            k: (
                v
                if v not in ("", [], {}, None) or (k == "vmx_features" and v is not None)
                else theirs[k]
            )
            for k, v in mine.items()
        }
        return HostStack.from_dict(combined)

    @classmethod
    def from_dict(cls, data: dict | None) -> HostStack:
        """Validate an upload's or the database's stack fields; StackError names the bad one."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise StackError("expected an object of stack fields")
        unknown = (
            set(data)
            - set(_TEXT_FIELDS)
            - {
                "qemu_machine_types",
                "vulnerabilities",
                "vmx_features",
                "vmx_msrs",
            }
        )
        if unknown:
            raise StackError(f"unknown field(s) {', '.join(sorted(unknown))}")
        values: dict = {}
        for name, limit in _TEXT_FIELDS.items():
            value = data.get(name) or ""
            if not isinstance(value, str):
                raise StackError(f"{name}: expected text")
            value = value.strip()
            if len(value) > limit:
                raise StackError(f"{name}: longer than {limit} characters")
            values[name] = value
        for name in ("qemu_version", "libvirt_version"):
            if values[name] and parse_version(values[name]) is None:
                raise StackError(f"{name}: {values[name]!r} holds no x.y version number")
        if values["microcode"] and not _MICROCODE.match(values["microcode"]):
            raise StackError(f"microcode: {values['microcode']!r} is not a hex revision")
        if values["microcode"]:
            values["microcode"] = hex(int(values["microcode"], 16))
        machines = data.get("qemu_machine_types") or []
        if not isinstance(machines, list) or not all(isinstance(m, str) for m in machines):
            raise StackError("qemu_machine_types: expected a list of machine type names")
        if len(machines) > MAX_MACHINE_TYPES:
            raise StackError(f"qemu_machine_types: more than {MAX_MACHINE_TYPES} entries")
        vulnerabilities = data.get("vulnerabilities") or {}
        if not isinstance(vulnerabilities, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= 512
            for k, v in vulnerabilities.items()
        ):
            raise StackError("vulnerabilities: expected an object of name -> status text")
        if len(vulnerabilities) > MAX_VULNERABILITIES:
            raise StackError(f"vulnerabilities: more than {MAX_VULNERABILITIES} entries")
        vmx = data.get("vmx_features")
        if vmx is not None:
            if not isinstance(vmx, list) or not all(
                isinstance(n, str) and n.startswith("vmx-") and len(n) <= 64 for n in vmx
            ):
                raise StackError("vmx_features: expected a list of vmx-* names")
            vmx = frozenset(vmx)
        msrs = data.get("vmx_msrs")
        if msrs:
            vmx = (vmx or frozenset()) | (_vmx_from_msrs(msrs) or frozenset())
        return cls(
            qemu_machine_types=tuple(sorted({m.strip() for m in machines if m.strip()})),
            vulnerabilities=tuple(sorted((k, v.strip()) for k, v in vulnerabilities.items())),
            vmx_features=vmx,
            **values,
        )

    def changes_from(self, before: HostStack) -> list[dict]:
        """What changed from ``before`` to this stack: one entry per field, with both values.
        A field only one of the two reports states is unknown on the other side, not changed."""
        found = []
        old, new = before.to_dict(), self.to_dict()
        for key in (
            "microcode",
            "kernel_release",
            "qemu_version",
            "libvirt_version",
            "esxi_build",
            "vcenter_build",
            "hyperv_config_version",
        ):
            if old[key] != new[key] and old[key] and new[key]:
                found.append({"field": key, "before": old[key], "after": new[key]})
        if (
            before.kernel_cmdline
            and self.kernel_cmdline
            and before.cmdline_options != self.cmdline_options
        ):
            found.append(
                {
                    "field": "kernel_cmdline",
                    "before": before.cmdline_options,
                    "after": self.cmdline_options,
                }
            )
        if (
            old["vulnerabilities"] != new["vulnerabilities"]
            and old["vulnerabilities"]
            and new["vulnerabilities"]
        ):
            changed = sorted(
                k
                for k in set(old["vulnerabilities"]) | set(new["vulnerabilities"])
                if old["vulnerabilities"].get(k) != new["vulnerabilities"].get(k)
            )
            found.append({"field": "vulnerabilities", "before": None, "after": changed})
        if before.vmx_features is not None and self.vmx_features is not None:
            lost = sorted(before.vmx_features - self.vmx_features)
            gained = sorted(self.vmx_features - before.vmx_features)
            if lost or gained:
                found.append({"field": "vmx_features", "before": lost, "after": gained})
        return found


def _vmx_from_msrs(msrs) -> frozenset[str] | None:
    """``{"0x480": "0x...", ...}`` (what ``cpukb report`` reads from /dev/cpu/0/msr) decoded
    into vmx-* names (``vmx.decode``)."""
    if not isinstance(msrs, dict) or len(msrs) > 32:
        raise StackError("vmx_msrs: expected an object of MSR index -> value (hex text)")
    values = {}
    for index, value in msrs.items():
        try:
            number, parsed = int(str(index), 0), int(str(value), 0)
        except ValueError:
            raise StackError(f"vmx_msrs: {index!r}: {value!r} is not a number") from None
        if number not in vmx.VMX_MSRS or not 0 <= parsed < 1 << 64:
            raise StackError(f"vmx_msrs: {index!r} is not a VMX capability MSR (0x480-0x491)")
        values[number] = parsed
    return vmx.decode(values)


def describe_versions(stack: HostStack | None) -> str:
    if stack is None:
        return "unknown"
    return f"QEMU {show(stack.qemu)}, libvirt {show(stack.libvirt)}"


_MACHINE = re.compile(r"^pc-(?:i440fx|q35)-(\d+)\.(\d+)$")


def stack_from_libvirt_xml(text: str) -> dict:
    """The stack facts a ``virsh capabilities`` or ``virsh domcapabilities`` upload states:
    the microcode revision (capabilities ``<host><cpu><microcode version='N'/>``, decimal), the
    x86_64 machine types (``<guest><arch name='x86_64'><machine>`` / domcapabilities
    ``<machine>``), and the QEMU release those imply: QEMU adds one ``pc-i440fx-X.Y`` and
    ``pc-q35-X.Y`` machine type per release (hw/i386/pc_piix.c, pc_q35.c), so the newest one
    names the x.y of the QEMU that lists it (micro release unknown: ``X.Y.0``; distribution
    machine types such as ``pc-q35-rhel9.2.0`` imply nothing).  Empty for other texts."""
    import defusedxml.ElementTree as SafeET

    if "<capabilities" not in text and "<domainCapabilities" not in text:
        return {}
    try:
        root = SafeET.fromstring(text.strip())
    except Exception:  # noqa: BLE001 - the decoder reports malformed XML itself
        return {}
    found: dict = {}
    machines: list[str] = []
    if root.tag == "capabilities":
        microcode = root.find("host/cpu/microcode")
        if microcode is not None and str(microcode.get("version", "")).isdigit():
            found["microcode"] = hex(int(microcode.get("version")))
        for guest in root.findall("guest"):
            arch = guest.find("arch")
            if arch is not None and arch.get("name") == "x86_64":
                machines += [m.text.strip() for m in arch.findall("machine") if m.text]
    elif root.tag == "domainCapabilities":
        machine = root.find("machine")
        if machine is not None and machine.text:
            machines.append(machine.text.strip())
    if machines:
        found["qemu_machine_types"] = sorted(set(machines))[:MAX_MACHINE_TYPES]
        versions = [(int(m[1]), int(m[2])) for m in map(_MACHINE.match, machines) if m]
        if versions and root.tag == "capabilities":
            newest = max(versions)
            found["qemu_version"] = f"{newest[0]}.{newest[1]}.0"
    return found
