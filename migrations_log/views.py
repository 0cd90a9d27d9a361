"""HTML views for the migration ledger: thin, over selectors and services."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from cpus.cpuid import DumpParseError
from cpus.services import HostRefError, report_for_ref
from migrations_log import charts, selectors, services
from migrations_log.explain import explain
from migrations_log.filtersets import MigrationRecordFilterSet
from migrations_log.forms import GUEST_CPU_HINTS, RecordForm
from migrations_log.models import Verdict


class _Preview(Exception):
    """Rolls back the inline dumps stored while previewing a record."""


def record_list(request: HttpRequest) -> HttpResponse:
    filterset = MigrationRecordFilterSet(request.GET, queryset=selectors.record_list())
    records = filterset.qs if filterset.is_valid() else selectors.record_list().none()
    page = Paginator(records, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "migrations_log/record_list.html",
        {"filter": filterset, "page": page, "query": query.urlencode(), "colors": Verdict.colors()},
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
            "colors": Verdict.colors(),
        },
    )


def record_create(request: HttpRequest) -> HttpResponse:
    form = RecordForm(request.POST or None)
    preview = error = None
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                source = report_for_ref(
                    form.ref("source"), uploaded_by=request.user, field="source"
                )
                destination = report_for_ref(
                    form.ref("destination"), uploaded_by=request.user, field="destination"
                )
                details = form.details()
                if "save" not in request.POST:
                    preview = {
                        "explanation": explain(details.get("error_message", "")).to_dict()
                        if details.get("error_message", "").strip()
                        else None,
                        "prediction": services.predict(
                            source=source,
                            destination=destination,
                            guest_cpu=details["guest_cpu"],
                            hypervisor=details["hypervisor"],
                        ),
                    }
                    raise _Preview
                record = services.migration_record(
                    source=source,
                    destination=destination,
                    source_host=source.host if source.host_id else None,
                    destination_host=destination.host if destination.host_id else None,
                    submitter=request.user,
                    **details,
                )
        except _Preview:
            pass
        except DumpParseError as parse_error:
            line = parse_error.line
            error = f"A pasted dump could not be decoded (line {line}): {parse_error.reason}"
        except (HostRefError, services.RecordError, ValueError) as record_error:
            error = str(record_error)
        else:
            return redirect("migrations_log:record-detail", pk=record.pk)
    status = 400 if (request.method == "POST" and (error or form.errors)) else 200
    return render(
        request,
        "migrations_log/record_form.html",
        {
            "form": form,
            "preview": preview,
            "error": error,
            "hints": GUEST_CPU_HINTS,
            "colors": Verdict.colors(),
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
        {"records": records, "colors": Verdict.colors()},
    )
