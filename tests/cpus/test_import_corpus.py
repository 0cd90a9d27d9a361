"""import_dumps on a generated collection (copies of the real samples under varied names,
folders and layouts, duplicates and junk): the summary counts are right, the pool of decoding
processes gives the same result, and an interrupted run stores nothing by halves and is
completed by a rerun."""

import importlib.util
import io
import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from cpus.models import CpuModel, HostReport

_spec = importlib.util.spec_from_file_location(
    "dump_corpus", settings.BASE_DIR / "tests" / "cpus" / "dump_corpus.py"
)
dump_corpus = sys.modules.setdefault("dump_corpus", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(dump_corpus)
generate = dump_corpus.generate


def run(folder, *args):
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as status:
        call_command("import_dumps", str(folder), *args, stdout=out, stderr=err)
    return status.value.code, out.getvalue(), err.getvalue()


@pytest.mark.django_db(transaction=True)
def test_a_mixed_collection_is_counted_right_with_the_process_pool(tmp_path):
    corpus = generate(tmp_path, per_sample=2, copies=1)
    assert corpus.files > 100
    code, out, err = run(tmp_path, "--jobs", "2")
    assert code == 2  # junk was refused
    assert (
        f"added: {corpus.distinct}, duplicate: {corpus.duplicates}, refused: {corpus.refused}"
        in out
    )
    assert f"{corpus.files}/{corpus.files}" in err
    for name in ("notes.txt", "empty.txt", "photo.jpg", "half.xml"):
        assert any(
            line.strip().startswith(str(tmp_path)) and name in line for line in out.splitlines()
        )
    assert "photo.jpg:1: binary data" in out or "photo.jpg:1: not UTF-8" in out
    assert HostReport.objects.count() == corpus.distinct
    assert HostReport.objects.filter(cpu_model__isnull=True).count() == 0
    # One CPU model per real CPU, not per copy.
    assert CpuModel.objects.count() < corpus.distinct // 2

    code, out, _ = run(tmp_path, "--jobs", "1")
    assert f"added: 0, duplicate: {corpus.files - corpus.refused}, refused: {corpus.refused}" in out


def _subprocess_env() -> dict:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_import_stores_whole_files_and_a_rerun_completes_it(tmp_path):
    corpus = generate(tmp_path / "c", per_sample=6, copies=1)
    command = [sys.executable, "manage.py", "import_dumps", str(tmp_path / "c"), "--jobs", "2"]
    process = subprocess.Popen(
        command,
        cwd=settings.BASE_DIR,
        env=_subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # Wait until some files are stored, then press Ctrl-C.
    deadline = time.monotonic() + 60
    while HostReport.objects.count() < 20 and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    out = out.decode()
    assert process.returncode == 130, (out, err.decode())
    assert "interrupted after" in out
    stored = HostReport.objects.count()
    assert 20 <= stored < corpus.distinct
    # Nothing half-stored: every report has its feature set, CPU model and features.
    assert HostReport.objects.filter(cpu_model__isnull=True).count() == 0
    assert HostReport.objects.filter(feature_set__isnull=True).count() == 0
    summary = next(line for line in out.splitlines() if line.startswith("added:"))
    assert summary.startswith(f"added: {stored},")

    rerun = subprocess.run(
        command, cwd=settings.BASE_DIR, env=_subprocess_env(), capture_output=True
    )
    assert rerun.returncode == 2, rerun.stderr.decode()  # the junk files
    added = corpus.distinct - stored
    duplicates = corpus.files - corpus.refused - added
    assert (
        f"added: {added}, duplicate: {duplicates}, refused: {corpus.refused}"
        in rerun.stdout.decode()
    )
    assert HostReport.objects.count() == corpus.distinct
