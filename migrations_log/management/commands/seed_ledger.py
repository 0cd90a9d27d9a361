"""``manage.py seed_ledger``: load the documented real migration outcomes (idempotent).

Each side of a record is either a seed host of the catalog (``source_cpu`` /
``destination_cpu``: a real dump) or, when the catalog has no real dump of that CPU, a stand-in
(``source_standin`` / ``destination_standin``): QEMU 7.2's published model definition of the
same generation and vendor, stored in ``cpus/seed/standins/qemu-7.2-<Model>.json`` as a
``query-cpu-model-expansion`` reply.  ``--write-standins`` regenerates those files from the
bundled QEMU 7.2 snapshot (see ``cpus/seed/standins/README.md``).
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cpus import services as cpu_services
from cpus.cpuid import TABLE, facts
from cpus.models import CATALOG_OWNER, Host
from migrations_log import services
from migrations_log.models import MigrationRecord

ROOT = Path(__file__).resolve().parents[3]
SEED = ROOT / "migrations_log" / "data" / "seed_ledger.json"
SEED_DUMPS = ROOT / "cpus" / "seed" / "dumps"
STANDINS = ROOT / "cpus" / "seed" / "standins"
QEMU_MODELS = facts.path("qemu-7.2-cpu-models.json")
# A real QEMU 7.2 ``query-cpu-model-expansion`` reply: its boolean props are QEMU 7.2's whole
# feature vocabulary (read only by --write-standins).  Kept with the seed dumps, never in tests/.
QEMU_VOCABULARY = SEED_DUMPS / "thismachine_qemu7.2_qmp_query-cpu-model-expansion_host.jsonl"
STANDIN_TAGS = ("seed", "stand-in")
VERSION_FIELDS = {
    "qemu": "qemu_version",
    "libvirt": "libvirt_version",
    "machine_type": "machine_type",
    "esxi": "esxi_version",
    "evc_mode": "evc_mode",
    "hyperv": "hyperv_version",
    "compatibility_mode": "compatibility_mode",
    "xen": "xen_version",
}


def standin_path(model: str) -> Path:
    return STANDINS / f"qemu-7.2-{model}.json"


def standin_host_name(model: str) -> str:
    return f"qemu-model-{model}"


def qemu_vocabulary(path: Path = QEMU_VOCABULARY) -> list[str]:
    """QEMU 7.2's feature names: the boolean props of a real expansion reply that name a CPUID
    or MSR feature bit of our table."""
    for line in path.read_text().splitlines():
        document = json.loads(line) if line.strip() else None
        reply = document.get("return") if isinstance(document, dict) else None
        model = reply.get("model") if isinstance(reply, dict) else None
        if isinstance(model, dict) and isinstance(model.get("props"), dict):
            return [
                name
                for name, value in model["props"].items()
                if isinstance(value, bool) and TABLE.lookup(name, "qemu") is not None
            ]
    raise CommandError(f"no return.model.props in {path}")


def standin_document(model: str, models: dict, vocabulary: list[str]) -> str:
    """QEMU 7.2's static expansion of ``model`` as a complete QMP reply: every feature of the
    model true, every other QEMU 7.2 feature name false, then the model's scalar props."""
    try:
        expansion = models["static_expansion"][model]
    except KeyError:
        raise CommandError(f"QEMU 7.2 has no CPU model {model!r}") from None
    on = list(expansion["features"])
    on_bits = set()
    for name in on:
        feature = TABLE.lookup(name, "qemu")
        if feature is None:
            raise CommandError(f"{model}: QEMU feature {name!r} is not in the feature table")
        on_bits.add(feature.index)
    off = sorted(
        name
        for name in set(vocabulary) - set(on)
        if TABLE.lookup(name, "qemu").index not in on_bits
    )
    props = {name: True for name in on} | {name: False for name in off} | expansion["props"]
    reply = {"return": {"model": {"name": model, "props": props}}}
    return json.dumps(reply, indent=1, ensure_ascii=False) + "\n"


def standin_models(document: dict) -> list[str]:
    return sorted(
        {
            entry[key]
            for entry in document["records"]
            for key in ("source_standin", "destination_standin")
            if entry.get(key)
        }
    )


def write_standins(document: dict) -> list[Path]:
    models = facts.load(QEMU_MODELS.name)
    vocabulary = qemu_vocabulary()
    STANDINS.mkdir(parents=True, exist_ok=True)
    written = []
    for model in standin_models(document):
        path = standin_path(model)
        path.write_text(standin_document(model, models, vocabulary))
        written.append(path)
    return written


def standin_sources(document: dict) -> dict[str, str]:
    """Per stand-in model, the source text of its report: the CPUs it stands in for, as the
    ledger's sources report them (one report per model, shared by its records)."""
    reported: dict[str, list[str]] = {}
    for entry in document["records"]:
        for side in ("source", "destination"):
            model = entry.get(f"{side}_standin")
            if model:
                text = entry.get(f"{side}_cpu_as_reported") or "not stated"
                if text not in reported.setdefault(model, []):
                    reported[model].append(text)
    return {
        model: f"QEMU 7.2 model definition {model} (stand-in for {'; '.join(texts)})"
        for model, texts in reported.items()
    }


def _side(entry: dict, side: str, hosts: dict, standins: dict, sources: dict[str, str]):
    """(report, host, stand-in model or None) for one side of a record, or None if unknown."""
    model = entry.get(f"{side}_standin")
    if model:
        if model not in standins:
            report, _ = cpu_services.report_ingest(
                raw=standin_path(model).read_text(),
                host_name=standin_host_name(model),
                source=sources[model],
                tags=STANDIN_TAGS,
            )
            standins[model] = report
        report = standins[model]
        return report, (report.host if report.host_id else None), model
    host = hosts.get(entry.get(f"{side}_cpu") or "")
    if host is None or host.current_report_id is None:
        return None
    return host.current_report, host, None


def _notes(entry: dict, standin: dict[str, str | None]) -> str:
    parts = []
    as_reported = (
        f"CPUs as reported: {entry.get('source_cpu_as_reported')} -> "
        f"{entry.get('destination_cpu_as_reported')}."
    )
    catalog_sides = [side for side in ("source", "destination") if not standin[side]]
    if any(standin.values()):
        parts.append(as_reported)
        for side in ("source", "destination"):
            model = standin[side]
            if model:
                parts.append(
                    f"STAND-IN {side}: the catalog has no real dump of that CPU, so the {side} is "
                    f"QEMU 7.2's published model definition {model} of the same generation and "
                    f"vendor (host {standin_host_name(model)}, "
                    f"cpus/seed/standins/qemu-7.2-{model}.json). It describes QEMU's model, not "
                    f"the measured host: features the real CPU has beyond the model are not seen."
                )
            else:
                match = (
                    "a catalog CPU of the same generation"
                    if entry.get("cpu_match") == "same-generation"
                    else "a catalog CPU"
                )
                parts.append(f"The {side} is {match} ({entry.get(f'{side}_cpu')}, a real dump).")
        if entry.get("standin_notes"):
            parts.append(entry["standin_notes"])
    elif entry.get("cpu_match") == "same-generation" and catalog_sides:
        parts.append(f"{as_reported[:-1]}; linked to catalog CPUs of the same generation.")
    if not entry.get("guest_cpu"):
        parts.append(
            "Guest CPU mode not stated by the source, so no prediction is stored for it "
            "(it does not count in the accuracy figures)."
        )
    if not entry.get("date"):
        parts.append(
            f"Date not stated by the source: happened_on is a lower bound "
            f"({entry['date_not_before']}), {entry.get('date_not_before_basis') or ''}".rstrip()
        )
    if entry.get("notes"):
        parts.append(entry["notes"])
    return " ".join(parts)


class Command(BaseCommand):
    help = (
        "Load the seed ledger: the 2008 KVM demonstration and real outcomes from public bug "
        "trackers and vendor documentation, each with its source URL. A CPU without a real dump "
        "in the catalog is represented by QEMU 7.2's published model of its generation "
        "(cpus/seed/standins/); records whose CPUs are not identifiable are listed and skipped. "
        "Running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--write-standins",
            action="store_true",
            help="regenerate cpus/seed/standins/qemu-7.2-<Model>.json for every stand-in model "
            "the seed ledger names, from the bundled QEMU 7.2 snapshot, and exit",
        )

    def handle(self, *args, **options):
        document = json.loads(SEED.read_text())
        if options.get("write_standins"):
            for path in write_standins(document):
                self.stdout.write(f"wrote {path.relative_to(ROOT)}")
            return
        hosts = {
            host.name: host
            for host in Host.objects.filter(owner__username=CATALOG_OWNER).select_related(
                "current_report"
            )
        }
        standins: dict = {}
        sources = standin_sources(document)
        added = known = 0
        skipped = []
        for entry in document["records"]:
            if MigrationRecord.objects.filter(seed_id=entry["id"]).exists():
                known += 1
                continue
            identifiable = all(
                entry.get(f"{side}_standin") or entry.get(f"{side}_cpu") in hosts
                for side in ("source", "destination")
            )
            date = entry.get("date") or entry.get("date_not_before")
            if not identifiable:
                skipped.append(f"{entry['id']} (CPUs not identified or not in the catalog)")
                continue
            if not date:
                skipped.append(f"{entry['id']} (no date)")
                continue
            missing = [
                standin_path(entry[key]).name
                for key in ("source_standin", "destination_standin")
                if entry.get(key) and not standin_path(entry[key]).is_file()
            ]
            if missing:
                skipped.append(f"{entry['id']} (stand-in file missing: {', '.join(missing)})")
                continue
            sides = {
                side: _side(entry, side, hosts, standins, sources)
                for side in ("source", "destination")
            }
            if None in sides.values():
                skipped.append(f"{entry['id']} (catalog host has no report)")
                continue
            (source, source_host, source_model) = sides["source"]
            (destination, destination_host, destination_model) = sides["destination"]
            versions = {
                VERSION_FIELDS[key]: value
                for key, value in (entry.get("versions") or {}).items()
                if key in VERSION_FIELDS and value is not None
            }
            services.migration_record(
                source=source,
                destination=destination,
                source_host=source_host,
                destination_host=destination_host,
                guest_cpu=entry.get("guest_cpu") or services.UNSTATED,
                hypervisor=entry["hypervisor"],
                outcome=entry["outcome"],
                happened_on=datetime.date.fromisoformat(date),
                error_message=entry.get("error_message") or "",
                guest_os=(entry.get("guest_os") or "")[:100],
                downtime_ms=entry.get("downtime_ms"),
                source_url=entry.get("source_url") or "",
                notes=_notes(entry, {"source": source_model, "destination": destination_model}),
                seed_id=entry["id"],
                **versions,
            )
            added += 1
        self.stdout.write(f"ledger: {added} records added, {known} already known")
        if standins:
            self.stdout.write(
                f"  stand-ins (QEMU 7.2 model definitions): {', '.join(sorted(standins))}"
            )
        if skipped:
            self.stdout.write(
                f"  not an error: {len(skipped)} documented outcomes are left out because the "
                f"catalog cannot stand for their CPUs: {', '.join(skipped)}"
            )
