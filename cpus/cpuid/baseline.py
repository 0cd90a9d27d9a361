"""Pool baselines: the one guest CPU every host of a pool can run, and its names.

``compute(reports)`` intersects the hosts' features with the merge rules below, then fits named
models to the result: the best QEMU model and the best libvirt model (each with the ``+``/``-``
features that make it exact), a libvirt model that needs no ``-`` feature (for OpenStack Nova),
the highest VMware EVC mode per vendor, and the x86-64 psABI level.  Mixed Intel/AMD pools are
the point, not an error.  docs/compatibility.md states every rule with its reasoning.

Merge rules (over ``TABLE`` bits):

* intersection of the features each host *shows present*; a feature a name-based report does not
  name is unknown there, so it is not in the baseline (it is listed as ``unknown`` instead);
* the ``*_NO`` "not affected" bits (``mds_no``, ``taa_no``, ``amd_ssb_no``...) intersect like
  every other bit: a pool is unaffected only if every host is;
* mitigation-present bits (``md_clear``, ``spec_ctrl``, ``amd_ssbd``...) also intersect: a guest
  told to rely on VERW clearing buffers would be unprotected on a host without that microcode,
  and QEMU refuses to start a guest whose model asks for a bit the host lacks; a note names the
  hosts that lack a mitigation the others have;
* left out: features that cannot migrate (``invtsc``, ``xsaves``), host power/monitoring bits,
  OS-state bits and the hypervisor bit, features hypervisors never virtualise (``NOT_VIRTUALISED``)
  and nested virtualisation (``vmx``, ``svm`` and the SVM sub-features), which is opt-in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from . import guest_models
from .guest_models import GuestModel
from .result import DecodedDump, Identity
from .table import TABLE

# QEMU's guest physical address width for named models unless host-phys-bits=on
# (TCG_PHYS_ADDR_BITS); libvirt inherits it.
QEMU_DEFAULT_PHYS_BITS = 40


def _mask(names: Iterable[str]) -> int:
    return TABLE.mask_of(TABLE.by_name[name] for name in names)


# Bits KVM never gives a guest (KVM_GET_SUPPORTED_CPUID leaves them 0: Linux
# arch/x86/kvm/cpuid.c), or that describe the host's topology, which the hypervisor sets from the
# guest's own vCPU topology (ht, cmp_legacy).  They are real host features, but a guest can never
# see them, so a migratable baseline must not ask for them.
NOT_VIRTUALISED = _mask(
    """
    monitor ht dtes64 ds_cpl smx est tm2 cid sdbg xtpr dca pn dts acpi tm ia64 pbe
    cmp_legacy extapic ibs skinit wdt lwp tce nodeid_msr perfctr_nb bpext ptsc perfctr_llc
    mwaitx mp cvt16 irperf rdpru amd_ppin cppc brs
    sgx sgx_lc sgx1 sgx2 sgx_exinfo sgx_debug sgx_mode64 sgx_provisionkey sgx_tokenkey sgx_kss
    intel_pt intel_pt_lip tme pconfig hybrid_cpu cqm rdt_a
    """.split()
)
# Nested virtualisation: the VMX/SVM bits and the SVM feature leaf that only matters with svm.
NESTED = _mask(["vmx", "svm"]) | TABLE.mask_of(f for f in TABLE if f.leaf == 0x8000000A)
VMX_SVM = _mask(["vmx", "svm"])
NON_MIGRATABLE = TABLE.mask_of(f for f in TABLE if not f.migratable)
HOST_ONLY = TABLE.mask_of(f for f in TABLE if f.kind != "feature")
# Every bit a migratable baseline may contain.
BASELINE_UNIVERSE = (
    TABLE.cpu_feature_mask & ~HOST_ONLY & ~NON_MIGRATABLE & ~NOT_VIRTUALISED & ~NESTED
)
# The bits a guest can be given at all (passthrough shows these of the source).
GUEST_VISIBLE = TABLE.cpu_feature_mask & ~HOST_ONLY
# Features whose state XSAVE manages (YMM, MPX bounds, AVX-512 opmask/ZMM, PKRU, AMX tiles, LBR)
# and the XSAVE instructions themselves: the destination must have room for that state.
XSAVE_STATE = _mask(
    "xsave xsaveopt xsavec xgetbv1 xsaves xfd avx mpx pku arch_lbr".split()
) | TABLE.mask_of(f for f in TABLE if f.name.startswith(("avx512", "amx_")))
# KVM emulates these for any guest whatever the host has (in-kernel LAPIC: x2APIC and the
# TSC-deadline timer; leaf 6 EAX is fixed to ARAT), so a named model keeps them on any host.
KVM_EMULATED = _mask(["x2apic", "tsc_deadline_timer", "arat"])
INVTSC = TABLE.by_name["invtsc"].mask
MITIGATIONS = _mask(
    """
    md_clear spec_ctrl intel_stibp spec_ctrl_ssbd flush_l1d srbds_ctrl amd_ibpb amd_ibrs
    amd_stibp amd_ssbd virt_ssbd sbpb ibpb_brtype
    """.split()
)
VENDOR_KEYS = {"GenuineIntel": "intel", "AuthenticAMD": "amd", "HygonGenuine": "hygon"}
_NAMED_IN = {
    vocabulary: TABLE.mask_of(f for f in TABLE if f.name_in(vocabulary))
    for vocabulary in ("qemu", "libvirt", "linux")
}


@dataclass(frozen=True, slots=True)
class HostView:
    """What the engine needs of a host report; ``DecodedDump`` is accepted wherever this is."""

    identity: Identity
    feature_mask: int
    unknown_mask: int = 0
    absent_means_unknown: bool = False
    warnings: tuple[str, ...] = ()
    label: str = ""

    @property
    def vendor(self) -> str:
        return self.identity.vendor

    @property
    def known_absent_unknown(self) -> int:
        """Features whose state the report cannot tell (unknown and not shown present)."""
        return self.unknown_mask & ~self.feature_mask


def host_view(report: HostView | DecodedDump, label: str = "") -> HostView:
    if isinstance(report, HostView):
        return report
    if isinstance(report, DecodedDump):
        return HostView(
            identity=report.identity,
            feature_mask=report.feature_mask,
            unknown_mask=report.unknown_mask,
            absent_means_unknown=report.absent_means_unknown,
            warnings=tuple(report.warnings),
            label=label,
        )
    raise TypeError(f"expected a DecodedDump or HostView, not {type(report).__name__}")


def names(mask: int, vocabulary: str = "canonical") -> list[str]:
    """Sorted names of a mask's features; features without a name there are left out."""
    return sorted(name for f in TABLE.from_mask(mask) if (name := f.name_in(vocabulary)))


@dataclass(frozen=True, slots=True)
class FittedModel:
    """A named model plus the ``+``/``-`` features that turn it into exactly the baseline.

    ``feature_mask`` is what the guest gets (the baseline's features this vocabulary can name);
    ``unexpressible`` are baseline features the vocabulary has no name for.
    """

    model: GuestModel
    vocabulary: str
    plus: int
    minus: int
    feature_mask: int
    unexpressible: int

    @property
    def name(self) -> str:
        return self.model.display_name

    @property
    def plus_names(self) -> list[str]:
        return names(self.plus, self.vocabulary)

    @property
    def minus_names(self) -> list[str]:
        return names(self.minus, self.vocabulary)

    @property
    def spec(self) -> str:
        """``Opteron_G2,+vme,-rdtscp,-svm`` in this model's vocabulary."""
        parts = [self.name, *(f"+{n}" for n in self.plus_names)]
        parts += [f"-{n}" for n in self.minus_names]
        return ",".join(parts)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "source": self.model.source,
            "model": self.model.name,
            "vendor": self.model.vendor,
            "plus": self.plus_names,
            "minus": self.minus_names,
            "spec": self.spec,
            "unexpressible": names(self.unexpressible),
        }


def fit(
    feature_mask: int,
    source: str,
    *,
    vendor: str | None = None,
    allow_minus: bool = True,
) -> FittedModel | None:
    """The best model of ``source`` ('qemu' or 'libvirt') for a feature set.

    Every model fits once its extra features are disabled, so models are ranked, first to last:

    1. a model of ``vendor`` (the pool's majority vendor), then vendor-neutral models, then the
       other vendor's: the model's vendor string is what the guest sees, and on hosts of the
       other vendor KVM must emulate SYSENTER/SYSCALL differences, so it should be the minority;
    2. fewest edits (``+`` plus ``-`` features), as libvirt's own model choice does;
    3. most shared features (fewest ``+``): of equally distant models, the later generation;
    4. not deprecated, then the name, so the answer is deterministic.

    Models that are not migration-safe never qualify.  With ``allow_minus=False`` only models
    that are subsets of the set count (for tools that cannot disable features).
    """
    named = _NAMED_IN[source]
    target = feature_mask & named
    best_key = None
    best = None
    for model in guest_models.models_of(source):
        if not model.migration_safe:
            continue
        plus = target & ~model.feature_mask
        minus = model.feature_mask & ~target
        if minus and not allow_minus:
            continue
        vendor_rank = 0 if model.vendor == vendor else 1 if model.vendor is None else 2
        edits = plus.bit_count() + minus.bit_count()
        key = (vendor_rank, edits, plus.bit_count(), model.deprecated, model.display_name)
        if best_key is None or key < best_key:
            best_key = key
            best = (model, plus, minus)
    if best is None:
        return None
    model, plus, minus = best
    return FittedModel(model, source, plus, minus, target, feature_mask & ~named)


def evc_mode_for(feature_mask: int, vendor: str) -> GuestModel | None:
    """The highest EVC mode of ``vendor`` whose features the mask offers (None if none).

    Modes form a partial order by feature subset; the highest is a maximal supported mode, and
    of several maximal ones (only possible across a fork) the one with more features.
    """
    supported = [
        mode
        for mode in guest_models.models_of("vmware-evc")
        if mode.vendor == vendor and mode.feature_mask & ~feature_mask == 0
    ]
    maximal = [
        mode
        for mode in supported
        if not any(
            other is not mode and mode.feature_mask & ~other.feature_mask == 0
            for other in supported
        )
    ]
    return max(maximal, key=lambda m: m.feature_mask.bit_count(), default=None)


def x86_64_level(feature_mask: int) -> str | None:
    level = None
    for model in guest_models.models_of("x86-64-level"):
        if model.feature_mask & ~feature_mask:
            break
        level = model.name
    return level


def guest_phys_bits(phys_bits: int | None) -> int:
    """The guest address width a named model should use on hosts with this MAXPHYADDR."""
    if phys_bits is None:
        return QEMU_DEFAULT_PHYS_BITS
    return min(QEMU_DEFAULT_PHYS_BITS, phys_bits)


@dataclass(frozen=True)
class Baseline:
    """A pool's common guest CPU and its names (see the module docstring for the rules)."""

    hosts: int
    vendors: dict[str, int]
    feature_mask: int
    unknown_mask: int
    left_out: dict[str, int]
    phys_bits: int | None
    guest_phys_bits: int
    qemu_model: FittedModel | None
    libvirt_model: FittedModel | None
    nova_model: FittedModel | None
    evc_modes: dict[str, str | None]
    evc_mode: str | None
    x86_64_level: str | None
    notes: tuple[str, ...] = field(default=())

    @cached_property
    def qemu_spec(self) -> str:
        """The guest CPU string for QEMU/KVM: the fitted model, plus phys-bits when needed."""
        spec = self.qemu_model.spec
        if self.guest_phys_bits != QEMU_DEFAULT_PHYS_BITS:
            spec += f",phys-bits={self.guest_phys_bits}"
        return spec

    @property
    def majority_vendor(self) -> str | None:
        return _majority(self.vendors)

    def features(self, vocabulary: str = "canonical") -> list[str]:
        return names(self.feature_mask, vocabulary)

    def to_dict(self, vocabulary: str = "canonical") -> dict:
        return {
            "hosts": self.hosts,
            "features": self.features(vocabulary),
            "unknown": names(self.unknown_mask, vocabulary),
            "left_out": {why: names(mask, vocabulary) for why, mask in self.left_out.items()},
            "vendors": dict(self.vendors),
            "phys_bits": self.phys_bits,
            "guest_phys_bits": self.guest_phys_bits,
            "qemu_model": self.qemu_model.to_dict() if self.qemu_model else None,
            "libvirt_model": self.libvirt_model.to_dict() if self.libvirt_model else None,
            "nova_model": self.nova_model.to_dict() if self.nova_model else None,
            "evc_mode": self.evc_mode,
            "evc_modes": dict(self.evc_modes),
            "x86_64_level": self.x86_64_level,
            "notes": list(self.notes),
        }


def _majority(vendors: dict[str, int]) -> str | None:
    # Ties go to the alphabetically first vendor string, only so the answer is deterministic.
    return min(vendors, key=lambda v: (-vendors[v], v), default=None)


def compute(reports: Iterable[HostView | DecodedDump]) -> Baseline:
    """The baseline of a pool of host reports (at least one)."""
    hosts = [host_view(report) for report in reports]
    if not hosts:
        raise ValueError("a pool baseline needs at least one host")
    common = -1
    seen_or_unknown = -1
    vendor_masks: dict[str, int] = {}
    mitigations_any = 0
    phys = [h.identity.phys_bits for h in hosts]
    for host in hosts:
        common &= host.feature_mask
        seen_or_unknown &= host.feature_mask | host.known_absent_unknown
        vendor = host.identity.vendor
        vendor_masks[vendor] = vendor_masks.get(vendor, -1) & host.feature_mask
        mitigations_any |= host.feature_mask & MITIGATIONS
    common &= TABLE.cpu_feature_mask
    feature_mask = common & BASELINE_UNIVERSE
    vendors = dict(sorted(Counter(h.identity.vendor for h in hosts).items()))
    majority = _majority(vendors)
    known_phys = [bits for bits in phys if bits is not None]
    phys_bits = min(known_phys) if known_phys else None
    notes = []
    if len(known_phys) < len(phys):
        notes.append(
            f"{len(phys) - len(known_phys)} report(s) do not give the physical address width; "
            f"the guest width assumes {guest_phys_bits(phys_bits)} bits"
        )
    lacking = mitigations_any & ~common
    if lacking:
        missing_on = [
            h.label or f"host {i + 1}"
            for i, h in enumerate(hosts)
            if mitigations_any & ~h.feature_mask
        ]
        notes.append(
            "mitigations some hosts have and others lack are not in the baseline "
            f"({', '.join(names(lacking))}); hosts lacking them: {', '.join(missing_on)} "
            "(a microcode update usually adds them)"
        )
    unknown = seen_or_unknown & ~common & BASELINE_UNIVERSE
    if unknown:
        notes.append(
            "name-based reports cannot show these features, so they are not in the baseline "
            f"although no host is known to lack them: {', '.join(names(unknown))}"
        )
    evc_modes = {}
    for vendor, mask in vendor_masks.items():
        mode = evc_mode_for(mask & TABLE.cpu_feature_mask, vendor)
        evc_modes[VENDOR_KEYS.get(vendor, vendor)] = mode.name if mode else None
    single = len(vendor_masks) == 1
    return Baseline(
        hosts=len(hosts),
        vendors=vendors,
        feature_mask=feature_mask,
        unknown_mask=unknown,
        left_out={
            "not migratable": common & NON_MIGRATABLE,
            "not virtualised": common & NOT_VIRTUALISED & ~NON_MIGRATABLE,
            "nested virtualisation": common & NESTED,
            "host-only": common & HOST_ONLY,
        },
        phys_bits=phys_bits,
        guest_phys_bits=guest_phys_bits(phys_bits),
        qemu_model=fit(feature_mask, "qemu", vendor=majority),
        libvirt_model=fit(feature_mask, "libvirt", vendor=majority),
        nova_model=fit(feature_mask, "libvirt", vendor=majority, allow_minus=False),
        evc_modes=dict(sorted(evc_modes.items())),
        evc_mode=next(iter(evc_modes.values())) if single else None,
        x86_64_level=x86_64_level(feature_mask),
        notes=tuple(notes),
    )
