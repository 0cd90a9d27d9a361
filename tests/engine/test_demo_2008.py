"""The 2008 demonstration on the real dumps: Harpertown, Barcelona and Shanghai in one pool."""

from cpus.cpuid import baseline, compat, cpu_map, export, matrix
from cpus.cpuid.table import TABLE

# The pool's baseline, written out by hand.  docs/domain.md#where-the-project-comes-from: between
# libvirt's Penryn and Opteron_G3 the common set is 27 features, libvirt's Opteron_G2 minus
# rdtscp and svm.  The real hosts share more than the models: vme (a real, virtualised feature:
# kept), ht and monitor (topology and MONITOR/MWAIT, which KVM never gives a guest: left out as
# "not virtualised").
DEMO_BASELINE = sorted(
    """
    apic clflush cmov cx16 cx8 de fpu fxsr lahf_lm lm mca mce mmx msr mtrr nx pae pat pge pni
    pse pse36 sep sse sse2 syscall tsc vme
    """.split()
)


def _libvirt_names(model: str) -> set[str]:
    return {feature.name for feature in cpu_map.load()[model].table_features()}


def test_models_common_set_is_opteron_g2_minus_rdtscp_and_svm():
    common = _libvirt_names("Penryn") & _libvirt_names("Opteron_G3")
    assert len(common) == 27
    assert common == _libvirt_names("Opteron_G2") - {"rdtscp", "svm"}


def test_baseline_features_are_exactly_the_hand_checked_list(demo):
    pool = baseline.compute(demo)
    assert pool.features() == DEMO_BASELINE
    assert set(DEMO_BASELINE) - {"vme"} == _libvirt_names("Opteron_G2") - {"rdtscp", "svm"}
    assert baseline.names(pool.left_out["not virtualised"]) == ["ht", "monitor"]
    assert pool.vendors == {"AuthenticAMD": 2, "GenuineIntel": 1}
    assert pool.phys_bits == 38 and pool.guest_phys_bits == 38


def test_baseline_hides_what_domain_says_must_be_hidden(demo):
    hidden = {"ssse3", "sse4_1", "sse4a", "popcnt", "abm", "misalignsse", "rdtscp", "svm"}
    assert not hidden & set(baseline.compute(demo).features())


def test_fitted_models_are_opteron_g2_with_exact_edits(demo):
    pool = baseline.compute(demo)
    # QEMU 7.2's Opteron_G2 has no rdtscp; libvirt 9.0's has.
    assert pool.qemu_model.spec == "Opteron_G2,+vme,-svm"
    assert pool.qemu_model.model.name == "Opteron_G2-v1"
    assert pool.libvirt_model.spec == "Opteron_G2,+vme,-rdtscp,-svm"
    assert pool.nova_model.spec == "Opteron_G1,+cx16,+lahf_lm,+vme"
    assert pool.evc_mode is None
    assert pool.evc_modes == {"amd": "amd-greyhound", "intel": "intel-penryn"}
    assert pool.x86_64_level == "x86-64-v1"
    # A cross-vendor pool pins the guest's vendor (KVM would otherwise show each host's).
    assert export.qemu_cpu(pool) == "Opteron_G2,+vme,-svm,phys-bits=38,vendor=AuthenticAMD"


def test_passthrough_harpertown_to_shanghai_is_blocked_naming_ssse3_and_sse4_1(demo):
    harpertown, _, shanghai = demo
    verdict = compat.check(harpertown, shanghai, "host-passthrough", "kvm")
    assert verdict.verdict == "blocked"
    assert {"ssse3", "sse4_1"} <= set(verdict.missing)
    blockers = {(r.axis, r.severity) for r in verdict.reasons if r.severity == "blocker"}
    assert ("features", "blocker") in blockers and ("vendor", "blocker") in blockers
    # What fixes it: the common model with the vendor pinned (the 2008 demonstration's setup).
    assert (
        verdict.suggestion["guest_cpu"] == "Opteron_G2,+vme,-svm,phys-bits=38,vendor=AuthenticAMD"
    )
    assert verdict.suggestion["verdict"] == "safe-with-model"


def test_passthrough_missing_names_follow_the_vocabulary(demo):
    harpertown, _, shanghai = demo
    verdict = compat.check(harpertown, shanghai, vocabulary="qemu")
    assert {"ssse3", "sse4.1"} <= set(verdict.missing)


def test_baseline_guest_is_never_blocked_on_kvm_and_cross_vendor_only_warns(demo):
    # QEMU gives the model each host's vendor unless the spec pins it: unpinned, crossing vendors
    # is the vendor hazard (warning); pinned, an info reason.
    pinned = "vendor=" in baseline.compute(demo).qemu_spec
    for source in demo:
        for destination in demo:
            verdict = compat.check(source, destination, "baseline", "kvm", pool=demo)
            assert verdict.verdict != "blocked"
            cross = source.identity.vendor != destination.identity.vendor
            if cross and not pinned:
                assert verdict.verdict == "risky"
                assert {r.severity for r in verdict.reasons} <= {"warning", "info"}
                assert [r.axis for r in verdict.reasons if r.severity == "warning"] == ["vendor"]
            else:
                assert verdict.verdict == "safe-with-model"
                assert verdict.guest_model.startswith("Opteron_G2,+vme,-svm")


def test_the_2008_pool_on_kvm_is_what_qemu_does(demo):
    """Harpertown E5462 -> Barcelona 2350 -> Shanghai 2378 with the pool's common model."""
    unpinned = matrix.compute(demo, "Opteron_G2,phys-bits=38", "kvm")
    assert unpinned.to_dict()["verdicts"] == [
        ["safe-with-model", "risky", "risky"],
        ["risky", "safe-with-model", "safe-with-model"],
        ["risky", "safe-with-model", "safe-with-model"],
    ]
    harpertown, barcelona, shanghai = demo
    hop = compat.check(harpertown, barcelona, "Opteron_G2,phys-bits=38", "kvm")
    [vendor] = [r for r in hop.reasons if r.axis == "vendor"]
    assert "boots as Intel and sees AMD" in vendor.message
    pinned = matrix.compute(demo, "Opteron_G2,vendor=GenuineIntel,phys-bits=38", "kvm")
    assert set(pinned.to_dict()["verdicts"][0] + pinned.to_dict()["verdicts"][2]) == {
        "safe-with-model"
    }
    # QEMU's KVM defaults: Opteron_G2's svm is off, so Harpertown (no svm) can run it
    assert compat.check(harpertown, shanghai, "Opteron_G2,phys-bits=38").missing == []


def test_vmware_blocks_every_cross_vendor_pair(demo):
    for guest in ("host-passthrough", "host-model", "baseline", "Opteron_G2,-svm", "kvm64"):
        for source in demo:
            for destination in demo:
                verdict = compat.check(source, destination, guest, "vmware", pool=demo)
                if source.identity.vendor != destination.identity.vendor:
                    assert verdict.verdict == "blocked"
                    assert any(
                        r.axis == "vendor" and r.severity == "blocker" for r in verdict.reasons
                    )


def test_vmware_within_amd_uses_the_greyhound_evc_mode(demo):
    _, barcelona, shanghai = demo
    verdict = compat.check(barcelona, shanghai, "baseline", "vmware")
    assert verdict.guest_model == "amd-greyhound"
    assert verdict.verdict == "safe-with-model"


def test_directed_verdicts_differ_for_barcelona_and_shanghai(demo):
    _, barcelona, shanghai = demo
    forward = compat.check(barcelona, shanghai, "host-passthrough")
    backward = compat.check(shanghai, barcelona, "host-passthrough")
    # Shanghai offers all of Barcelona's features and QEMU's -cpu host drops invtsc
    # (migratable=on): nothing blocks, but passthrough between different CPUs is risky, and the
    # guest sees svm (nested).  The other way, Barcelona lacks Shanghai features.
    assert forward.missing == []
    assert forward.verdict == "risky"
    assert {r.axis for r in forward.reasons if r.severity == "warning"} == {
        "identity",
        "nested virt",
    }
    assert backward.verdict == "blocked"
    assert "nrip_save" in backward.missing
    # skinit and wdt are Shanghai's too, but no hypervisor passes them to a guest: no gap.
    assert not {"skinit", "wdt"} & set(backward.missing)
    assert compat.check(barcelona, shanghai, "host-model").verdict == "risky"  # nested: svm


def test_matrix_of_the_demo_pool(demo):
    result = matrix.compute(demo, "baseline", "kvm")
    cross = "safe-with-model" if "vendor=" in baseline.compute(demo).qemu_spec else "risky"
    assert result.to_dict()["verdicts"] == [
        ["safe-with-model", cross, cross],
        [cross, "safe-with-model", "safe-with-model"],
        [cross, "safe-with-model", "safe-with-model"],
    ]
    assert result.missing.tolist() == [[0, 0, 0]] * 3
    assert len(TABLE) == 290
