"""The served OpenAPI schema describes the answers the engine really gives.

Every endpoint whose answer comes from the engine is asked a real question about real dumps
(tests/dumps), and its JSON is validated with ``jsonschema`` against the response schema that
/api/schema/ serves for that operation: closed components (``additionalProperties: false``)
make an undocumented key fail, required keys make a missing one fail, enums a value outside
the core's registries.  The answers are rendered by the same serializers that make those
components (kbsite/output.py); a key the engine adds without its serializer fails the render.
"""

import copy
import datetime
import json

import jsonschema
import pytest
from django.test import Client
from rest_framework.test import APIClient

from cpus import services
from cpus.compat import runs
from cpus.compat.api import schemas
from cpus.cpuid import (
    baseline,
    compat,
    decode,
    export,
    guest_os,
    orchestrators,
    policies,
    preflight,
    table,
    vmconfig,
)
from cpus.models import CpuModel, Host, HostReport, MatrixRun
from kbsite.output import UndeclaredKeys
from kbsite.verdict_output import VerdictSerializer
from migrations_log import services as ledger
from tests.samples import DUMPS

POOL = {
    "harpertown": "aida64_XeonE5462_Harpertown_2S_libcpuid.txt",
    "shanghai": "aida64_Opteron2378_Shanghai_2S_libcpuid.txt",
    "naples": "libcpuidraw_EPYC7551P_Naples.txt",
    "skylake": "aida64_XeonGold_SkylakeSP_libcpuid.txt",
}
STACK = {"qemu_version": "7.2.0", "libvirt_version": "9.0.0", "kernel_release": "6.1.0-18-amd64"}
KUBEVIRT_VM = (
    "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nspec:\n"
    "  domain:\n    cpu:\n      model: Penryn\n"
)


# --- The served schema as JSON Schema ---------------------------------------------------------


@pytest.fixture(scope="module")
def served(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _json_schema(node):
    """OpenAPI 3.0 -> JSON Schema: ``nullable: true`` becomes a null alternative."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def response_schema(served: dict, path: str, method: str, status: str = "200") -> dict:
    operation = served["paths"][path][method]
    return operation["responses"][status]["content"]["application/json"]["schema"]


def validate(served: dict, path: str, method: str, body, status: str = "200") -> None:
    """``body`` against the schema /api/schema/ serves for this operation's answer."""
    root = {
        **_json_schema(response_schema(served, path, method, status)),
        "components": {"schemas": _json_schema(served["components"]["schemas"])},
    }
    jsonschema.Draft202012Validator(root).validate(body)


def component(served: dict, name: str) -> dict:
    return served["components"]["schemas"][name]


# --- Real hosts -------------------------------------------------------------------------------


@pytest.fixture
def pool(db) -> dict[str, HostReport]:
    services.feature_sync()
    reports = {}
    for name, file in POOL.items():
        reports[name], _ = services.report_ingest(
            raw=(DUMPS / file).read_bytes(),
            host_name=name,
            tags=("schema-pool",),
            stack=STACK if name == "naples" else None,
        )
    return reports


def post(path: str, body: dict):
    return APIClient().post(path, body, format="json")


def ok(response) -> dict:
    assert response.status_code in (200, 201), response.content[:2000]
    return response.json()


# --- The compatibility engine's answers -------------------------------------------------------


@pytest.mark.parametrize(
    ("guest_cpu", "hypervisor"),
    [
        ("baseline", "kvm"),
        ("host-passthrough", "kvm"),
        ("host-model", "vmware"),
        ("host-passthrough", "hyperv"),
        ("Penryn,-vmx", "kvm"),
    ],
)
def test_compat_check_answers_match_the_schema(served, pool, guest_cpu, hypervisor):
    body = ok(
        post(
            "/api/compat/check",
            {
                "source": {"host": "skylake"},
                "destination": {"host": "harpertown"},
                "guest_cpu": guest_cpu,
                "hypervisor": hypervisor,
                "guest_os": "rhel-9",
            },
        )
    )
    validate(served, "/api/compat/check", "post", body)
    assert body["reasons"], "a Skylake guest on Harpertown has findings"


@pytest.mark.parametrize("hypervisor", ["kvm", "hyperv"])
def test_suggestions_are_checked_against_their_schema_too(served, pool, hypervisor):
    """KVM suggests a named model; Hyper-V a compatibility mode (a key only it gives)."""
    body = ok(
        post(
            "/api/compat/check",
            {
                "source": {"host": "shanghai"},
                "destination": {"host": "naples"},
                "hypervisor": hypervisor,
            },
        )
    )
    assert body["suggestion"] is not None
    assert ("hyperv_compatibility" in body["suggestion"]) is (hypervisor == "hyperv")
    validate(served, "/api/compat/check", "post", body)


def test_pool_baseline_with_exports_matches_the_schema(served, pool):
    for request in (
        {"hosts": [{"host": name} for name in POOL], "guest_os": "rhel-10"},
        {"tag": "schema-pool", "names": "libvirt"},
        {"hosts": [{"host": "harpertown"}, {"host": "shanghai"}]},
    ):
        body = ok(post("/api/pools/baseline", request))
        validate(served, "/api/pools/baseline", "post", body)
    assert body["exports"]["orchestrators"]["vsphere"]["modes"]


def test_vm_preflight_with_and_without_a_source_matches_the_schema(served, pool):
    with_source = ok(
        post(
            "/api/vms/preflight",
            {"vm": KUBEVIRT_VM, "source": {"host": "harpertown"}, "guest_os": "rhel-9"},
        )
    )
    validate(served, "/api/vms/preflight", "post", with_source)
    assert with_source["destinations"] and with_source["reasons_inline"] is True
    without_source = ok(post("/api/vms/preflight", {"vm": KUBEVIRT_VM, "pool": "schema-pool"}))
    validate(served, "/api/vms/preflight", "post", without_source)
    hosts = {entry["host"] for entry in without_source["destinations"]}
    assert hosts == set(POOL)


def test_pool_plan_matches_the_schema(served, pool):
    skylake = CpuModel.objects.get(reports=pool["skylake"])
    body = ok(
        post(
            "/api/pools/plan",
            {
                "hosts": [{"host": "harpertown"}, {"host": "shanghai"}, {"host": "naples"}],
                "add": [{"cpu_model": skylake.pk, "count": 2}],
                "retire": ["harpertown"],
            },
        )
    )
    validate(served, "/api/pools/plan", "post", body)
    assert body["stranded"] and body["standardisation"]


def test_matrix_run_results_and_cell_match_the_schema(served, pool, settings):
    settings.CPUKB_MATRIX_TILE_PAIRS = 50
    hosts = list(Host.objects.filter(tags__name="schema-pool").order_by("pk"))
    run = MatrixRun.objects.create(
        selection={"tag": "schema-pool"},
        guest_cpu="host-model",
        host_ids=[host.pk for host in hosts],
        host_labels=[host.name for host in hosts],
    )
    for index in runs.matrix_run_prepare(run):
        runs.matrix_run_tile(run, index)
    run.refresh_from_db()
    assert run.status == MatrixRun.Status.SUCCEEDED
    client = APIClient()
    for hypervisor in policies.HYPERVISORS:
        results = ok(client.get(f"/api/matrix-runs/{run.pk}/results/?hypervisor={hypervisor}"))
        validate(served, "/api/matrix-runs/{id}/results/", "get", results)
        assert results["levels"] == list(compat.LEVELS) and results["rows"]
        cell = ok(
            client.get(
                f"/api/matrix-runs/{run.pk}/cell/?hypervisor={hypervisor}"
                f"&source={hosts[0].pk}&destination={hosts[-1].pk}"
            )
        )
        validate(served, "/api/matrix-runs/{id}/cell/", "get", cell)


def test_report_detail_with_a_stack_matches_the_schema(served, pool):
    body = ok(APIClient().get(f"/api/reports/{pool['naples'].pk}/"))
    validate(served, "/api/reports/{id}/", "get", body)
    assert body["stack"]["qemu_version"] == "7.2.0"
    bare = ok(APIClient().get(f"/api/reports/{pool['shanghai'].pk}/"))
    validate(served, "/api/reports/{id}/", "get", bare)


# --- The ledger's answers ---------------------------------------------------------------------


@pytest.fixture
def records(pool):
    made = []
    for source, destination, guest_cpu, hypervisor, outcome, message in (
        ("skylake", "harpertown", "host-passthrough", "kvm", "refused-before-start", ""),
        ("harpertown", "shanghai", "Penryn", "kvm", "succeeded", ""),
        ("harpertown", "naples", "host-model", "vmware", "failed-during", "EVC mode mismatch"),
        ("shanghai", "naples", "host-passthrough", "xen", "succeeded", ""),
    ):
        made.append(
            ledger.migration_record(
                source=pool[source],
                destination=pool[destination],
                guest_cpu=guest_cpu,
                hypervisor=hypervisor,
                outcome=outcome,
                happened_on=datetime.date(2024, 5, 1),
                error_message=message,
            )
        )
    return made


def test_ledger_answers_match_the_schema(served, records):
    api = APIClient()
    for record in records:
        detail = ok(api.get(f"/api/migrations/{record.pk}/"))
        validate(served, "/api/migrations/{id}/", "get", detail)
        again = ok(api.get(f"/api/migrations/{record.pk}/reevaluate/"))
        validate(served, "/api/migrations/{id}/reevaluate/", "get", again)
    listed = ok(api.get("/api/migrations/"))
    validate(served, "/api/migrations/", "get", listed)
    accuracy = ok(api.get("/api/migrations/accuracy/"))
    validate(served, "/api/migrations/accuracy/", "get", accuracy)
    assert accuracy["hypervisors"]
    # An older engine said otherwise for one record: the re-evaluation lists it.
    stored = records[0]
    stored.prediction = {**stored.prediction, "verdict": "safe", "engine_version": "1.1"}
    stored.predicted_verdict, stored.engine_version = "safe", "1.1"
    stored.save()
    changed = ok(api.get("/api/migrations/reevaluation/"))
    validate(served, "/api/migrations/reevaluation/", "get", changed)
    assert [entry["record"] for entry in changed["changed"]] == [stored.pk]
    explained = ok(
        post(
            "/api/migrations/explain-error/",
            {"message": "warning: host doesn't support requested feature: CPUID.01H:ECX.sse4.1"},
        )
    )
    validate(served, "/api/migrations/explain-error/", "post", explained)


def test_a_recorded_migration_answer_matches_the_schema(served, pool, api_client_member):
    created = api_client_member.post(
        "/api/migrations/",
        {
            "source": {"host": "skylake"},
            "destination": {"host": "shanghai"},
            "guest_cpu": "host-model",
            "hypervisor": "kvm",
            "outcome": "refused-before-start",
            "happened_on": "2024-05-01",
            "error_message": "the CPU is incompatible with host CPU: Host CPU does not provide "
            "required features: avx2",
        },
        format="json",
    )
    body = ok(created)
    validate(served, "/api/migrations/", "post", body, status="201")
    assert body["prediction"]["verdict"] == "blocked" and body["explanation"]["matched"]


@pytest.fixture
def api_client_member(db, django_user_model):
    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_user("schema-member"))
    return client


# --- The guards themselves --------------------------------------------------------------------


def test_an_undocumented_key_fails_the_schema(served, pool):
    body = ok(
        post(
            "/api/compat/check",
            {"source": {"host": "skylake"}, "destination": {"host": "harpertown"}},
        )
    )
    validate(served, "/api/compat/check", "post", body)
    for change in (
        lambda b: b.update(surprise=1),
        lambda b: b["reasons"][0].update(surprise=1),
        lambda b: b.update(verdict="maybe"),
        lambda b: b.pop("missing"),
    ):
        drifted = copy.deepcopy(body)
        change(drifted)
        with pytest.raises(jsonschema.ValidationError):
            validate(served, "/api/compat/check", "post", drifted)


def test_a_key_the_engine_adds_without_its_serializer_fails_the_answer(pool, monkeypatch):
    """The engine's forms go through the serializer: a new key is an error, not a silent gap."""
    to_dict = compat.Verdict.to_dict
    monkeypatch.setattr(compat.Verdict, "to_dict", lambda self: {**to_dict(self), "surprise": 1})
    with pytest.raises(UndeclaredKeys, match="surprise"):
        post(
            "/api/compat/check",
            {"source": {"host": "naples"}, "destination": {"host": "shanghai"}},
        )


def test_enums_come_from_the_core(served):
    assert component(served, "VerdictLevelEnum")["enum"] == list(compat.LEVELS)
    assert component(served, "EngineHypervisorEnum")["enum"] == list(policies.HYPERVISORS)
    assert component(served, "SeverityEnum")["enum"] == list(compat.SEVERITIES)
    assert component(served, "AxisEnum")["enum"] == list(compat.AXES)
    assert component(served, "FormatEnum")["enum"] == list(vmconfig.FORMATS)
    # The requests' ?names= / "names" choices: the core's vocabularies.
    assert component(served, "VocabularyEnum")["enum"] == list(table.VOCABULARIES)
    assert list(component(served, "LevelCounts")["properties"]) == list(compat.LEVELS)


def test_engine_answers_are_closed_components(served):
    for name in (
        "Verdict",
        "Reason",
        "Suggestion",
        "PoolBaseline",
        "Exports",
        "Orchestrators",
        "Preflight",
        "Destination",
        "PoolPlan",
        "RunResults",
        "Prediction",
        "Reevaluation",
        "LedgerReevaluation",
        "Accuracy",
        "Explanation",
    ):
        assert component(served, name)["additionalProperties"] is False, name


def test_rendering_gives_exactly_what_the_engine_returned():
    """The serializers change no value: the API answers are the engine's forms, as before."""
    hosts = [decode((DUMPS / file).read_bytes()) for file in POOL.values()]
    for hypervisor in policies.HYPERVISORS:
        verdict = compat.check(hosts[1], hosts[2], "host-passthrough", hypervisor).to_dict()
        assert VerdictSerializer(verdict).data == verdict
    pool_result = baseline.compute(hosts)
    body = pool_result.to_dict()
    body["exports"] = export.all_exports(pool_result)
    body["exports"]["orchestrators"] = orchestrators.all_orchestrators(pool_result)
    body["guest_os"] = guest_os.runnable(pool_result.feature_mask)
    assert schemas.PoolBaselineSerializer(body).data == json.loads(json.dumps(body))
    vm = vmconfig.parse(KUBEVIRT_VM)
    answer = preflight.run(vm.guest_cpu, hosts[0], hosts[1:], labels=["a", "b", "c"])
    body = {"vm": vm.to_dict(), **answer.to_dict()}
    for entry in body["destinations"]:
        entry["host_id"] = None
    assert schemas.PreflightSerializer(body).data == json.loads(json.dumps(body))
