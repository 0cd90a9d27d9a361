"""A pool baseline in each tool's own vocabulary, each with its notes.

* libvirt: ``<cpu mode='custom' match='exact' check='partial'>`` with the fitted libvirt model
  and ``<feature policy='require'|'disable'/>`` in libvirt names, plus ``<maxphysaddr>`` when the
  pool needs fewer address bits than QEMU's default 40; for a cross-vendor pool
  ``<model vendor_id='...'>`` pins the guest's vendor;
* QEMU: ``-cpu Model,+f,-g[,phys-bits=N][,vendor=V]`` in QEMU names;
* OpenStack Nova: ``[libvirt] cpu_mode = custom``, ``cpu_models``, ``cpu_model_extra_flags``
  with ``+flag``/``-flag`` (nova/conf/libvirt.py documents both), so the closest libvirt model;
  Nova has no option for the guest's vendor or address width: the notes say so;
* Proxmox VE: a ``cpu-models.conf`` entry (``cpu-model: NAME``, ``flags +a;-b``,
  ``phys-bits``, ``hidden``, ``reported-model``) in QEMU names; Proxmox pins the vendor of the
  reported model itself (PVE/QemuServer/CPUConfig.pm ``get_cpu_options``), and has no
  ``vendor`` property;
* VMware: the EVC mode key and vCenter's name for it (None when the pool mixes vendors or no
  mode fits).

``all_exports(pool)["notes"]`` has, per export, a list of ``{"level": "info"|"warning",
"message": ...}``: what the snippet does on the pool's hosts and what the tool cannot express.
docs/baselines-and-exports.md gives every rule with its source.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import quoteattr

from . import guest_models
from .baseline import (
    QEMU_DEFAULT_PHYS_BITS,
    Baseline,
    FittedModel,
    names,
    proxmox_reported,
)
from .feature_classes import VOLATILE

# What an unpinned guest risks in a cross-vendor pool (Linux arch/x86/kvm/emulate.c
# em_sysenter/em_syscall: KVM emulates SYSENTER in 64-bit mode only for an Intel guest vendor,
# and SYSCALL in compatibility mode only for an AMD one).
_UNPINNED = (
    "the guest would get each host's own vendor string, which changes when it migrates to "
    "the other vendor (SYSENTER/SYSCALL behaviour and vendor-specific MSRs change with it)"
)


def _note(level: str, message: str) -> dict:
    return {"level": level, "message": message}


def _pin(pool: Baseline) -> str | None:
    """The vendor string to pin, or None for a single-vendor pool (nothing to pin)."""
    return pool.guest_vendor if pool.cross_vendor else None


def _vendor_note(pool: Baseline, how: str) -> list[dict]:
    vendor = _pin(pool)
    if vendor is None:
        return []
    others = sorted(v for v in pool.vendors if v != vendor)
    return [
        _note(
            "info",
            f"cross-vendor pool: {how} pins the guest's vendor to {vendor}, so the guest sees "
            f"the same vendor on every host; on the {', '.join(others)} hosts KVM presents a "
            f"foreign vendor ({vendor} was chosen: it is the fitted model's vendor, and "
            "the model of the pool's majority vendor is fitted first)",
        )
    ]


def _width_note(pool: Baseline, how: str) -> list[dict]:
    if pool.guest_phys_bits == QEMU_DEFAULT_PHYS_BITS:
        return []
    return [
        _note(
            "info",
            f"{how} gives the guest {pool.guest_phys_bits} physical address bits, the "
            "narrowest host's width (QEMU's default would be 40)",
        )
    ]


def _volatile_notes(pool: Baseline) -> list[dict]:
    volatile = pool.left_out.get("volatile", 0) & VOLATILE
    if not volatile:
        return []
    return [
        _note(
            "warning",
            f"{', '.join(names(volatile))} left out although every host has them: TSX "
            "disappears with a microcode update or Linux's tsx=off default, MPX is gone "
            "from newer CPUs and kernels",
        )
    ]


def _unexpressible_notes(fitted: FittedModel | None, tool: str) -> list[dict]:
    if fitted is None or not fitted.unexpressible:
        return []
    return [
        _note(
            "info",
            f"{tool} has no name for {', '.join(names(fitted.unexpressible))}: the guest does "
            "not get them",
        )
    ]


def libvirt_xml(pool: Baseline) -> str:
    fitted = pool.libvirt_model
    vendor = _pin(pool)
    # CPUID vendor strings are 12 ASCII letters (GenuineIntel, AuthenticAMD, HygonGenuine).
    vendor_attr = f" vendor_id='{vendor}'" if vendor and vendor.isalpha() else ""
    lines = ["<cpu mode='custom' match='exact' check='partial'>"]
    lines.append(f"  <model fallback='forbid'{vendor_attr}>{fitted.name}</model>")
    # No <vendor> element: in a guest definition it restricts the hosts the guest may start on
    # to that vendor; vendor_id on <model> sets what the guest sees instead.
    if pool.guest_phys_bits != QEMU_DEFAULT_PHYS_BITS:
        lines.append(f"  <maxphysaddr mode='emulate' bits='{pool.guest_phys_bits}'/>")
    for name in fitted.plus_names:
        lines.append(f"  <feature policy='require' name={quoteattr(name)}/>")
    for name in fitted.minus_names:
        lines.append(f"  <feature policy='disable' name={quoteattr(name)}/>")
    lines.append("</cpu>")
    return "\n".join(lines) + "\n"


def libvirt_notes(pool: Baseline) -> list[dict]:
    return [
        *_vendor_note(pool, "<model vendor_id='...'>"),
        *_width_note(pool, "<maxphysaddr mode='emulate'>"),
        *_volatile_notes(pool),
        *_unexpressible_notes(pool.libvirt_model, "libvirt 9.0"),
    ]


def qemu_cpu(pool: Baseline) -> str:
    """The ``-cpu`` argument (without ``-cpu`` itself)."""
    return pool.qemu_spec  # with vendor= for a cross-vendor pool (Baseline.qemu_spec)


def qemu_notes(pool: Baseline) -> list[dict]:
    return [
        *_vendor_note(pool, "vendor="),
        *_width_note(pool, "phys-bits="),
        *_volatile_notes(pool),
        *_unexpressible_notes(pool.qemu_model, "QEMU 7.2"),
    ]


def nova(pool: Baseline) -> dict:
    """``{"config": "[libvirt]...", "lost": [...], "notes": [...]}`` for nova.conf.

    ``cpu_model_extra_flags`` takes ``+flag`` and ``-flag`` (nova/conf/libvirt.py: "To
    explicitly enable or disable CPU flags, use the +flag or -flag notation"), so Nova gets the
    same closest libvirt model as the XML.  ``lost`` lists what Nova cannot express."""
    fitted = pool.libvirt_model
    lines = ["[libvirt]", "cpu_mode = custom", f"cpu_models = {fitted.name}"]
    flags = [f"+{n}" for n in fitted.plus_names] + [f"-{n}" for n in fitted.minus_names]
    if flags:
        lines.append(f"cpu_model_extra_flags = {', '.join(flags)}")
    lost = []
    vendor = _pin(pool)
    if vendor:
        lost.append(
            f"the guest's vendor: Nova has no option for it (libvirt's <model vendor_id>), so "
            f"{_UNPINNED}; use the libvirt XML, or keep this pool's instances on one vendor"
        )
    if pool.guest_phys_bits != QEMU_DEFAULT_PHYS_BITS:
        lost.append(
            f"the guest address width ({pool.guest_phys_bits} bits): Nova has no option for it, "
            "so guests get QEMU's default of 40, more than the narrowest host offers (QEMU "
            "warns when it starts them there)"
        )
    notes = [_note("warning", f"Nova cannot express {what}") for what in lost]
    if fitted.minus_names:
        legacy = pool.nova_model
        older = (
            f"cpu_models = {legacy.name} with cpu_model_extra_flags = "
            f"{', '.join(legacy.plus_names) or '(none)'}"
            if legacy
            else "the libvirt XML (no libvirt model is a subset of this baseline)"
        )
        notes.append(
            _note(
                "info",
                "Nova releases whose cpu_model_extra_flags cannot disable flags need " + older,
            )
        )
    notes += _volatile_notes(pool) + _unexpressible_notes(fitted, "libvirt 9.0")
    return {"config": "\n".join(lines) + "\n", "lost": lost, "notes": notes}


def _proxmox_name(fitted: FittedModel) -> str:
    allowed = [name for name in fitted.model.names if name in proxmox_reported()]
    return min(allowed, key=lambda n: (len(n), n))


PROXMOX_DEFAULT_NAME = "kb-pool-baseline"


def proxmox_model_name(pool_name: str | None) -> str:
    """A cpu-models.conf id for a pool: ``kb-`` and the pool's name in lower-case letters,
    digits and hyphens (at most 40 characters), or ``kb-pool-baseline`` without a name."""
    slug = re.sub(r"[^a-z0-9]+", "-", (pool_name or "").lower()).strip("-")
    return f"kb-{slug}"[:40].rstrip("-") if slug else PROXMOX_DEFAULT_NAME


def proxmox(pool: Baseline, name: str = PROXMOX_DEFAULT_NAME) -> str:
    fitted = pool.proxmox_model
    if fitted is None:
        return ""
    flags = [f"+{n}" for n in fitted.plus_names] + [f"-{n}" for n in fitted.minus_names]
    lines = [f"cpu-model: {name}"]
    if flags:
        lines.append(f"    flags {';'.join(flags)}")
    if pool.guest_phys_bits != QEMU_DEFAULT_PHYS_BITS:
        lines.append(f"    phys-bits {pool.guest_phys_bits}")
    lines.append("    hidden 0")
    lines.append(f"    reported-model {_proxmox_name(fitted)}")
    return "\n".join(lines) + "\n"


def proxmox_notes(pool: Baseline, name: str = PROXMOX_DEFAULT_NAME) -> list[dict]:
    fitted = pool.proxmox_model
    if fitted is None:
        return [_note("warning", "no QEMU model Proxmox VE accepts as reported-model fits")]
    # A custom model is used from a VM's config as "custom-<id>" (PVE/QemuServer/CPUConfig.pm).
    notes = [
        _note(
            "info",
            f"in each VM's configuration (qm set <vmid> --cpu custom-{name}): cpu: custom-{name}",
        )
    ]
    vendor = _pin(pool)
    reported = _proxmox_name(fitted)
    if vendor and fitted.model.vendor == vendor:
        notes.append(
            _note(
                "info",
                f"cross-vendor pool: cpu-models.conf has no vendor property, but Proxmox adds "
                f"vendor={vendor} for reported-model {reported} (PVE/QemuServer/CPUConfig.pm "
                "get_cpu_options), so the guest's vendor is pinned",
            )
        )
    elif vendor:
        notes.append(
            _note(
                "warning",
                f"cross-vendor pool: Proxmox cannot pin the vendor here (cpu-models.conf has no "
                f"vendor property, and reported-model {reported} is "
                f"{'vendor-neutral' if fitted.model.vendor is None else 'another vendor'}'s): "
                + _UNPINNED,
            )
        )
    if reported.startswith("Opteron"):
        notes.append(
            _note(
                "info",
                "Proxmox adds -rdtscp to every Opteron_* reported model ('broken on AMD "
                "Opteron', get_pve_cpu_flags): the guest has no RDTSCP",
            )
        )
    if pool.qemu_model and fitted.model is not pool.qemu_model.model:
        notes.append(
            _note(
                "info",
                f"{pool.qemu_model.name}, the closest QEMU model, is not in Proxmox's "
                f"reported-model list: {reported} with its flags gives the same features",
            )
        )
    return notes + [
        *_width_note(pool, "phys-bits"),
        *_volatile_notes(pool),
        *_unexpressible_notes(fitted, "QEMU 7.2"),
    ]


def evc_key(pool: Baseline) -> str | None:
    return pool.evc_mode


def evc_notes(pool: Baseline) -> list[dict]:
    if pool.evc_mode is None and pool.cross_vendor:
        return [
            _note(
                "warning",
                "VMware never migrates across vendors: each vendor's hosts need their own EVC "
                "cluster (evc_modes)",
            )
        ]
    if pool.evc_mode is None:
        return [_note("warning", "no EVC mode is supported by every host")]
    return [
        _note(
            "info",
            f"vCenter shows {pool.evc_mode} as "
            f"{guest_models.evc_vcenter_names().get(pool.evc_mode, pool.evc_mode)}",
        )
    ]


def all_exports(pool: Baseline, pool_name: str | None = None) -> dict:
    """Every export of a baseline, keyed by tool, and ``notes`` per export.  ``pool_name`` (a
    tag, or the hosts' names) names the Proxmox custom model (``proxmox_model_name``)."""
    nova_export = nova(pool)
    proxmox_name = proxmox_model_name(pool_name)
    return {
        "libvirt_xml": libvirt_xml(pool),
        "qemu_cpu": qemu_cpu(pool),
        "nova": nova_export,
        "proxmox": proxmox(pool, proxmox_name),
        "proxmox_vm_cpu": f"custom-{proxmox_name}" if pool.proxmox_model else None,
        "evc_mode": evc_key(pool),
        "evc_modes": dict(pool.evc_modes),
        "evc_vcenter_names": pool.evc_vcenter_names,
        "guest_vendor": _pin(pool),
        "x86_64_level": pool.x86_64_level,
        "unexpressible": {
            "qemu": names(pool.qemu_model.unexpressible),
            "libvirt": names(pool.libvirt_model.unexpressible),
        },
        "notes": {
            "libvirt_xml": libvirt_notes(pool),
            "qemu_cpu": qemu_notes(pool),
            "nova": nova_export["notes"],
            "proxmox": proxmox_notes(pool, proxmox_name),
            "evc_mode": evc_notes(pool),
        },
    }
