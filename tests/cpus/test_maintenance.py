"""import_dumps, re-decoding stored reports when the decoder changes, and the admin."""

import io
import shutil

import pytest
from django.core.management import call_command

from cpus import services
from cpus.cpuid import TABLE
from cpus.models import CpuModel, FeatureSet, Host, HostReport, RedecodeRun
from cpus.tasks import redecode_reports


@pytest.mark.django_db
def test_import_dumps_imports_a_folder_with_progress_and_summary(tmp_path, dump_bytes):
    for name in [
        "aida64_Opteron2378_Shanghai_2S_libcpuid.txt",
        "libcpuidraw_XeonE5420_Harpertown.txt",
    ]:
        (tmp_path / name).write_bytes(dump_bytes(name))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "notes.txt").write_text("these are my notes, not a dump\n")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exit_status:
        call_command(
            "import_dumps", str(tmp_path), "--hosts", "--tag", "lab", stdout=out, stderr=err
        )
    assert exit_status.value.code == 2
    summary = out.getvalue()
    assert "added: 2, duplicate: 0, refused: 1" in summary
    assert f"{tmp_path / 'sub' / 'notes.txt'}:1: not a recognised" in summary
    assert "3/3" in err.getvalue()
    assert set(Host.objects.values_list("name", flat=True)) == {
        "aida64_Opteron2378_Shanghai_2S_libcpuid",
        "libcpuidraw_XeonE5420_Harpertown",
    }
    assert all(host.tags.filter(name="lab").exists() for host in Host.objects.all())

    out = io.StringIO()
    shutil.rmtree(tmp_path / "sub")
    call_command("import_dumps", str(tmp_path), stdout=out, stderr=io.StringIO())
    assert "added: 0, duplicate: 2, refused: 0" in out.getvalue()


@pytest.mark.django_db
def test_reports_from_an_older_decoder_are_re_decoded_with_progress(dump_bytes):
    report, _ = services.report_ingest(
        raw=dump_bytes("aida64_XeonE5462_Harpertown_2S_libcpuid.txt")
    )
    good_set = report.feature_set_id
    # What an older decoder could have stored: no syscall (read outside 64-bit mode), v0.9.
    syscall = TABLE.by_name["syscall"]
    stale_set = services.feature_set_for(mask=report.feature_set.feature_mask & ~syscall.mask)
    assert stale_set.pk != good_set
    HostReport.objects.filter(pk=report.pk).update(
        decoder_version="0.9", feature_set=stale_set, phys_bits=36
    )
    run = services.redecode_run_start()
    assert (run.total, run.done, run.status) == (1, 0, "pending")
    result = redecode_reports.apply(args=[run.pk]).get()
    assert result == {"run": run.pk, "status": "succeeded", "done": 1, "total": 1}
    report.refresh_from_db()
    assert (report.decoder_version, report.feature_set_id, report.phys_bits) == (
        "1.0",
        good_set,
        38,
    )
    assert services.redecode_run_start() is None
    assert RedecodeRun.objects.get().finished_at is not None


@pytest.mark.django_db
def test_admin_lists_every_catalog_model(admin_client, dump_bytes):
    services.report_ingest(raw=dump_bytes("libcpuidraw_XeonE5420_Harpertown.txt"), host_name="h1")
    for model in [
        "feature",
        "featureset",
        "cpumodel",
        "hostreport",
        "host",
        "pooltag",
        "guestcpumodel",
        "redecoderun",
    ]:
        assert admin_client.get(f"/admin/cpus/{model}/").status_code == 200, model
    assert (
        admin_client.get(
            f"/admin/cpus/hostreport/{HostReport.objects.get().pk}/change/"
        ).status_code
        == 200
    )
    assert CpuModel.objects.count() == 1 and FeatureSet.objects.count() == 1


@pytest.mark.django_db
def test_seed_catalog_twice_changes_nothing_the_second_time():
    from django.core import serializers as django_serializers

    from cpus.models import GuestCpuModel
    from migrations_log.models import MigrationRecord

    call_command("seed_catalog", stdout=io.StringIO())
    models = [HostReport, Host, CpuModel, FeatureSet, GuestCpuModel, MigrationRecord]

    def snapshot():
        return {
            m.__name__: django_serializers.serialize("json", m.objects.order_by("pk"))
            for m in models
        }

    first = snapshot()
    assert HostReport.objects.count() >= 22 and GuestCpuModel.objects.count() > 100
    assert CpuModel.objects.filter(codename="Shanghai").exists()
    out = io.StringIO()
    call_command("seed_catalog", stdout=out)
    assert "0 added" in out.getvalue()
    assert snapshot() == first
