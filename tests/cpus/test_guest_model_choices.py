"""Guest CPU models by generation, with a recommended choice per CPU, and the CPUs that can run
each model."""

import pytest

from cpus import selectors, services
from cpus.models import CpuModel, GuestCpuModel


@pytest.fixture
def catalog(seed_hosts):
    services.guest_models_sync()
    return seed_hosts


@pytest.mark.django_db
def test_guest_model_page_lists_exactly_the_cpus_that_run_it(client, catalog):
    guest = GuestCpuModel.objects.get(source="libvirt", name="Opteron_G3")
    html = client.get(f"/guest-models/{guest.pk}/").content.decode()

    expected = [
        cpu
        for cpu in CpuModel.objects.filter(vendor="AuthenticAMD").select_related("feature_set")
        if guest.feature_set.feature_mask & ~cpu.feature_set.feature_mask == 0
    ]
    section = html.split("CPUs in the catalog that can run it", 1)[1].split("<h2>", 1)[0]
    assert f"({len(expected)})" in section and expected
    for cpu in expected:
        assert f'href="/cpus/{cpu.pk}/"' in section
    assert "Xeon" not in section  # an AMD model: no Intel CPU is listed


@pytest.mark.django_db
def test_cpu_page_orders_guest_models_by_generation_and_recommends_one(client, catalog):
    cpu = CpuModel.objects.get(brand__contains="E5520")  # Nehalem
    html = client.get(f"/cpus/{cpu.pk}/").content.decode()
    qemu = html.split("<strong>QEMU</strong>:", 1)[1].split("</p>", 1)[0]

    runnable = selectors.guest_models_runnable_on(cpu.feature_set, cpu.vendor)
    recommended = GuestCpuModel.objects.filter(pk__in=selectors.recommended_guest_models(runnable))
    best = recommended.get(source="qemu")
    assert qemu.count(">recommended</span>") == 1
    assert f'>{best.name}</a> <span class="badge">recommended</span>' in qemu
    assert best.migration_safe and not best.deprecated
    shown = [g for g in selectors.by_generation(runnable) if g.source == "qemu"]
    assert qemu.index(f">{shown[0].name}</a>") < qemu.index(f">{shown[-1].name}</a>")
    counts = [g.feature_set.feature_count for g in shown]
    assert counts == sorted(counts)
    assert best.feature_set.feature_count == max(
        g.feature_set.feature_count for g in shown if g.migration_safe and not g.deprecated
    )
