"""The same dump gets the same verdict whether it is pasted inline or stored as a host: every
per-host fact the engine reads is stored (HostReport.host_facts), and both stored paths (the ORM
one and the one-query host path) rebuild the same HostView (docs/baselines-and-exports.md)."""

import dataclasses

import pytest

from cpus import selectors
from cpus.cpuid import baseline, compat, decode
from cpus.cpuid.baseline import host_view
from cpus.models import Host

GUESTS = ("host-passthrough", "Opteron_G2", "Penryn", "baseline")
EVC = {"GenuineIntel": "intel-merom", "AuthenticAMD": "amd-rev-e"}
PARTNERS = ("epyc-9124-genoa", "xeon-e5462-harpertown", "opteron-2378-shanghai")


@pytest.fixture
def views(seed_hosts):
    """name -> (inline HostView, ORM HostView, one-query HostView), labelled alike."""
    hosts = Host.objects.select_related("current_report__feature_set", "current_report__host")
    by_ref = selectors.host_views_by_ref([h.name for h in hosts])
    out = {}
    for host in hosts:
        report = host.current_report
        inline = host_view(decode(report.raw), host.name)
        out[host.name] = (inline, selectors.report_host_view(report, host.name), by_ref[host.name])
    return out


@pytest.mark.django_db
def test_every_seed_dump_stores_the_facts_the_engine_reads(views):
    for name, (inline, orm, one_query) in views.items():
        assert orm.assists == inline.assists, name
        assert orm == inline and one_query == inline, (name, _diff(orm.identity, inline.identity))


@pytest.mark.django_db
def test_a_stored_genoa_gets_the_inline_vmware_verdict(views):
    inline, orm, one_query = views["epyc-9124-genoa"]
    # Genoa's CpuidUserDis is enumerated from its raw CPUID 0x80000021: identity alone cannot.
    assert "amd-cpuid-user-dis" in baseline.host_assists(orm).available_keys
    naples = views["epyc-7551p-naples"][0]
    for stored in (orm, one_query):
        assert compat.check(stored, naples, "amd-zen", "vmware").to_dict() == (
            compat.check(inline, naples, "amd-zen", "vmware").to_dict()
        )


@pytest.mark.django_db
@pytest.mark.parametrize("hypervisor", compat.HYPERVISORS)
def test_check_through_a_stored_host_equals_check_on_the_inline_dump(views, hypervisor):
    names = sorted(views)
    assert len(names) >= 20
    for name in names:
        inline, orm, one_query = views[name]
        vendor_mode = EVC.get(inline.identity.vendor)
        guests = GUESTS + ((vendor_mode,) if vendor_mode and hypervisor == "vmware" else ())
        for partner in PARTNERS:
            other_inline, other_orm, _ = views[partner]
            for guest in guests:
                pool = [inline, other_inline]
                expected = compat.check(inline, other_inline, guest, hypervisor, pool=pool)
                for stored in (orm, one_query):
                    got = compat.check(
                        stored, other_orm, guest, hypervisor, pool=[stored, other_orm]
                    )
                    assert got.to_dict() == expected.to_dict(), (name, partner, guest)
                    back = compat.check(
                        other_orm, stored, guest, hypervisor, pool=[stored, other_orm]
                    )
                    assert (
                        back.to_dict()
                        == compat.check(
                            other_inline, inline, guest, hypervisor, pool=pool
                        ).to_dict()
                    ), (partner, name, guest)


def _diff(a, b) -> dict:
    return {
        f.name: (getattr(a, f.name), getattr(b, f.name))
        for f in dataclasses.fields(a)
        if getattr(a, f.name) != getattr(b, f.name)
    }
