"""Planning (cpus/cpuid/planning.py): planned hosts, standardisation, stranded VMs."""

from dataclasses import replace

from cpus.cpuid import baseline, compat, planning
from cpus.cpuid.baseline import host_view

GENOA = "aida64_EPYC9124_Genoa_libcpuid.txt"
INTEL = (
    "aida64_XeonE5462_Harpertown_2S_libcpuid.txt",
    "aida64_XeonX5667_WestmereEP_libcpuid.txt",
    "aida64_XeonGold_SkylakeSP_libcpuid.txt",
    "aida64_XeonGold_CascadeLakeSP_libcpuid.txt",
    "aida64_XeonW9-3475X_SapphireRapids_libcpuid.txt",
)


def test_planned_hosts_change_the_baseline_as_real_ones(demo, hosts):
    pool = [host_view(d, f"h{i}") for i, d in enumerate(demo)]
    genoa = hosts[GENOA]
    planned = planning.what_if(pool, planning.hypothetical(genoa, 4, "EPYC 9124"))
    real = baseline.compute(pool + [replace(genoa, label=f"real {i}") for i in range(4)])
    after = planned["baseline_after"]
    assert replace(after, notes=()) == replace(real, notes=())
    assert planned["after"]["hosts"] == 7 and len(planned["added"]) == 4


def test_standardisation_options_hold_on_every_kept_host(hosts):
    pool = [hosts[name] for name in INTEL]
    options = planning.standardisation(pool)
    assert options[0]["fitted"] and options[0]["keeps"] == len(pool)
    assert [len(o["drops"]) for o in options] == sorted(len(o["drops"]) for o in options)
    for option in options[1:]:
        for view in pool:
            verdict = compat.check(view, view, option["guest_model"], "kvm", suggest=False)
            cannot = any("the source lacks" in r.message for r in verdict.reasons)
            assert cannot == (view.label in option["drops"]), (option["guest_model"], view.label)
    assert any(o["drops"] and "avx512f" in o["gained"] for o in options)


def test_stranded_is_the_new_hosts_matrix_column(hosts):
    pool = [hosts[name] for name in INTEL]
    genoa = hosts[GENOA]
    for row, view in zip(planning.stranded(pool, genoa), pool, strict=True):
        for guest in ("host-passthrough", "host-model"):
            assert row[guest] == compat.check(view, genoa, guest, "kvm").verdict
        assert row["stranded"] == ("blocked" in (row["host-passthrough"], row["host-model"]))
