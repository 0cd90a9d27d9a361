"""Feature classes: the one definition of each named group of feature bits.

The engine (``compat``, ``baseline``, ``matrix``, the hypervisor ``policies``), the exports and
the ledger's error explainer (``migrations_log/explain.py``) all import these masks; none of them
keeps a list of its own.  Each class is a bitmask over ``TABLE`` (``TABLE.from_mask`` gives the
features).  Adding a class: define it here with its primary source, and say in
docs/compatibility.md ("Where things live") who reads it.

Classes:

* ``NOT_VIRTUALISED``: real host features that no KVM guest ever sees (outside
  ``KVM_CPU_CAPS``, Linux ``arch/x86/kvm/cpuid.c`` ``kvm_set_cpu_caps``), plus the topology bits
  QEMU recomputes from the guest's own topology.
* ``NESTED``: nested virtualisation: ``vmx``, ``svm`` (``VMX_SVM``, the switches) and the SVM
  feature leaf 0x8000000A EDX, which Linux's ``svm_set_cpu_caps`` fills in only for nested
  guests and which means nothing without ``svm`` (QEMU ``target/i386/cpu.c`` ``FEAT_SVM``).
* ``XSAVE_STATE``: the XSAVE family (``xsave`` and its leaf 0xD sub-leaf 1 variants) and the
  features that enable an XSAVE state component (``XSAVE_COMPONENTS``).
* ``KVM_EMULATED``: what KVM gives any guest whatever the host has.
* ``VOLATILE`` (``TSX`` within it): features a host can lose with a microcode or kernel update.
* ``MITIGATIONS``: speculative-execution mitigation bits that come with microcode.
* ``INVTSC``, ``NON_MIGRATABLE`` and ``HOST_ONLY``/``GUEST_VISIBLE``: from the table's flags.

Decision where the engine and the explainer used to disagree (docs/compatibility.md, "Feature
classes"): the explainer's "XSAVE" group held every AVX-512 and AMX instruction subset and
``arch_lbr``; the engine's XSAVE axis only ever names the features that *enable* a state
component (its rule: a new AVX-512 subset adds no state).  The sources side with the engine: Linux
``arch/x86/kernel/fpu/xstate.c`` ``xsave_cpuid_features[]`` maps each state component to exactly
one enabling CPUID feature (AVX for YMM, AVX512F for opmask/ZMM_Hi256/Hi16_ZMM, AMX_TILE for
TILECFG/TILEDATA, PKU for PKRU, MPX for BNDREGS/BNDCSR, ARCH_LBR for the supervisor LBR
component), and KVM lets a guest enable only the user components of ``KVM_SUPPORTED_XCR0``
(``arch/x86/kvm/x86.c``), not the supervisor LBR one (``arch_lbr`` is also outside
``kvm_set_cpu_caps``, so it is ``NOT_VIRTUALISED``).  So ``XSAVE_STATE`` is the XSAVE family
plus the enabling features of the user components (``XSAVE_COMPONENTS``); ``avx512bw`` missing
alone is a plain missing feature, for the explainer as for the engine.  The two
nested-virtualisation lists already named the same bits (vmx, svm, leaf 0x8000000A EDX); they
are now one.

Pure core: no Django.
"""

from __future__ import annotations

from collections.abc import Iterable

from .table import TABLE


def _mask(names: Iterable[str]) -> int:
    return TABLE.mask_of(TABLE.by_name[name] for name in names)


# What KVM can give a guest: the CPUID bits Linux's KVM_GET_SUPPORTED_CPUID may report
# (arch/x86/kvm/cpuid.c kvm_set_cpu_caps, Linux 6.10, plus the bits the vendor modules add:
# vmx/vmx.c vmx_set_cpu_caps for vmx, mpx and waitpkg; svm/svm.c svm_set_cpu_caps for svm and
# the SVM leaf 0x8000000A).  A CPUID feature bit of the table that is not listed here is never
# shown to a KVM guest, whatever the host has.  Not listed on purpose: intel_pt (only with the
# non-default kvm_intel pt_mode=1), the SGX bits (only for a VM given an EPC section, and such a
# VM cannot migrate), and leaves 0x6 (except arat), 0xF, 0x10 and 0x14, which KVM zeroes.
KVM_CPU_CAPS = frozenset(
    """
    pni pclmulqdq ssse3 fma cx16 pdcm pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer
    aes xsave avx f16c rdrand vmx
    fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse
    sse2 ss
    arat
    fsgsbase tsc_adjust bmi1 hle avx2 fdp_excptn_only smep bmi2 erms invpcid rtm zero_fcs_fds mpx
    avx512f avx512dq rdseed adx smap avx512ifma clflushopt clwb avx512pf avx512er avx512cd sha_ni
    avx512bw avx512vl
    avx512vbmi umip pku waitpkg avx512_vbmi2 shstk gfni vaes vpclmulqdq avx512_vnni avx512_bitalg
    avx512_vpopcntdq la57 rdpid bus_lock_detect cldemote movdiri movdir64b sgx_lc pks
    avx512_4vnniw avx512_4fmaps fsrm avx512_vp2intersect md_clear serialize tsxldtrk ibt amx_bf16
    avx512_fp16 amx_tile amx_int8 spec_ctrl intel_stibp flush_l1d arch_capabilities spec_ctrl_ssbd
    sha512 sm3 sm4 avx_vnni avx512_bf16 cmpccxadd fzrm fsrs fsrc amx_fp16 avx_ifma lam
    xsaveopt xsavec xgetbv1 xsaves xfd
    lahf_lm cmp_legacy svm cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw xop fma4 tbm topoext
    perfctr_core
    syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm 3dnowext 3dnow
    invtsc
    clzero xsaveerptr wbnoinvd amd_ibpb amd_ibrs amd_stibp amd_stibp_always_on amd_ssbd virt_ssbd
    amd_ssb_no amd_psfd btc_no
    npt lbrv nrip_save tsc_scale vmcb_clean flushbyasid decodeassists pausefilter pfthreshold vgif
    v_vmsave_vmload vnmi
    no_nested_data_bp wrmsr_xx_base_ns lfence_rdtsc null_sel_clr_base autoibrs no_smm_ctl_msr
    eraps sbpb ibpb_brtype srso_no srso_user_kernel_no
    rng rng_en ace ace_en ace2 ace2_en phe phe_en pmm pmm_en
    """.split()
)
# Bits KVM never gives a guest: every CPUID feature bit of the table outside KVM_CPU_CAPS
# (e.g. monitor, dca, dtes64, est, tm2, acpi, the cache-monitoring cqm/rdt_a bits, tsx_force_abort,
# rtm_always_abort, srbds_ctrl, arch_lbr, pconfig, the SGX bits, intel_pt), and the bits that
# describe the host's topology, which QEMU sets from the guest's own vCPU topology (ht,
# cmp_legacy: target/i386/cpu.c cpu_x86_cpuid).  They are real host features, but a guest never
# sees them: a migratable baseline must not ask for them, and a source having them blocks nothing.
NOT_VIRTUALISED = TABLE.mask_of(
    f
    for f in TABLE
    if f.kind == "feature"
    and f.msr is None
    and (f.name not in KVM_CPU_CAPS or f.name in ("ht", "cmp_legacy"))
)

# The switches of nested virtualisation: VT-x (CPUID 1 ECX[5]) and AMD-V (0x80000001 ECX[2]).
VMX_SVM = _mask(["vmx", "svm"])
# Nested virtualisation: the switches and the SVM feature leaf 0x8000000A EDX (npt, nrip_save,
# vmcb_clean...), which describes the virtual SVM a nested guest gets and means nothing without
# svm (Linux arch/x86/kvm/svm/svm.c svm_set_cpu_caps sets it only when nested=1; QEMU
# target/i386/cpu.c FEAT_SVM).
NESTED = VMX_SVM | TABLE.mask_of(TABLE.by_cpuid.get((0x8000000A, 0, "edx"), ()))

# The user state components of XCR0 a guest can be given, and the feature that enables each
# (Intel SDM vol. 1 section 13.1 "XSAVE-supported features and state-component bitmaps"; Linux
# arch/x86/include/asm/fpu/types.h enum xfeature, arch/x86/kernel/fpu/xstate.c
# xsave_cpuid_features; KVM_SUPPORTED_XCR0 in arch/x86/kvm/x86.c).
# (XCR0 bit, component name, enabling feature.)
XSAVE_COMPONENTS = (
    (0, "x87 FPU", "fpu"),
    (1, "SSE (XMM registers, MXCSR)", "sse"),
    (2, "AVX (upper halves of YMM)", "avx"),
    (3, "MPX BNDREGS", "mpx"),
    (4, "MPX BNDCSR", "mpx"),
    (5, "AVX-512 opmask (k0-k7)", "avx512f"),
    (6, "AVX-512 ZMM_Hi256", "avx512f"),
    (7, "AVX-512 Hi16_ZMM", "avx512f"),
    (9, "PKRU", "pku"),
    (17, "AMX TILECFG", "amx_tile"),
    (18, "AMX TILEDATA (with XFD)", "amx_tile"),
)
# XSAVE itself and its variants, CPUID 0xD sub-leaf 1 EAX (xsaveopt, xsavec, xgetbv1, xsaves,
# xfd: Intel SDM vol. 1 section 13.2): they manage the state, they add none.
XSAVE_INSTRUCTIONS = _mask("xsave xsaveopt xsavec xgetbv1 xsaves xfd".split())
# The features that enable a component (x87 and SSE too: the engine names them when a
# destination lacks them, however unlikely that is).
XSAVE_ENABLERS = _mask(feature for _, _, feature in XSAVE_COMPONENTS)
# The XSAVE state class: what an "xsave" reason or explanation may be about.
XSAVE_STATE = XSAVE_INSTRUCTIONS | XSAVE_ENABLERS

# KVM emulates these for any guest whatever the host has (in-kernel LAPIC: x2APIC and the
# TSC-deadline timer; leaf 6 EAX is fixed to ARAT: arch/x86/kvm/cpuid.c kvm_set_cpu_caps and
# __do_cpuid_func), so a named model keeps them on any host.
KVM_EMULATED = _mask(["x2apic", "tsc_deadline_timer", "arat"])

# Features a host can lose while it keeps running guests, so a pool baseline must not rely on
# them (left out of the baseline and of every fitted model, with a warning note):
# * TSX (hle, rtm): Intel's microcode updates for TAA (2019, and for Skylake-era client parts
#   in 2021) disable TSX or let the OS do so, and Linux defaults to tsx=off on CPUs that are not
#   TAA-immune since 5.14 (Documentation/admin-guide/kernel-parameters.txt, "tsx";
#   Documentation/admin-guide/hw-vuln/tsx_async_abort.rst; arch/x86/kernel/cpu/tsx.c tsx_init);
#   a guest started with hle/rtm cannot land on a host that lost them;
# * MPX: absent from Ice Lake and later Intel CPUs, and Linux removed its MPX support in 5.6
#   (commit "x86/mpx: remove MPX from arch/x86"), so newer hosts never offer it.
TSX = _mask(["hle", "rtm"])
VOLATILE = TSX | _mask(["mpx"])

# Mitigation-present bits that come with microcode (Linux arch/x86/include/asm/cpufeatures.h;
# Intel "Speculative Execution Side Channel Mitigations"; AMD "Software Techniques for Managing
# Speculation").  They intersect like every feature in a baseline; Hyper-V's newer-than-standard
# list leaves them out (they are not instruction sets).
MITIGATIONS = _mask(
    """
    md_clear spec_ctrl intel_stibp spec_ctrl_ssbd flush_l1d srbds_ctrl amd_ibpb amd_ibrs
    amd_stibp amd_ssbd virt_ssbd sbpb ibpb_brtype
    """.split()
)

# From the table's flags (table.py): the invariant TSC, bits libvirt marks migratable='no', and
# the bits that describe the OS, the hypervisor or host power management rather than the CPU.
INVTSC = TABLE.by_name["invtsc"].mask
NON_MIGRATABLE = TABLE.mask_of(f for f in TABLE if not f.migratable)
HOST_ONLY = TABLE.mask_of(f for f in TABLE if f.kind != "feature")
# The bits a guest can be given at all (passthrough shows these of the source).
GUEST_VISIBLE = TABLE.cpu_feature_mask & ~HOST_ONLY
