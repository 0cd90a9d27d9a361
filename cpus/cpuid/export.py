"""A pool baseline in each tool's own vocabulary.

* libvirt: ``<cpu mode='custom' match='exact' check='partial'>`` with the fitted libvirt model
  and ``<feature policy='require'|'disable'/>`` in libvirt names, plus ``<maxphysaddr>`` when the
  pool needs fewer address bits than QEMU's default 40;
* QEMU: ``-cpu Model,+f,-g[,phys-bits=N]`` in QEMU names;
* OpenStack Nova: ``[libvirt] cpu_mode = custom``, ``cpu_models``, ``cpu_model_extra_flags``.
  Nova can only add flags, so it gets the best libvirt model that needs no ``-`` feature (the
  guest's features stay the same); what Nova cannot express is listed in ``lost``;
* Proxmox VE: a ``cpu-models.conf`` entry (``cpu-model: NAME``, ``flags +a;-b``,
  ``phys-bits``, ``reported-model``) in QEMU names;
* VMware: the EVC mode key (None when the pool mixes vendors or no mode fits).
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from .baseline import QEMU_DEFAULT_PHYS_BITS, Baseline, names


def libvirt_xml(pool: Baseline) -> str:
    fitted = pool.libvirt_model
    lines = ["<cpu mode='custom' match='exact' check='partial'>"]
    lines.append(f"  <model fallback='forbid'>{fitted.name}</model>")
    # No <vendor>: in a guest definition it restricts the hosts the guest may start on to that
    # vendor, which would defeat a cross-vendor pool; the model carries the guest's vendor.
    if pool.guest_phys_bits != QEMU_DEFAULT_PHYS_BITS:
        lines.append(f"  <maxphysaddr mode='emulate' bits='{pool.guest_phys_bits}'/>")
    for name in fitted.plus_names:
        lines.append(f"  <feature policy='require' name={quoteattr(name)}/>")
    for name in fitted.minus_names:
        lines.append(f"  <feature policy='disable' name={quoteattr(name)}/>")
    lines.append("</cpu>")
    return "\n".join(lines) + "\n"


def qemu_cpu(pool: Baseline) -> str:
    """The ``-cpu`` argument (without ``-cpu`` itself)."""
    return pool.qemu_spec


def nova(pool: Baseline) -> dict:
    """``{"config": "[libvirt]...", "lost": [...]}`` for nova.conf."""
    fitted = pool.nova_model
    if fitted is None:
        return {
            "config": None,
            "lost": [
                "every libvirt model has a feature this pool lacks, and Nova cannot disable "
                "features: use the libvirt XML instead"
            ],
        }
    lines = ["[libvirt]", "cpu_mode = custom", f"cpu_models = {fitted.name}"]
    if fitted.plus_names:
        lines.append(f"cpu_model_extra_flags = {', '.join(fitted.plus_names)}")
    lost = []
    if pool.guest_phys_bits != QEMU_DEFAULT_PHYS_BITS:
        lost.append(
            f"the guest address width ({pool.guest_phys_bits} bits): Nova has no option for it, "
            "so guests get QEMU's default of 40, more than the narrowest host offers (an "
            "address-bits blocker towards that host)"
        )
    if pool.libvirt_model and pool.libvirt_model.name != fitted.name:
        lost.append(
            f"the closest model ({pool.libvirt_model.spec}) needs '-' features Nova cannot "
            f"express; {fitted.name} gives the guest the same features under another identity"
        )
    return {"config": "\n".join(lines) + "\n", "lost": lost}


def proxmox(pool: Baseline, name: str = "kb-pool-baseline") -> str:
    fitted = pool.qemu_model
    flags = [f"+{n}" for n in fitted.plus_names] + [f"-{n}" for n in fitted.minus_names]
    lines = [f"cpu-model: {name}"]
    if flags:
        lines.append(f"    flags {';'.join(flags)}")
    if pool.guest_phys_bits != QEMU_DEFAULT_PHYS_BITS:
        lines.append(f"    phys-bits {pool.guest_phys_bits}")
    lines.append("    hidden 0")
    lines.append(f"    reported-model {fitted.name}")
    return "\n".join(lines) + "\n"


def evc_key(pool: Baseline) -> str | None:
    return pool.evc_mode


def all_exports(pool: Baseline) -> dict:
    """Every export of a baseline, keyed by tool."""
    return {
        "libvirt_xml": libvirt_xml(pool),
        "qemu_cpu": qemu_cpu(pool),
        "nova": nova(pool),
        "proxmox": proxmox(pool),
        "evc_mode": evc_key(pool),
        "evc_modes": dict(pool.evc_modes),
        "x86_64_level": pool.x86_64_level,
        "unexpressible": {
            "qemu": names(pool.qemu_model.unexpressible),
            "libvirt": names(pool.libvirt_model.unexpressible),
        },
    }
