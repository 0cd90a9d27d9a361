"""Writes to the ledger and the measurements derived from it."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from django.db import transaction

from cpus import selectors as cpu_selectors
from cpus.audit import audit
from cpus.cpuid import compat
from cpus.models import HostReport
from cpus.services import HostRefError, report_as_stored, report_for_ref, writer
from migrations_log.explain import explain
from migrations_log.models import Hypervisor, MigrationRecord, Outcome, Verdict

MAX_ERROR_MESSAGE = 64 * 1024
# The guest CPU of a documented outcome whose source does not say it: no prediction is made
# (guessing one would score the engine against our guess, not against what happened).
UNSTATED = "unstated"


class RecordError(ValueError):
    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


def predict(
    *, source: HostReport, destination: HostReport, guest_cpu: str, hypervisor: str
) -> dict:
    """The engine's answer for this pair and guest CPU, in the form stored with a record.

    Xen is outside the engine's policies, and an unstated guest CPU cannot be judged: such
    records get no prediction."""
    return _prediction(
        cpu_selectors.report_host_view(source),
        cpu_selectors.report_host_view(destination),
        guest_cpu,
        hypervisor,
    )


def _prediction(source, destination, guest_cpu: str, hypervisor: str) -> dict:
    """``predict`` for two HostViews (stored reports, or reports as they would be stored)."""
    if guest_cpu == UNSTATED:
        return {
            "verdict": Verdict.NONE,
            "reasons": [],
            "engine_version": compat.ENGINE_VERSION,
            "note": "the source does not say which guest CPU the VM used",
        }
    if hypervisor not in compat.HYPERVISORS:
        return {
            "verdict": Verdict.NONE,
            "reasons": [],
            "engine_version": compat.ENGINE_VERSION,
            "note": f"the engine has no {hypervisor} policy yet",
        }
    try:
        verdict = compat.check(source, destination, guest_cpu, hypervisor)
    except compat.GuestCpuError as error:
        raise RecordError(str(error), "guest_cpu") from None
    return {**verdict.to_dict(), "engine_version": compat.ENGINE_VERSION}


def migration_record(
    *,
    source: HostReport,
    destination: HostReport,
    guest_cpu: str,
    hypervisor: str,
    outcome: str,
    happened_on,
    submitter=None,
    source_host=None,
    destination_host=None,
    error_message: str = "",
    seed_id: str = "",
    **details,
) -> MigrationRecord:
    """Store an outcome with the prediction for it, computed now and never rewritten.
    ``submitter=None`` is the system (the seed ledger); an anonymous user is refused."""
    submitter = writer(submitter)
    if source.pk == destination.pk:
        raise RecordError("the source and the destination are the same host report", "destination")
    if hypervisor not in Hypervisor.values:
        raise RecordError(f"unknown hypervisor {hypervisor!r}", "hypervisor")
    if outcome not in Outcome.values:
        raise RecordError(f"unknown outcome {outcome!r}", "outcome")
    if len(error_message.encode("utf-8")) > MAX_ERROR_MESSAGE:
        raise RecordError(
            f"the error message is over {MAX_ERROR_MESSAGE // 1024} KiB", "error_message"
        )
    prediction = predict(
        source=source, destination=destination, guest_cpu=guest_cpu, hypervisor=hypervisor
    )
    explanation = explain(error_message).to_dict() if error_message.strip() else {}
    # A report that belongs to a host stands for that host unless the caller named another.
    source_host = source_host or (source.host if source.host_id else None)
    destination_host = destination_host or (destination.host if destination.host_id else None)
    with transaction.atomic():
        record = MigrationRecord.objects.create(
            source_report=source,
            destination_report=destination,
            source_host=source_host,
            destination_host=destination_host,
            guest_cpu=guest_cpu,
            hypervisor=hypervisor,
            outcome=outcome,
            happened_on=happened_on,
            submitter=submitter,
            error_message=error_message,
            explanation=explanation,
            predicted_verdict=prediction["verdict"],
            prediction=prediction,
            engine_version=prediction["engine_version"],
            seed_id=seed_id,
            **details,
        )
        audit(
            actor=submitter,
            action="recorded",
            obj=record,
            summary=f"{hypervisor}, {outcome}" + (f", seed {seed_id}" if seed_id else ""),
        )
    return record


def migration_record_from_refs(
    *, source: dict, destination: dict, submitter=None, **fields
) -> MigrationRecord:
    """Record a migration whose sides are references (``{"host": ...}``, ``{"report": id}``,
    ``{"cpu_model": id}``, ``{"raw": dump}``): inline dumps and the record are stored together
    or not at all.  Raises DumpParseError, HostRefError or RecordError (WriteRefused without
    an account)."""
    submitter = writer(submitter)
    with transaction.atomic():
        source_report = report_for_ref(source, uploaded_by=submitter, field="source")
        destination_report = report_for_ref(destination, uploaded_by=submitter, field="destination")
        return migration_record(
            source=source_report, destination=destination_report, submitter=submitter, **fields
        )


def migration_preview(
    *,
    source: dict,
    destination: dict,
    guest_cpu: str,
    hypervisor: str,
    error_message: str = "",
    submitter=None,
) -> dict:
    """What recording would say (the explanation of the error, our prediction), writing nothing:
    an inline dump is decoded in memory and judged as the report it would be once stored
    (``report_as_stored``), so the prediction equals the one a save stores."""
    prediction = _prediction(
        _preview_view(source, submitter, "source"),
        _preview_view(destination, submitter, "destination"),
        guest_cpu,
        hypervisor,
    )
    return {
        "prediction": prediction,
        "explanation": explain(error_message).to_dict() if error_message.strip() else None,
    }


def _preview_view(ref: dict, user, field: str):
    """The HostView of a reference as recording would store it; reads only."""
    if isinstance(ref, dict) and set(ref) == {"raw"}:
        if not isinstance(ref["raw"], str):
            raise HostRefError("raw must be the text of a host report", field)
        report = report_as_stored(ref["raw"])
        # An unsaved report has no id for its label: it is named by its brand, as once stored.
        label = "" if report.pk else (report.brand or f"inline dump ({field})")
        return cpu_selectors.report_host_view(report, label)
    return cpu_selectors.report_host_view(report_for_ref(ref, uploaded_by=user, field=field))


def reevaluate(record: MigrationRecord) -> dict:
    """Today's prediction for a record, to show next to the one stored at record time."""
    return predict(
        source=record.source_report,
        destination=record.destination_report,
        guest_cpu=record.guest_cpu,
        hypervisor=record.hypervisor,
    )


def verdict_agrees(verdict: str, outcome: str) -> bool | None:
    """Whether a verdict agrees with a real outcome, by the rule of
    ``MigrationRecord.contradiction``: a failed migration contradicts safe/safe-with-model, a
    successful one contradicts blocked.  None when the verdict says nothing either way
    (``none``); risky agrees with every outcome."""
    if verdict == Verdict.NONE:
        return None
    failed = outcome in Outcome.failures()
    if failed:
        return verdict not in (Verdict.SAFE, Verdict.SAFE_WITH_MODEL)
    return verdict != Verdict.BLOCKED


@dataclass(frozen=True)
class Reevaluation:
    """A record whose stored prediction differs from the current engine's answer."""

    record: MigrationRecord
    current: dict
    agreed: bool | None  # the stored prediction vs the real outcome
    agrees: bool | None  # the current answer vs the real outcome

    @property
    def stored_verdict(self) -> str:
        return self.record.predicted_verdict

    @property
    def current_verdict(self) -> str:
        return self.current["verdict"]

    @property
    def effect(self) -> str:
        """``fixed`` (contradicted, now agrees), ``broken`` (agreed, now contradicts), or
        ``changed`` (the agreement is the same, or one side says nothing)."""
        if self.agreed is False and self.agrees is True:
            return "fixed"
        if self.agreed is True and self.agrees is False:
            return "broken"
        return "changed"

    def to_dict(self) -> dict:
        return {
            "record": self.record.pk,
            "outcome": self.record.outcome,
            "stored": {
                "verdict": self.stored_verdict,
                "engine_version": self.record.engine_version,
                "agrees_with_outcome": self.agreed,
            },
            "current": {
                "verdict": self.current_verdict,
                "engine_version": self.current.get("engine_version"),
                "agrees_with_outcome": self.agrees,
                "reasons": self.current.get("reasons", []),
            },
            "effect": self.effect,
        }


def reevaluation(records) -> list[Reevaluation]:
    """The records whose predicted verdict changes under the current engine (each record keeps
    the engine version that made its prediction), with whether the old and the new verdict agree
    with what really happened.  A record whose hosts can no longer be judged (a guest CPU the
    engine refuses today) is listed with verdict ``none``."""
    changed = []
    for record in records:
        try:
            current = reevaluate(record)
        except RecordError as error:
            current = {
                "verdict": Verdict.NONE,
                "reasons": [],
                "engine_version": compat.ENGINE_VERSION,
                "note": str(error),
            }
        if current["verdict"] == record.predicted_verdict:
            continue
        changed.append(
            Reevaluation(
                record,
                current,
                verdict_agrees(record.predicted_verdict, record.outcome),
                verdict_agrees(current["verdict"], record.outcome),
            )
        )
    return changed


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (95 % with the default ``z``): unlike the plain
    ratio it stays honest with few trials (1 of 1 gives 0.21 to 1.00, not "1.00").  Wilson,
    "Probable inference, the law of succession, and statistical inference", JASA 22 (1927)."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Accuracy:
    """Predicted verdict vs actual outcome for one hypervisor."""

    hypervisor: str
    matrix: dict[str, dict[str, int]]
    total: int
    blocked_true_positives: int
    blocked_false_positives: int
    blocked_false_negatives: int

    @property
    def blocked_precision(self) -> float | None:
        predicted = self.blocked_true_positives + self.blocked_false_positives
        return None if predicted == 0 else self.blocked_true_positives / predicted

    @property
    def blocked_recall(self) -> float | None:
        failures = self.blocked_true_positives + self.blocked_false_negatives
        return None if failures == 0 else self.blocked_true_positives / failures

    @property
    def blocked_predicted(self) -> int:
        return self.blocked_true_positives + self.blocked_false_positives

    @property
    def failures(self) -> int:
        return self.blocked_true_positives + self.blocked_false_negatives

    @property
    def precision_interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.blocked_true_positives, self.blocked_predicted)

    @property
    def recall_interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.blocked_true_positives, self.failures)

    def to_dict(self) -> dict:
        return {
            "hypervisor": self.hypervisor,
            "total": self.total,
            "confusion_matrix": self.matrix,
            "blocked": {
                "true_positives": self.blocked_true_positives,
                "false_positives": self.blocked_false_positives,
                "false_negatives": self.blocked_false_negatives,
                "precision": self.blocked_precision,
                "recall": self.blocked_recall,
                # 95 % Wilson score intervals, [low, high], null when there is no sample.
                "precision_interval": self.precision_interval,
                "recall_interval": self.recall_interval,
            },
        }


def accuracy(records) -> list[Accuracy]:
    """Per hypervisor: the confusion matrix (rows = predicted verdict, columns = outcome) and the
    precision and recall of ``blocked``, where a failure is a refused, failed or crashed
    migration and a success is one that succeeded (with or without issues)."""
    cells = Counter((r.hypervisor, r.predicted_verdict, r.outcome) for r in records)
    result = []
    for hypervisor in Hypervisor.values:
        matrix = {
            verdict: {outcome: cells[(hypervisor, verdict, outcome)] for outcome in Outcome.values}
            for verdict in Verdict.values
        }
        total = sum(sum(row.values()) for row in matrix.values())
        if not total:
            continue
        failures = Outcome.failures()
        tp = sum(matrix[Verdict.BLOCKED][o] for o in failures)
        fp = sum(matrix[Verdict.BLOCKED][o] for o in Outcome.values if o not in failures)
        fn = sum(
            matrix[v][o]
            for v in Verdict.values
            if v not in (Verdict.BLOCKED, Verdict.NONE)
            for o in failures
        )
        result.append(Accuracy(hypervisor, matrix, total, tp, fp, fn))
    return result


def contradictions(records) -> list[MigrationRecord]:
    return [record for record in records if record.contradiction]
