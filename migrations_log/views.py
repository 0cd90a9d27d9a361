"""HTML views for the migration ledger: thin, over selectors and services."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from cpus.audit import audit_trail
from cpus.cpuid import DumpParseError, compat
from cpus.models import CpuModel, Host
from cpus.services import HostRefError
from kbsite.writes import account_required_for_writes
from migrations_log import charts, selectors, services
from migrations_log.filtersets import MigrationRecordFilterSet
from migrations_log.forms import GUEST_CPU_HINTS, RecordForm


def record_list(request: HttpRequest) -> HttpResponse:
    filterset = MigrationRecordFilterSet(request.GET, queryset=selectors.record_list())
    records = filterset.qs if filterset.is_valid() else selectors.record_list().none()
    page = Paginator(records, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "migrations_log/record_list.html",
        {
            "filter": filterset,
            "page": page,
            "query": query.urlencode(),
            # Suggestions for the host and CPU filters (names are accepted as well as ids).
            "host_names": Host.objects.order_by("name").values_list("name", flat=True)[:500],
            "cpu_names": CpuModel.objects.exclude(brand="")
            .order_by("brand")
            .values_list("brand", flat=True)
            .distinct()[:500],
        },
        status=200 if filterset.is_valid() else 400,
    )


def record_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(selectors.record_list(), pk=pk)
    current = services.reevaluate(record)
    return render(
        request,
        "migrations_log/record_detail.html",
        {
            "record": record,
            "current": current,
            "changed": current["verdict"] != record.predicted_verdict,
            "audit_events": audit_trail(record),
        },
    )


@account_required_for_writes("Sign in to record a migration: nothing was stored.")
def record_create(request: HttpRequest) -> HttpResponse:
    form = RecordForm(request.POST or None)
    preview = error = None
    if request.method == "POST" and form.is_valid():
        details = form.details()
        refs = {"source": form.ref("source"), "destination": form.ref("destination")}
        try:
            if "save" not in request.POST:
                preview = services.migration_preview(
                    **refs,
                    guest_cpu=details["guest_cpu"],
                    hypervisor=details["hypervisor"],
                    error_message=details.get("error_message", ""),
                    submitter=request.user,
                )
            else:
                record = services.migration_record_from_refs(
                    **refs, submitter=request.user, **details
                )
                return redirect("migrations_log:record-detail", pk=record.pk)
        except DumpParseError as parse_error:
            line = parse_error.line
            error = f"A pasted dump could not be decoded (line {line}): {parse_error.reason}"
        except (HostRefError, services.RecordError, ValueError) as record_error:
            error = str(record_error)
    status = 400 if (request.method == "POST" and (error or form.errors)) else 200
    return render(
        request,
        "migrations_log/record_form.html",
        {
            "form": form,
            "preview": preview,
            "error": error,
            "hints": GUEST_CPU_HINTS,
        },
        status=status,
    )


def accuracy(request: HttpRequest) -> HttpResponse:
    records = list(selectors.record_list())
    results = services.accuracy(records)
    return render(
        request,
        "migrations_log/accuracy.html",
        {
            "results": [(result, charts.confusion_svg(result)) for result in results],
            "total": len(records),
        },
    )


def contradictions(request: HttpRequest) -> HttpResponse:
    records = services.contradictions(selectors.record_list())
    return render(
        request,
        "migrations_log/contradictions.html",
        {"records": records},
    )


def reevaluation(request: HttpRequest) -> HttpResponse:
    """The records whose prediction changes under the current engine, and whether the new
    answer agrees with the real outcome."""
    records = list(selectors.record_list())
    changed = services.reevaluation(records)
    effects = {effect: 0 for effect in ("fixed", "broken", "changed")}
    for entry in changed:
        effects[entry.effect] += 1
    return render(
        request,
        "migrations_log/reevaluation.html",
        {
            "changed": changed,
            "effects": effects,
            "total": len(records),
            "engine_version": compat.ENGINE_VERSION,
            "versions": sorted({r.engine_version for r in records}),
        },
    )
