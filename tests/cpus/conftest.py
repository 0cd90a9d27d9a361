"""Catalog fixtures: real dumps ingested through the service, an API client with a user."""

import json
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from cpus import services
from tests.samples import DUMPS

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "cpus" / "seed"


@pytest.fixture
def seed_hosts(db):
    """Ingest every seed dump as a host report, as seed_catalog does (without guest models)."""
    manifest = json.loads((SEED / "catalog.json").read_text())
    services.feature_sync()
    for entry in manifest["hosts"]:
        services.report_ingest(
            raw=(SEED / "dumps" / entry["file"]).read_bytes(),
            host_name=entry["host"],
            tags=tuple(entry["tags"]),
            label=services.CpuLabel(
                entry["codename"], entry["microarchitecture"], entry["launch_year"]
            ),
        )
    return manifest["hosts"]


@pytest.fixture
def api(db, django_user_model):
    client = APIClient()
    user = django_user_model.objects.create_user("uploader", password="pw-uploader-1")
    client.force_authenticate(user)
    client.user = user
    return client


@pytest.fixture
def dump_bytes():
    def read(name: str) -> bytes:
        return (DUMPS / name).read_bytes()

    return read
