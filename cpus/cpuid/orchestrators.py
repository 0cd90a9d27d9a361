"""A pool baseline in the form each orchestrator reads (beyond export.py's libvirt/QEMU/Nova).

* KubeVirt: ``spec.domain.cpu`` with ``model`` (a libvirt model: virt-launcher builds the
  libvirt domain from it) and ``features`` (``name`` in libvirt's vocabulary, ``policy``
  ``require`` or ``disable``), and the node labels a node must carry for the scheduler to place
  such a VM (KubeVirt's node-labeller: ``cpu-model.node.kubevirt.io/<model>`` and
  ``cpu-feature.node.kubevirt.io/<feature>``, both ``"true"``; KubeVirt docs "Node labeller"
  and pkg/virt-handler/node-labeller).  The VM's nodeSelector is set by KubeVirt from the cpu
  spec, so the labels are listed for checking the nodes, not for copying into the VM.
* OpenStack Nova: an ordered ``[libvirt] cpu_models`` list (nova/conf/libvirt.py: "ordered
  so that the more common and less advanced CPU models are listed earlier"; a flavor's
  required traits select the first model that has them), ``cpu_model_extra_flags`` with
  ``+``/``-``, and flavor extra specs ``trait:HW_CPU_X86_<TRAIT>=required`` for the pool
  features Nova's libvirt driver reports as traits (nova/virt/libvirt/utils.py
  ``CPU_TRAITS_MAPPING``, os-traits names; data in this module).
* Proxmox VE: the VM's ``cpu:`` line: a built-in type when the fitted model needs no flags,
  or only flags ``qm`` accepts on the ``cpu:`` line (qemu-server CPUConfig.pm
  ``$cpu_flag_supported_re``); otherwise ``cpu: custom-NAME`` and the cpu-models.conf entry
  (export.proxmox), whose vendor is its reported model's.
* vSphere: per vendor, the EVC mode key and vCenter's name, for cluster EVC and per-VM EVC
  (hardware version 14+), with the PowerCLI commands that set them (``Set-Cluster -EVCMode``;
  per-VM: ``Set-VMEvcMode`` of VMware's PerVMEVC module in PowerCLI-Example-Scripts) and the
  ``govc object.collect`` commands that read them back (we know of no govc command that sets
  an EVC mode).

Pure core: no Django.
"""

from __future__ import annotations

import re

from . import export, guest_models
from .baseline import BASELINE_UNIVERSE, Baseline, names
from .table import TABLE

# The HW_CPU_X86_* traits (os_traits/hw/cpu/x86/__init__.py) a Nova libvirt compute node
# reports for its CPU features (nova/virt/libvirt/utils.py CPU_TRAITS_MAPPING, libvirt names),
# keyed by our canonical (Linux) name: a flavor can only require traits nodes report.
OS_TRAITS = {
    "avx": "AVX",
    "avx2": "AVX2",
    "pclmulqdq": "CLMUL",
    "fma": "FMA3",
    "fma4": "FMA4",
    "f16c": "F16C",
    "mmx": "MMX",
    "sse": "SSE",
    "sse2": "SSE2",
    "pni": "SSE3",
    "ssse3": "SSSE3",
    "sse4_1": "SSE41",
    "sse4_2": "SSE42",
    "sse4a": "SSE4A",
    "xop": "XOP",
    "3dnow": "3DNOW",
    "avx512f": "AVX512F",
    "avx512cd": "AVX512CD",
    "avx512pf": "AVX512PF",
    "avx512er": "AVX512ER",
    "avx512vl": "AVX512VL",
    "avx512bw": "AVX512BW",
    "avx512dq": "AVX512DQ",
    "avx512_vnni": "AVX512VNNI",
    "avx512vbmi": "AVX512VBMI",
    "avx512ifma": "AVX512IFMA",
    "avx512_vbmi2": "AVX512VBMI2",
    "avx512_bitalg": "AVX512BITALG",
    "vaes": "AVX512VAES",
    "gfni": "AVX512GFNI",
    "vpclmulqdq": "AVX512VPCLMULQDQ",
    "avx512_vpopcntdq": "AVX512VPOPCNTDQ",
    "abm": "ABM",
    "bmi1": "BMI",
    "bmi2": "BMI2",
    "tbm": "TBM",
    "aes": "AESNI",
    "sha_ni": "SHA",
    "mpx": "MPX",
    "vmx": "VMX",
    "svm": "SVM",
}
# Flags qm accepts on a VM's cpu: line (qemu-server PVE/QemuServer/CPUConfig.pm
# $cpu_flag_supported_re), in QEMU names.
PROXMOX_VM_FLAGS = frozenset(
    {
        "pcid",
        "spec-ctrl",
        "ssbd",
        "ibpb",
        "virt-ssbd",
        "amd-ssbd",
        "amd-no-ssb",
        "pdpe1gb",
        "md-clear",
        "hv-tlbflush",
        "hv-evmcs",
        "aes",
    }
)
FORMATS = ("kubevirt", "nova", "proxmox", "vsphere")
_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")


def _note(level: str, message: str) -> dict:
    return {"level": level, "message": message}


# -- KubeVirt -----------------------------------------------------------------------------------


def kubevirt(pool: Baseline) -> dict:
    """``{"cpu": {...}, "yaml": str, "node_labels": {...}, "notes": [...]}``."""
    fitted = pool.libvirt_model
    if fitted is None:
        return {
            "cpu": None,
            "yaml": "",
            "node_labels": {},
            "notes": [_note("warning", "no libvirt model fits this pool")],
        }
    features = [{"name": n, "policy": "require"} for n in fitted.plus_names]
    features += [{"name": n, "policy": "disable"} for n in fitted.minus_names]
    cpu = {"model": fitted.name, "features": features}
    lines = ["spec:", "  domain:", "    cpu:", f"      model: {_yaml_scalar(fitted.name)}"]
    if features:
        lines.append("      features:")
        for feature in features:
            lines.append(f"        - name: {_yaml_scalar(feature['name'])}")
            lines.append(f"          policy: {feature['policy']}")
    labels = {f"cpu-model.node.kubevirt.io/{fitted.name}": "true"}
    for name in fitted.plus_names:
        labels[f"cpu-feature.node.kubevirt.io/{name}"] = "true"
    notes = [
        _note(
            "info",
            "KubeVirt schedules the VM on nodes labelled with its model and required features "
            "(node-labeller); check that every node of the pool carries these labels: "
            "kubectl get nodes -L " + ",".join(list(labels)[:1]),
        )
    ]
    vendor = export._pin(pool)
    if vendor:
        notes.append(
            _note(
                "warning",
                "KubeVirt's cpu spec has no vendor setting, so in this cross-vendor pool "
                + export._UNPINNED,
            )
        )
    notes += export._width_note(pool, "maxphysaddr")
    return {"cpu": cpu, "yaml": "\n".join(lines) + "\n", "node_labels": labels, "notes": notes}


def _yaml_scalar(text: str) -> str:
    """A plain YAML scalar when it reads back as the same string, else single-quoted."""
    if _NAME.match(text) and not re.match(r"^[-+.\d]", text):
        return text
    return "'" + text.replace("'", "''") + "'"


# -- Nova ---------------------------------------------------------------------------------------


def nova_models(pool: Baseline, limit: int = 6) -> list[str]:
    """The ordered ``cpu_models``: libvirt models every host of the pool can run (their
    features are all in the pool baseline), least advanced first, ending with the fitted
    model; at most ``limit``."""
    fitted = pool.libvirt_model
    if fitted is None:
        return []
    vendor = fitted.model.vendor
    runnable = [
        model
        for model in guest_models.models_of("libvirt")
        if model.vendor == vendor
        and not model.feature_mask & BASELINE_UNIVERSE & ~pool.feature_mask
        and model.name != fitted.model.name
        and (model.feature_mask & BASELINE_UNIVERSE).bit_count()
        < (fitted.model.feature_mask & BASELINE_UNIVERSE).bit_count()
    ]
    runnable.sort(key=lambda m: ((m.feature_mask & BASELINE_UNIVERSE).bit_count(), m.name))
    return (
        [m.display_name for m in runnable][-(limit - 1) :] + [fitted.name]
        if limit > 1
        else [fitted.name]
    )


def os_traits(mask: int) -> list[str]:
    """``HW_CPU_X86_*`` traits for the features of ``mask`` that os-traits names."""
    traits = []
    for feature in TABLE.from_mask(mask):
        trait = OS_TRAITS.get(feature.name)
        if trait:
            traits.append(f"HW_CPU_X86_{trait}")
    return sorted(traits)


def nova(pool: Baseline, workload: list[str] | None = None) -> dict:
    """nova.conf ``[libvirt]`` with the ordered model list and extra flags, and flavor extra
    specs requiring the traits of ``workload`` (feature names; default: every pool feature
    os-traits names)."""
    base = export.nova(pool)
    fitted = pool.libvirt_model
    models = nova_models(pool)
    config = base["config"]
    if fitted is not None:
        config = config.replace(f"cpu_models = {fitted.name}", f"cpu_models = {', '.join(models)}")
    if workload:
        mask = 0
        for name in workload:
            feature = TABLE.lookup(name)
            if feature is None:
                raise ValueError(f"unknown CPU feature {name!r}")
            mask |= feature.mask
        missing = names(mask & ~pool.feature_mask)
        if missing:
            raise ValueError(f"the pool baseline lacks {', '.join(missing)}")
    else:
        mask = pool.feature_mask
    traits = os_traits(mask)
    specs = {f"trait:{trait}": "required" for trait in traits}
    notes = list(base["notes"])
    notes.append(
        _note(
            "info",
            "cpu_models is ordered least advanced first (nova/conf/libvirt.py); an instance "
            "whose flavor requires traits gets the first model that has them",
        )
    )
    return {
        "config": config,
        "cpu_models": models,
        "flavor_extra_specs": specs,
        "flavor_command": "openstack flavor set FLAVOR "
        + " ".join(f"--property {key}={value}" for key, value in specs.items()),
        "lost": base["lost"],
        "notes": notes,
    }


# -- Proxmox VE ---------------------------------------------------------------------------------


def proxmox_vm(pool: Baseline, name: str = "kb-pool-baseline") -> dict:
    """The VM's ``cpu:`` line, and the cpu-models.conf entry when a custom model is needed."""
    fitted = pool.proxmox_model
    if fitted is None:
        return {"cpu_line": "", "custom_model": "", "notes": export.proxmox_notes(pool)}
    reported = export._proxmox_name(fitted)
    flags = [f"+{n}" for n in fitted.plus_names] + [f"-{n}" for n in fitted.minus_names]
    narrow = pool.guest_phys_bits != export.QEMU_DEFAULT_PHYS_BITS
    notes = export.proxmox_notes(pool)
    if all(flag[1:] in PROXMOX_VM_FLAGS for flag in flags):
        line = f"cpu: {reported}"
        if flags:
            line += f",flags={';'.join(flags)}"
        if narrow:
            line += f",phys-bits={pool.guest_phys_bits}"
        return {"cpu_line": line, "custom_model": "", "notes": notes}
    return {
        "cpu_line": f"cpu: custom-{name}",
        "custom_model": export.proxmox(pool, name),
        "notes": notes
        + [
            _note(
                "info",
                "the flags this model needs are not all accepted on a VM's cpu: line, so it is "
                "a custom model: add the entry to /etc/pve/virtual-guest/cpu-models.conf",
            )
        ],
    }


# -- vSphere ------------------------------------------------------------------------------------


def vsphere(pool: Baseline, cluster: str = "CLUSTER", vm: str = "VM") -> dict:
    """Per vendor: the EVC key and vCenter name, and the commands for cluster and per-VM EVC."""
    vcenter = guest_models.evc_vcenter_names()
    modes = {}
    for vendor, key in pool.evc_modes.items():
        if key is None:
            modes[vendor] = None
            continue
        modes[vendor] = {
            "key": key,
            "vcenter_name": vcenter.get(key, key),
            "cluster_powercli": f"Get-Cluster -Name '{cluster}' | Set-Cluster -EVCMode '{key}' "
            "-Confirm:$false",
            "vm_powercli": f"Get-VM -Name '{vm}' | Set-VMEvcMode -EvcMode '{key}'",
            "cluster_govc_read": f"govc object.collect -s 'host/{cluster}' "
            "summary.currentEVCModeKey",
            "vm_govc_read": f"govc object.collect -s 'vm/{vm}' runtime.minRequiredEVCModeKey",
        }
    notes = export.evc_notes(pool)
    notes.append(
        _note(
            "info",
            "per-VM EVC needs virtual hardware version 14 or later and a powered-off VM; "
            "Set-VMEvcMode comes from VMware's PerVMEVC module (PowerCLI-Example-Scripts); "
            "we know of no govc command that sets an EVC mode, so govc reads it back",
        )
    )
    return {"evc_mode": pool.evc_mode, "modes": modes, "notes": notes}


def export_for(pool: Baseline, fmt: str, **options) -> dict:
    if fmt == "kubevirt":
        return kubevirt(pool)
    if fmt == "nova":
        return nova(pool, options.get("workload"))
    if fmt == "proxmox":
        return proxmox_vm(pool)
    if fmt == "vsphere":
        return vsphere(pool)
    raise ValueError(f"unknown orchestrator {fmt!r}; use one of {', '.join(FORMATS)}")


def all_orchestrators(pool: Baseline) -> dict:
    return {fmt: export_for(pool, fmt) for fmt in FORMATS}
