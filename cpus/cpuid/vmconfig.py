"""A VM's real guest CPU, read from the configuration its hypervisor runs it with.

``parse(text, format=None)`` reads one VM definition and returns a ``VmCpu``: the guest CPU as
a string ``compat.parse_guest_cpu`` accepts, the hypervisor, and notes.  Formats:

``libvirt``   ``virsh dumpxml`` (libvirt's domain XML format, https://libvirt.org/formatdomain.html
              "CPU model and topology"), including the live XML of a running domain, where
              libvirt has replaced ``host-model`` by the expanded ``custom`` model it started the
              guest with (libvirt src/qemu/qemu_process.c ``qemuProcessUpdateGuestCPU``).
``qemu``      a QEMU command line, space-separated or NUL-separated as in ``/proc/PID/cmdline``
              (QEMU docs/system/invocation ``-cpu model[,feature=on|off][,+f][,-f]``).
``proxmox``   ``qm config VMID`` output (Proxmox VE qm.conf(5): ``cpu: [cputype=]<type>
              [,flags=<+f;-g>][,hidden=<1|0>][,phys-bits=<N|host>]`` and ``args:``), the
              built-in types as qemu-server PVE/QemuServer/CPUConfig.pm defines them.
``kubevirt``  a KubeVirt VirtualMachine or VirtualMachineInstance, YAML or JSON
              (``spec.template.spec.domain.cpu`` / ``spec.domain.cpu``: ``model``, ``features``
              with ``name`` and ``policy``; KubeVirt docs "Virtual hardware: CPU model").
``vmware``    a VMware per-VM EVC mode: the mode key (``intel-skylake``) or vCenter name, as
              ``key: value`` (``evcModeKey``, ``minRequiredEVCModeKey``, ``evc``) or alone.

Every setting we cannot translate exactly (an unknown option, a feature whose presence depends
on the host, a custom model defined elsewhere) is an ``Issue`` with its line (for a command
line: the argument number) and ``parse`` raises ``VmConfigError`` listing all of them: it never
guesses.  Settings that do not change the CPUID a guest sees (topology, caches, Hyper-V
enlightenments, KVM paravirtual leaves) are listed as notes.

Pure core: no Django.
"""

from __future__ import annotations

import re
import shlex
import xml.sax.handler
from dataclasses import dataclass, field

import defusedxml.sax
import yaml

from . import guest_models
from .compat import GuestCpuError, parse_guest_cpu
from .table import TABLE

# Each format and the engine hypervisor that runs it (a key of the policy registry,
# cpus/cpuid/policies): the VM's verdicts are that hypervisor's.
HYPERVISOR_OF_FORMAT = {
    "libvirt": "kvm",
    "qemu": "kvm",
    "proxmox": "kvm",
    "kubevirt": "kvm",
    "vmware": "vmware",
}
FORMATS = tuple(HYPERVISOR_OF_FORMAT)
# Limit on the text we read (a domain XML is a few KiB; a KubeVirt VM rarely above 50 KiB).
MAX_BYTES = 1_000_000
# KVM paravirtual leaves (0x40000000..) and Hyper-V enlightenments: KVM provides them itself on
# any host (Linux arch/x86/kvm/cpuid.c __do_cpuid_func KVM_CPUID_FEATURES; QEMU
# target/i386/kvm/kvm.c hyperv features), so they do not depend on the host CPU.  The same holds
# for CPUID.1:ECX[31] "hypervisor", which QEMU sets for every KVM guest (target/i386/kvm/kvm.c
# kvm_arch_get_supported_cpuid: CPUID_EXT_HYPERVISOR).
_HYPERVISOR_PREFIXES = ("hv-", "hv_", "kvm-", "kvm_", "kvmclock")
# QEMU -cpu properties that change identity or cache/topology reporting, not feature bits.
_QEMU_IDENTITY = frozenset(
    {
        "level",
        "xlevel",
        "xlevel2",
        "min-level",
        "min-xlevel",
        "model-id",
        "family",
        "model",
        "stepping",
        "l3-cache",
        "host-cache-info",
        "cpuid-0xb",
        "legacy-cache",
        "check",
        "enforce",
        "kvm",
        "hv-vendor-id",
        "ucode-rev",
        "full-cpuid-auto-level",
        "x-intel-pt-auto-level",
    }
)
# libvirt <cpu> children that do not change the guest's CPUID features.
_LIBVIRT_IGNORED = frozenset({"topology", "cache", "numa"})
# qemu-server's allowed per-VM flags (CPUConfig.pm $cpu_fmt flags pattern) are plain QEMU names.
_POLICY_SIGN = {"require": "+", "force": "+", "disable": "-", "forbid": "-"}


@dataclass(frozen=True)
class Issue:
    """A setting we cannot translate: ``line`` is 1-based (argument number for a command line)."""

    line: int | None
    setting: str
    message: str

    def to_dict(self) -> dict:
        return {"line": self.line, "setting": self.setting, "message": self.message}

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.setting}: {self.message}"


class VmConfigError(ValueError):
    """The VM definition cannot be read, or has settings we will not guess (``issues``)."""

    def __init__(self, message: str, issues: list[Issue] | None = None):
        self.issues = list(issues or [])
        self.summary = message
        detail = "; ".join(str(issue) for issue in self.issues)
        super().__init__(f"{message}: {detail}" if detail else message)


@dataclass(frozen=True)
class VmCpu:
    """The guest CPU a VM runs with, as ``compat.check`` takes it."""

    format: str
    hypervisor: str
    guest_cpu: str
    name: str = ""
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        return {
            "format": self.format,
            "hypervisor": self.hypervisor,
            "guest_cpu": self.guest_cpu,
            "name": self.name,
            "notes": list(self.notes),
        }


class _Builder:
    """Collects the guest CPU string's parts, the notes and the issues of one parse."""

    def __init__(self, fmt: str):
        self.format = fmt
        self.model: str | None = None
        self.options: list[str] = []
        self.features: dict[str, str] = {}
        self.notes: list[str] = []
        self.issues: list[Issue] = []
        self.name = ""

    def issue(self, line: int | None, setting: str, message: str) -> None:
        self.issues.append(Issue(line, setting, message))

    def feature(self, line: int | None, name: str, sign: str, vocabulary: str = "qemu") -> None:
        lowered = name.strip().lower()
        if lowered.startswith(_HYPERVISOR_PREFIXES) or lowered == "hypervisor":
            self.notes.append(
                f"{name}: provided by the hypervisor itself on every host (paravirtual or "
                "Hyper-V enlightenment), not a host CPU feature; not compared"
            )
            return
        feature = TABLE.lookup(name, vocabulary) or TABLE.lookup(name)
        if feature is None:
            self.issue(line, name, f"unknown CPU feature name in the {vocabulary} vocabulary")
            return
        self.features[feature.name] = sign

    def result(self) -> VmCpu:
        if self.issues:
            raise VmConfigError(
                f"cannot read the guest CPU from this {self.format} definition", self.issues
            )
        if self.model is None:
            raise VmConfigError(f"no guest CPU found in this {self.format} definition")
        parts = [self.model, *self.options]
        parts += [f"{sign}{name}" for name, sign in sorted(self.features.items())]
        spec = ",".join(parts)
        try:
            parse_guest_cpu(spec)
        except GuestCpuError as error:
            raise VmConfigError(
                f"the guest CPU {spec!r} read from this {self.format} definition is not one we "
                f"model: {error}"
            ) from None
        hypervisor = HYPERVISOR_OF_FORMAT[self.format]
        return VmCpu(self.format, hypervisor, spec, self.name, tuple(self.notes))


# -- format detection ---------------------------------------------------------------------------


def detect_format(text: str) -> str:
    """Which of ``FORMATS`` a text is; ``VmConfigError`` when none fits."""
    stripped = text.lstrip()
    if stripped.startswith("<"):
        return "libvirt"
    if "kubevirt.io" in text and re.search(r"\bkind\b", text):
        return "kubevirt"
    if re.search(r"^(cpu|args|cores|sockets|memory|scsihw|boot|ostype|vmgenid):\s", text, re.M):
        return "proxmox"
    if (
        "\0" in text
        or re.search(r"(^|\s)-cpu(\s|=)", text)
        or re.search(r"qemu-(system|kvm)", text)
    ):
        return "qemu"
    if re.search(r"(?i)evc|^\s*(intel|amd)-[a-z0-9-]+\s*$", text, re.M):
        return "vmware"
    raise VmConfigError(
        "cannot tell the format of this VM definition: give format= one of " + ", ".join(FORMATS)
    )


def parse(text: str, fmt: str | None = None) -> VmCpu:
    """The guest CPU of one VM definition (``fmt`` one of ``FORMATS``, default: detected)."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise VmConfigError(f"the VM definition is larger than {MAX_BYTES} bytes")
    if not text.strip():
        raise VmConfigError("the VM definition is empty")
    fmt = fmt or detect_format(text)
    parser = _PARSERS.get(fmt)
    if parser is None:
        raise VmConfigError(f"unknown VM format {fmt!r}; use one of {', '.join(FORMATS)}")
    return parser(text)


# -- libvirt domain XML -------------------------------------------------------------------------


@dataclass
class _Node:
    tag: str
    attrs: dict
    line: int
    children: list[_Node] = field(default_factory=list)
    text: str = ""

    def find(self, tag: str) -> _Node | None:
        return next((child for child in self.children if child.tag == tag), None)


class _TreeHandler(xml.sax.handler.ContentHandler):
    """A small element tree with line numbers (ElementTree keeps none)."""

    def __init__(self):
        super().__init__()
        self.root: _Node | None = None
        self.stack: list[_Node] = []
        self._locator = None

    def setDocumentLocator(self, locator):  # noqa: N802 (SAX API)
        self._locator = locator

    def startElement(self, name, attrs):  # noqa: N802
        line = self._locator.getLineNumber() if self._locator else 0
        node = _Node(name, dict(attrs.items()), line)
        if self.stack:
            self.stack[-1].children.append(node)
        else:
            self.root = node
        self.stack.append(node)

    def endElement(self, name):  # noqa: N802
        self.stack.pop()

    def characters(self, content):
        if self.stack:
            self.stack[-1].text += content


def _xml_tree(text: str) -> _Node:
    handler = _TreeHandler()
    try:
        defusedxml.sax.parseString(text.encode("utf-8"), handler)
    except xml.sax.SAXParseException as error:
        raise VmConfigError(
            f"not well-formed XML at line {error.getLineNumber()}: {error.getMessage()}"
        ) from None
    except Exception as error:  # defusedxml refuses entities, DTDs and external references
        raise VmConfigError(f"refused XML: {error}") from None
    assert handler.root is not None
    return handler.root


def _libvirt_model(name: str) -> str | None:
    """The guest CPU spec of a libvirt model name: ``libvirt:Name`` when libvirt 9.0's cpu_map
    has it (libvirt checks the hosts against its own definition and the engine does the same:
    policies/kvm.py), else the QEMU model libvirt passes to ``-cpu``; None when neither has
    it."""
    model = guest_models.find(f"libvirt:{name}")
    if model is not None:
        return f"libvirt:{name}"
    model = guest_models.find(name)
    if model is None or model.source != "qemu":
        return None
    return name


def parse_libvirt(text: str) -> VmCpu:
    """``virsh dumpxml``: ``<domain type='kvm'>`` and its ``<cpu>`` element.

    ``mode='host-passthrough'`` (``migratable='off'`` keeps non-migratable features),
    ``mode='host-model'`` without ``<model>`` (an inactive definition: libvirt expands it at
    start), ``mode='custom'`` or a live host-model with ``<model>``: the model plus each
    ``<feature policy=... name=...>`` (require/force: on, disable/forbid: off; ``optional``
    depends on the host, so it is an issue), ``<model vendor_id=...>`` (the vendor the guest
    sees) and ``<maxphysaddr mode='passthrough'|'emulate' bits=N>``.  No ``<cpu>``: QEMU's
    default model for x86_64, ``qemu64`` (QEMU hw/i386/pc.c ``X86_CPU_TYPE_NAME("qemu64")``).
    """
    builder = _Builder("libvirt")
    root = _xml_tree(text)
    if root.tag != "domain":
        raise VmConfigError(f"the root element is <{root.tag}>, not <domain>: paste virsh dumpxml")
    domain_type = root.attrs.get("type", "")
    if domain_type not in ("kvm", "qemu"):
        builder.issue(
            root.line,
            f"domain type={domain_type!r}",
            "only QEMU/KVM domains are read (libvirt's kvm or qemu driver)",
        )
    if domain_type == "qemu":
        builder.notes.append("domain type='qemu' runs under TCG emulation, not KVM")
    name = root.find("name")
    builder.name = name.text.strip() if name is not None else ""
    cpu = root.find("cpu")
    if cpu is None:
        builder.model = "qemu64"
        builder.notes.append(
            "no <cpu> element: QEMU starts the guest with its default model qemu64"
        )
        return builder.result()
    mode = cpu.attrs.get("mode", "custom")
    model = cpu.find("model")
    if mode == "host-passthrough" or mode == "maximum":
        if mode == "maximum":
            builder.issue(
                cpu.line,
                "mode='maximum'",
                "QEMU's max model enables every feature KVM can offer, migratable or not: "
                "not modelled",
            )
        builder.model = "host-passthrough"
        if cpu.attrs.get("migratable") == "off":
            builder.options.append("migratable=off")
        elif cpu.attrs.get("migratable") not in (None, "on"):
            builder.issue(cpu.line, "migratable", f"use on or off, not {cpu.attrs['migratable']!r}")
    elif mode == "host-model" and (model is None or not model.text.strip()):
        builder.model = "host-model"
        builder.notes.append(
            "an inactive host-model definition: the guest gets the expansion of the host it "
            "starts on; paste the live XML (virsh dumpxml of the running domain) for the model "
            "it runs with"
        )
    elif mode in ("custom", "host-model"):
        if model is None:
            builder.issue(cpu.line, "<cpu mode='custom'>", "no <model> element")
        else:
            name_text = model.text.strip()
            builder.model = _libvirt_model(name_text)
            if builder.model is None:
                builder.issue(model.line, f"<model>{name_text}", "unknown CPU model")
            vendor_id = model.attrs.get("vendor_id")
            if vendor_id:
                builder.options.append(f"vendor={vendor_id}")
            if mode == "host-model":
                builder.notes.append(
                    "host-model with its expansion: read as the expanded model and features"
                )
        match = cpu.attrs.get("match", "exact")
        if mode == "custom" and match == "minimum":
            builder.issue(
                cpu.line,
                "match='minimum'",
                "the guest may get more than the listed model (libvirt: 'a better CPU may be "
                "provided'); paste the live XML of the running domain",
            )
        vendor = cpu.find("vendor")
        if vendor is not None:
            builder.notes.append(
                f"<vendor>{vendor.text.strip()}</vendor> only restricts the hosts the guest may "
                "start on (libvirt), it does not change the guest's vendor string"
            )
    else:
        builder.issue(cpu.line, f"mode={mode!r}", "unknown <cpu> mode")
    for child in cpu.children:
        if child.tag == "feature":
            policy = child.attrs.get("policy", "require")
            feature_name = child.attrs.get("name", "")
            if policy == "optional":
                builder.issue(
                    child.line,
                    f"<feature policy='optional' name='{feature_name}'>",
                    "on only if the host has it, so it depends on the host; paste the live XML "
                    "of the running domain, where libvirt has resolved it",
                )
            elif policy in _POLICY_SIGN:
                builder.feature(child.line, feature_name, _POLICY_SIGN[policy], "libvirt")
            else:
                builder.issue(child.line, f"policy={policy!r}", "unknown feature policy")
        elif child.tag == "maxphysaddr":
            _libvirt_physaddr(builder, child)
        elif child.tag in _LIBVIRT_IGNORED:
            builder.notes.append(f"<{child.tag}> does not change the guest's CPU features")
        elif child.tag not in ("model", "vendor"):
            builder.issue(child.line, f"<{child.tag}>", "unknown <cpu> element")
    return builder.result()


def _libvirt_physaddr(builder: _Builder, node: _Node) -> None:
    """``<maxphysaddr mode='passthrough'/>`` is QEMU ``host-phys-bits=on``;
    ``mode='emulate' bits='N'`` is ``phys-bits=N`` (libvirt src/qemu/qemu_command.c
    ``qemuBuildCpuModelArgStr``)."""
    mode = node.attrs.get("mode")
    if mode == "passthrough":
        if "limit" in node.attrs:
            builder.issue(node.line, "maxphysaddr limit", "host-phys-bits-limit is not modelled")
        builder.options.append("host-phys-bits=on")
    elif mode == "emulate" and node.attrs.get("bits", "").isdigit():
        builder.options.append(f"phys-bits={node.attrs['bits']}")
    else:
        builder.issue(node.line, "<maxphysaddr>", f"unknown mode {mode!r} or missing bits")


# -- QEMU command line --------------------------------------------------------------------------


def _arguments(text: str) -> list[str]:
    if "\0" in text:
        return [arg for arg in text.split("\0") if arg != ""]
    try:
        return shlex.split(text)
    except ValueError as error:
        raise VmConfigError(f"cannot split the command line: {error}") from None


def parse_qemu(text: str) -> VmCpu:
    """``qemu-system-x86_64 ... -cpu MODEL[,props]``: the model (``host`` is passthrough) and
    its properties: ``+f``/``-f``, ``f=on|off``, ``phys-bits``, ``host-phys-bits``,
    ``migratable``, ``tsc-frequency``, ``vendor`` (QEMU target/i386/cpu.c
    ``x86_cpu_properties`` and ``x86_cpu_parse_featurestr``).  No ``-cpu``: qemu64."""
    builder = _Builder("qemu")
    args = _arguments(text)
    positions = [i for i, arg in enumerate(args) if arg in ("-cpu", "--cpu")]
    if len(positions) > 1:
        for index in positions:
            builder.issue(index + 1, "-cpu", "given more than once")
        return builder.result()
    if "-name" in args[:-1]:
        builder.name = args[args.index("-name") + 1].split(",")[0].removeprefix("guest=")
    if not positions:
        builder.model = "qemu64"
        builder.notes.append("no -cpu argument: QEMU's default x86_64 model qemu64")
        return builder.result()
    index = positions[0]
    if index + 1 >= len(args):
        builder.issue(index + 1, "-cpu", "no value")
        return builder.result()
    _qemu_cpu_value(builder, args[index + 1], index + 2)
    accel = " ".join(args)
    if "kvm" not in accel and "-enable-kvm" not in args:
        builder.notes.append("no KVM acceleration on this command line (TCG?)")
    return builder.result()


def _qemu_cpu_value(builder: _Builder, value: str, line: int, generic_vendor: bool = True) -> None:
    model, *props = value.split(",")
    if model == "host":
        builder.model = "host-passthrough"
    elif model == "max":
        builder.issue(
            line,
            "-cpu max",
            "max enables every feature KVM can offer, migratable or not: not modelled",
        )
    elif guest_models.find(model) is None or guest_models.find(model).source != "qemu":
        builder.issue(line, f"-cpu {model}", "unknown QEMU CPU model")
    else:
        builder.model = model
    for prop in props:
        if not prop:
            continue
        key, equals, val = prop.partition("=")
        if prop[0] in "+-" and not equals:
            builder.feature(line, prop[1:], prop[0])
        elif key in ("phys-bits", "host-phys-bits", "migratable", "tsc-frequency", "vendor"):
            builder.options.append(prop)
        elif key in _QEMU_IDENTITY or key.startswith(_HYPERVISOR_PREFIXES):
            builder.notes.append(f"{prop}: does not change the CPU features compared")
        elif equals and val in ("on", "off", "true", "false", "yes", "no"):
            builder.feature(line, key, "+" if val in ("on", "true", "yes") else "-")
        elif not equals:
            builder.feature(line, key, "+")
        else:
            builder.issue(line, prop, "unknown -cpu property")


# -- Proxmox qm config --------------------------------------------------------------------------


def parse_proxmox(text: str) -> VmCpu:
    """``qm config VMID``: the ``cpu:`` line (``cputype`` default ``kvm64``, qm.conf(5)) and
    ``args:``.  Built-in types (``x86-64-v2-AES``, ``kvm64``) are the Proxmox models of
    ``guest_models`` (QEMU model plus the flags qemu-server adds); ``flags=+a;-b`` are QEMU
    names; ``phys-bits=host`` is ``host-phys-bits=on``; ``hidden=1`` (``kvm=off``) only hides
    the KVM signature.  ``custom-NAME`` types live in /etc/pve/virtual-guest/cpu-models.conf,
    which ``qm config`` does not show: an issue.  Snapshot sections (``[name]``) are skipped."""
    builder = _Builder("proxmox")
    cpu_line = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("["):
            break
        if not line or line.startswith("#"):
            continue
        key, colon, value = line.partition(":")
        if not colon:
            builder.issue(number, line[:40], "not a 'key: value' line")
            continue
        key, value = key.strip(), value.strip()
        if key == "name":
            builder.name = value
        elif key == "cpu":
            cpu_line = (number, value)
        elif key == "args" and re.search(r"(^|\s)-cpu(\s|=)", value):
            builder.issue(
                number,
                "args: -cpu",
                "a second -cpu after the one qemu-server builds from cpu:; which one QEMU uses "
                "is not something we guess",
            )
        elif key == "args":
            builder.notes.append("args: has no -cpu, so it does not change the guest CPU")
    if cpu_line is None:
        builder.model = "proxmox:kvm64"
        builder.notes.append("no cpu: line: qemu-server's default type kvm64 (+lahf_lm, +sep)")
        return builder.result()
    number, value = cpu_line
    fields = [part.strip() for part in value.split(",") if part.strip()]
    for position, part in enumerate(fields):
        key, equals, val = part.partition("=")
        if not equals and position == 0:
            key, val = "cputype", part
        if key == "cputype":
            _proxmox_type(builder, number, val)
        elif key == "flags":
            for flag in (f for f in val.split(";") if f):
                if flag[0] not in "+-":
                    builder.issue(number, flag, "a Proxmox flag starts with + or -")
                else:
                    builder.feature(number, flag[1:], flag[0])
        elif key == "phys-bits":
            if val == "host":
                builder.options.append("host-phys-bits=on")
            elif val.isdigit():
                builder.options.append(f"phys-bits={val}")
            else:
                builder.issue(number, part, "phys-bits is a number or host")
        elif key == "hidden":
            builder.notes.append("hidden=1 hides the KVM signature only (kvm=off)")
        elif key in ("hv-vendor-id",):
            builder.notes.append(f"{key}: Hyper-V enlightenment, not a CPU feature")
        elif key == "reported-model":
            builder.issue(number, part, "reported-model belongs to a custom model entry")
        else:
            builder.issue(number, part, "unknown cpu: option")
    return builder.result()


def _proxmox_type(builder: _Builder, number: int, name: str) -> None:
    if name.startswith("custom-"):
        builder.issue(
            number,
            f"cputype={name}",
            "a custom model from /etc/pve/virtual-guest/cpu-models.conf, which qm config does "
            "not include: give its reported-model and flags as a qm config cpu: line",
        )
        return
    if name == "host":
        builder.model = "host-passthrough"
        return
    if name == "max":
        builder.issue(number, "cputype=max", "max is not modelled")
        return
    proxmox = next((m for m in guest_models.models_of("proxmox") if name in m.names), None)
    if proxmox is not None:
        builder.model = f"proxmox:{proxmox.name}"
        return
    model = guest_models.find(name)
    if model is None or model.source != "qemu":
        builder.issue(number, f"cputype={name}", "unknown Proxmox CPU type")
        return
    builder.model = name
    if name.startswith("Opteron_"):
        # qemu-server get_pve_cpu_flags: -rdtscp for every Opteron model.
        builder.features.setdefault("rdtscp", "-")
        builder.notes.append("qemu-server removes rdtscp from Opteron models")


# -- KubeVirt -----------------------------------------------------------------------------------


def _yaml_tree(text: str):
    """YAML (or JSON, a subset) as composed nodes: they keep line numbers."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise VmConfigError(
            f"not valid YAML or JSON{where}: {getattr(error, 'problem', error)}"
        ) from None


def _get(node, key: str):
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return v
    return None


def _line(node) -> int:
    return node.start_mark.line + 1


def parse_kubevirt(text: str) -> VmCpu:
    """A KubeVirt ``VirtualMachine`` (``spec.template.spec.domain.cpu``) or
    ``VirtualMachineInstance`` (``spec.domain.cpu``): ``model`` (``host-passthrough``,
    ``host-model`` or a libvirt model name; absent: the cluster's default, ``host-model``
    unless the KubeVirt CR sets ``spec.configuration.cpuModel``) and ``features`` (``name``,
    ``policy`` default ``require``; kubevirt pkg/virt-launcher/virtwrap/converter)."""
    builder = _Builder("kubevirt")
    root = _yaml_tree(text)
    if root is None:
        raise VmConfigError("the document is empty")
    kind_node = _get(root, "kind")
    kind = kind_node.value if isinstance(kind_node, yaml.ScalarNode) else None
    spec = _get(root, "spec")
    if kind == "VirtualMachine":
        spec = _get(_get(spec, "template"), "spec")
    elif kind != "VirtualMachineInstance":
        raise VmConfigError(
            f"kind {kind!r}: give a KubeVirt VirtualMachine or VirtualMachineInstance"
        )
    name = _get(_get(root, "metadata"), "name")
    builder.name = name.value if isinstance(name, yaml.ScalarNode) else ""
    domain = _get(spec, "domain")
    if domain is None:
        raise VmConfigError(f"this {kind} has no domain (spec.domain)")
    cpu = _get(domain, "cpu")
    model = _get(cpu, "model")
    if model is None:
        builder.model = "host-model"
        builder.notes.append(
            "no cpu.model: KubeVirt's default host-model, unless the cluster's KubeVirt CR sets "
            "spec.configuration.cpuModel"
        )
    elif model.value in ("host-passthrough", "host-model"):
        builder.model = model.value
    else:
        builder.model = _libvirt_model(str(model.value))
        if builder.model is None:
            builder.issue(_line(model), f"model: {model.value}", "unknown CPU model")
    features = _get(cpu, "features")
    for item in features.value if isinstance(features, yaml.SequenceNode) else []:
        feature_name = _get(item, "name")
        policy = _get(item, "policy")
        policy_value = policy.value if policy is not None else "require"
        if feature_name is None:
            builder.issue(_line(item), "features[]", "a feature without a name")
        elif policy_value == "optional":
            builder.issue(
                _line(item),
                f"{feature_name.value} policy: optional",
                "on only if the node has it: depends on the host",
            )
        elif policy_value in _POLICY_SIGN:
            builder.feature(_line(item), feature_name.value, _POLICY_SIGN[policy_value], "libvirt")
        else:
            builder.issue(_line(policy), f"policy: {policy_value}", "unknown feature policy")
    if cpu is not None:
        for key, _value in cpu.value:
            if key.value not in (
                "model",
                "features",
                "cores",
                "sockets",
                "threads",
                "numa",
                "dedicatedCpuPlacement",
                "isolateEmulatorThread",
                "realtime",
                "maxSockets",
            ):
                builder.issue(_line(key), f"cpu.{key.value}", "unknown cpu setting")
    return builder.result()


# -- VMware per-VM EVC --------------------------------------------------------------------------

_VMWARE_KEYS = ("evcmodekey", "minrequiredevcmodekey", "currentevcmodekey", "evc", "evcmode")


def parse_vmware(text: str) -> VmCpu:
    """A per-VM EVC mode (vSphere 6.7 and later, hardware version 14+): the mode key
    (``intel-skylake``, the vSphere API's ``EVCMode.key``) or the vCenter display name, alone
    or as ``evcModeKey: ...`` / ``minRequiredEVCModeKey = ...``.  A .vmx stores the per-VM EVC
    as ``featMask.vm.cpuid.*`` masks, not the mode key: paste the key vCenter shows."""
    builder = _Builder("vmware")
    by_name = {v.lower(): k for k, v in guest_models.evc_vcenter_names().items()}
    keys = set(guest_models.evc_mode_keys())
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.lower().startswith("featmask."):
            builder.issue(
                number,
                line.split("=")[0].strip(),
                "per-VM EVC masks in a .vmx: give the EVC mode key from vCenter instead",
            )
            continue
        key, sep, value = (
            line.partition(":")
            if ":" in line
            else line.partition("=")
            if "=" in line
            else ("", "", line)
        )
        value = value.strip().strip('"').strip("'")
        if sep and key.strip().lower() not in _VMWARE_KEYS:
            builder.issue(number, key.strip(), "unknown setting")
            continue
        mode = value if value in keys else by_name.get(value.lower())
        if mode is None:
            builder.issue(number, value, "unknown EVC mode key or vCenter name")
        elif builder.model and builder.model != mode:
            builder.issue(number, value, f"a second EVC mode after {builder.model}")
        else:
            builder.model = mode
    return builder.result()


_PARSERS = {
    "libvirt": parse_libvirt,
    "qemu": parse_qemu,
    "proxmox": parse_proxmox,
    "kubevirt": parse_kubevirt,
    "vmware": parse_vmware,
}
