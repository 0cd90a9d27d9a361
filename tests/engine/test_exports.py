"""Exports of real pools: the vendor pinned for cross-vendor pools, notes next to every
snippet, Nova with +/- flags, Proxmox's reported-model list and types, -noTSX fitting
(docs/baselines-and-exports.md)."""

import re

from cpus.cpuid import baseline, export, guest_models

HARPERTOWN = "aida64_XeonE5462_Harpertown_2S_libcpuid.txt"
BARCELONA = "libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml"
SHANGHAI = "aida64_Opteron2378_Shanghai_2S_libcpuid.txt"
NEHALEM = "libcpuidraw_XeonE5520_NehalemEP_Gainestown.txt"
WESTMERE = "aida64_XeonX5667_WestmereEP_libcpuid.txt"
NAPLES = "libcpuidraw_EPYC7551P_Naples.txt"
GENOA = "aida64_EPYC9124_Genoa_libcpuid.txt"
SKYLAKE = "aida64_XeonGold_SkylakeSP_libcpuid.txt"
CASCADE = "aida64_XeonGold_CascadeLakeSP_libcpuid.txt"


def pool_of(hosts, *names):
    return baseline.compute([hosts[n] for n in names])


def messages(notes):
    return " | ".join(n["message"] for n in notes)


def test_the_2008_pool_pins_the_vendor_in_every_export(hosts):
    pool = pool_of(hosts, HARPERTOWN, BARCELONA, SHANGHAI)
    assert pool.cross_vendor and pool.guest_vendor == "AuthenticAMD"  # 2 of 3 hosts, G2 model
    exports = export.all_exports(pool)
    assert exports["guest_vendor"] == "AuthenticAMD"
    assert exports["qemu_cpu"].endswith(",vendor=AuthenticAMD")
    assert "<model fallback='forbid' vendor_id='AuthenticAMD'>" in exports["libvirt_xml"]
    assert "<vendor>" not in exports["libvirt_xml"]
    # Proxmox has no vendor property; it pins the reported model's vendor itself.
    assert "reported-model Opteron_G2" in exports["proxmox"]
    assert "vendor" not in exports["proxmox"]
    proxmox = messages(exports["notes"]["proxmox"])
    assert "adds vendor=AuthenticAMD" in proxmox and "-rdtscp" in proxmox
    # Nova cannot pin it: said next to the snippet, as a warning.
    nova = exports["notes"]["nova"]
    assert any(n["level"] == "warning" and "vendor" in n["message"] for n in nova)
    assert any("vendor" in lost for lost in exports["nova"]["lost"])
    for key in ("libvirt_xml", "qemu_cpu"):
        assert "pins the guest's vendor to AuthenticAMD" in messages(exports["notes"][key])


def test_a_single_vendor_pool_pins_nothing(hosts):
    exports = export.all_exports(pool_of(hosts, NEHALEM, WESTMERE))
    assert exports["guest_vendor"] is None
    assert "vendor" not in exports["qemu_cpu"] and "vendor_id" not in exports["libvirt_xml"]
    assert not any("vendor" in lost for lost in exports["nova"]["lost"])
    assert 'vCenter shows intel-nehalem as Intel "Nehalem" Generation' in messages(
        exports["notes"]["evc_mode"]
    )


def test_nova_keeps_the_closest_model_with_minus_flags_for_an_epyc_pool(hosts):
    pool = pool_of(hosts, NAPLES, GENOA)
    config = export.nova(pool)["config"]
    models = re.search(r"cpu_models = (\S+)", config).group(1)
    assert models == pool.libvirt_model.name and models.startswith("EPYC")
    assert "Opteron_G1" not in config
    flags = re.search(r"cpu_model_extra_flags = (.*)", config).group(1).split(", ")
    assert any(f.startswith("-") for f in flags) and all(f[0] in "+-" for f in flags)
    assert len(flags) == pool.libvirt_model.plus.bit_count() + pool.libvirt_model.minus.bit_count()
    # Older Nova that only adds flags: named in an info note (the degraded Opteron_G1 fit).
    assert "Opteron_G1" in messages(export.nova(pool)["notes"])


def test_tsx_and_mpx_are_left_out_and_the_fit_is_a_notsx_model(hosts):
    pool = pool_of(hosts, SKYLAKE, CASCADE)
    assert {"hle", "rtm", "mpx"} <= set(baseline.names(pool.left_out["volatile"]))
    assert not pool.feature_mask & baseline.VOLATILE
    assert any("TSX" in n and "tsx=off" in n for n in pool.notes)
    # libvirt never decodes a guest CPU as a -noTSX model (<decode guest='off'/>): its own
    # choice disables hle/rtm explicitly; the QEMU fit is the -noTSX model.
    assert pool.libvirt_model.name == "Skylake-Server"
    assert {"hle", "rtm"} <= set(pool.libvirt_model.minus_names)
    assert "Skylake-Server-noTSX-IBRS" in pool.qemu_model.model.names
    assert "hle" not in pool.qemu_model.minus_names  # not Skylake-Server,-hle,-rtm
    exports = export.all_exports(pool)
    # Proxmox accepts only names of its own list: the -noTSX alias, not "-v3".
    assert "reported-model Skylake-Server-noTSX-IBRS" in exports["proxmox"]
    assert any(
        n["level"] == "warning" and "TSX" in n["message"] for n in exports["notes"]["qemu_cpu"]
    )


def test_proxmox_types_are_defined_as_qemu_server_builds_them():
    qemu64 = guest_models.find("qemu:qemu64").feature_mask
    v2_aes = guest_models.find("x86-64-v2-AES")
    assert v2_aes.source == "proxmox" and v2_aes.vendor is None
    assert baseline.names(v2_aes.feature_mask & ~qemu64) == [
        "aes",
        "popcnt",
        "sse4_1",
        "sse4_2",
        "ssse3",
    ]
    assert v2_aes.feature_mask & qemu64 == qemu64
    v3 = guest_models.find("proxmox:x86-64-v3")
    assert {"avx2", "fma", "movbe", "xsave", "abm"} <= set(v3.feature_names())
    v4 = guest_models.find("proxmox:x86-64-v4")
    assert {"avx512f", "avx512vl"} <= set(v4.feature_names())
    kvm64 = guest_models.find("proxmox:kvm64")
    assert set(baseline.names(kvm64.feature_mask & ~guest_models.find("kvm64").feature_mask)) <= {
        "lahf_lm",
        "sep",
    }
    # "x86-64-v2" alone stays the psABI level; Proxmox's needs its source.
    assert guest_models.find("x86-64-v2").source == "x86-64-level"
    assert guest_models.find("proxmox:x86-64-v2").source == "proxmox"


def test_every_export_has_a_notes_list(hosts, real_hosts):
    for names in ((HARPERTOWN, BARCELONA, SHANGHAI), (NEHALEM,), (NAPLES, GENOA, SKYLAKE)):
        exports = export.all_exports(pool_of(hosts, *names))
        assert set(exports["notes"]) == {"libvirt_xml", "qemu_cpu", "nova", "proxmox", "evc_mode"}
        for notes in exports["notes"].values():
            assert all(n["level"] in ("info", "warning") and n["message"] for n in notes)
