"""VMX capability MSRs (0x480-0x491) decoded into QEMU's ``vmx-*`` feature names.

Names and bit positions: QEMU ``target/i386/cpu.c`` ``feature_word_info[]`` entries
``FEAT_VMX_PROCBASED_CTLS``, ``FEAT_VMX_SECONDARY_CTLS``, ``FEAT_VMX_PINBASED_CTLS``,
``FEAT_VMX_EXIT_CTLS``, ``FEAT_VMX_ENTRY_CTLS``, ``FEAT_VMX_MISC``, ``FEAT_VMX_EPT_VPID_CAPS``,
``FEAT_VMX_BASIC`` and ``FEAT_VMX_VMFUNC`` (QEMU 5.0 and later; libvirt's cpu_map uses the same
names from 9.10).  How a raw MSR value becomes a feature word: QEMU ``target/i386/kvm/kvm.c``
``kvm_arch_get_supported_msr_feature``: for the control MSRs (pin-based, processor-based,
secondary, exit, entry) a control is offered when it *can* be one and need not be
(``allowed-1 & ~allowed-0``: high 32 bits and not low 32 bits); every other MSR is read as is.
The ``TRUE_*`` control MSRs (0x48D-0x490) are used when present, as QEMU does, else the
legacy ones (0x481-0x484); Intel SDM vol. 3D appendix A.

Pure core: no Django.
"""

from __future__ import annotations

# (MSR index, legacy MSR when TRUE is absent or None, is a control MSR, {bit: name})
_WORDS: tuple[tuple[int, int | None, bool, dict[int, str]], ...] = (
    (
        0x48D,
        0x481,
        True,
        {
            0: "vmx-intr-exit",
            3: "vmx-nmi-exit",
            5: "vmx-vnmi",
            6: "vmx-preemption-timer",
            7: "vmx-posted-intr",
        },
    ),
    (
        0x48E,
        0x482,
        True,
        {
            2: "vmx-vintr-pending",
            3: "vmx-tsc-offset",
            7: "vmx-hlt-exit",
            9: "vmx-invlpg-exit",
            10: "vmx-mwait-exit",
            11: "vmx-rdpmc-exit",
            12: "vmx-rdtsc-exit",
            15: "vmx-cr3-load-noexit",
            16: "vmx-cr3-store-noexit",
            19: "vmx-cr8-load-exit",
            20: "vmx-cr8-store-exit",
            21: "vmx-flexpriority",
            22: "vmx-vnmi-pending",
            23: "vmx-movdr-exit",
            24: "vmx-io-exit",
            25: "vmx-io-bitmap",
            27: "vmx-mtf",
            28: "vmx-msr-bitmap",
            29: "vmx-monitor-exit",
            30: "vmx-pause-exit",
            31: "vmx-secondary-ctls",
        },
    ),
    (
        0x48B,
        None,
        True,
        {
            0: "vmx-apicv-xapic",
            1: "vmx-ept",
            2: "vmx-desc-exit",
            3: "vmx-rdtscp-exit",
            4: "vmx-apicv-x2apic",
            5: "vmx-vpid",
            6: "vmx-wbinvd-exit",
            7: "vmx-unrestricted-guest",
            8: "vmx-apicv-register",
            9: "vmx-apicv-vid",
            10: "vmx-ple",
            11: "vmx-rdrand-exit",
            12: "vmx-invpcid-exit",
            13: "vmx-vmfunc",
            14: "vmx-shadow-vmcs",
            15: "vmx-encls-exit",
            16: "vmx-rdseed-exit",
            17: "vmx-pml",
            20: "vmx-xsaves",
            25: "vmx-tsc-scaling",
        },
    ),
    (
        0x48F,
        0x483,
        True,
        {
            2: "vmx-exit-nosave-debugctl",
            12: "vmx-exit-load-perf-global-ctrl",
            15: "vmx-exit-ack-intr",
            18: "vmx-exit-save-pat",
            19: "vmx-exit-load-pat",
            20: "vmx-exit-save-efer",
            21: "vmx-exit-load-efer",
            22: "vmx-exit-save-preemption-timer",
            23: "vmx-exit-clear-bndcfgs",
            25: "vmx-exit-clear-rtit-ctl",
            28: "vmx-exit-save-cet-ctl",
            29: "vmx-exit-load-pkrs",
        },
    ),
    (
        0x490,
        0x484,
        True,
        {
            2: "vmx-entry-noload-debugctl",
            9: "vmx-entry-ia32e-mode",
            13: "vmx-entry-load-perf-global-ctrl",
            14: "vmx-entry-load-pat",
            15: "vmx-entry-load-efer",
            16: "vmx-entry-load-bndcfgs",
            18: "vmx-entry-load-rtit-ctl",
            20: "vmx-entry-load-cet-ctl",
            22: "vmx-entry-load-pkrs",
        },
    ),
    (
        0x485,
        None,
        False,
        {
            5: "vmx-store-lma",
            6: "vmx-activity-hlt",
            7: "vmx-activity-shutdown",
            8: "vmx-activity-wait-sipi",
            29: "vmx-vmwrite-vmexit-fields",
            30: "vmx-zero-len-inject",
        },
    ),
    (
        0x48C,
        None,
        False,
        {
            0: "vmx-ept-execonly",
            6: "vmx-page-walk-4",
            7: "vmx-page-walk-5",
            16: "vmx-ept-2mb",
            17: "vmx-ept-1gb",
            20: "vmx-invept",
            21: "vmx-eptad",
            22: "vmx-ept-advanced-exitinfo",
            25: "vmx-invept-single-context",
            26: "vmx-invept-all-context",
            32: "vmx-invvpid",
            40: "vmx-invvpid-single-addr",
            41: "vmx-invept-single-context",
            42: "vmx-invvpid-all-context",
            43: "vmx-invept-single-context-noglobals",
        },
    ),
    (0x480, None, False, {54: "vmx-ins-outs", 55: "vmx-true-ctls"}),
    (0x491, None, False, {0: "vmx-eptp-switching"}),
)
VMX_MSRS = frozenset(range(0x480, 0x492))
ALL_NAMES = frozenset(name for *_, bits in _WORDS for name in bits.values())


def _offered(value: int, control: bool) -> int:
    if not control:
        return value
    return (value >> 32) & ~value & 0xFFFFFFFF


def decode(msrs: dict[int, int]) -> frozenset[str] | None:
    """The ``vmx-*`` capabilities the MSR values offer; None when ``msrs`` has no VMX MSR (the
    report does not say, which is not the same as "none")."""
    if not any(index in VMX_MSRS for index in msrs):
        return None
    found: set[str] = set()
    for index, legacy, control, bits in _WORDS:
        value = msrs.get(index)
        if value is None and legacy is not None:
            value = msrs.get(legacy)
        if value is None:
            continue
        word = _offered(value, control)
        found.update(name for bit, name in bits.items() if word >> bit & 1)
    return frozenset(found)


def names_in(features) -> frozenset[str]:
    """The ``vmx-*`` names among ``features`` (libvirt cpu_map / QMP expansion names)."""
    return frozenset(name for name in features if name.startswith("vmx-"))
