"""HTML views for the catalog and uploads: thin, over selectors and services."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from cpus import selectors, services
from cpus.audit import audit_trail
from cpus.cpuid import FORMATS, DumpParseError, releases
from cpus.cpuid.vocabulary import VOCABULARIES, parse_vocabulary
from cpus.filtersets import (
    CpuModelFilterSet,
    FeatureFilterSet,
    GuestCpuModelFilterSet,
    HostFilterSet,
)
from cpus.forms import ReportUploadForm
from cpus.models import (
    CpuModel,
    DriftEvent,
    Feature,
    GuestCpuModel,
    GuestSource,
    HostReport,
    PoolTag,
)
from kbsite.writes import account_required_for_writes

PAGE_SIZE = 50


def _vocabulary(request: HttpRequest) -> str:
    return parse_vocabulary(request.GET.get("names"))


def _int_param(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


def _page(request: HttpRequest, queryset):
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return page, query.urlencode()


def cpu_list(request: HttpRequest) -> HttpResponse:
    filterset = CpuModelFilterSet(request.GET, queryset=selectors.cpu_model_list())
    cpus = filterset.qs if filterset.is_valid() else CpuModel.objects.none()
    page, query = _page(request, cpus)
    status = 200 if filterset.is_valid() else 400
    return render(
        request,
        "cpus/cpu_list.html",
        {"filter": filterset, "page": page, "query": query},
        status=status,
    )


def cpu_detail(request: HttpRequest, pk: int) -> HttpResponse:
    cpu = get_object_or_404(CpuModel.objects.select_related("feature_set"), pk=pk)
    vocabulary = _vocabulary(request)
    guests = selectors.by_generation(
        selectors.guest_models_runnable_on(cpu.feature_set, cpu.vendor)
    )
    by_source = {
        label: [g for g in guests if g.source == value] for value, label in GuestSource.choices
    }
    context = {
        "cpu": cpu,
        "vocabulary": vocabulary,
        "vocabularies": VOCABULARIES,
        "groups": selectors.features_by_group(cpu.feature_set, vocabulary),
        "reports": cpu.reports.select_related("host").defer("raw"),
        "guests_by_source": by_source,
        "recommended": selectors.recommended_guest_models(guests),
        "evc": selectors.evc_modes_of(cpu.feature_set, cpu.vendor),
    }
    return render(request, "cpus/cpu_detail.html", context)


def cpu_compare(request: HttpRequest) -> HttpResponse:
    cpus = CpuModel.objects.order_by("vendor", "family", "model", "stepping")
    a = CpuModel.objects.filter(pk=_int_param(request, "a")).select_related("feature_set").first()
    b = CpuModel.objects.filter(pk=_int_param(request, "b")).select_related("feature_set").first()
    vocabulary = _vocabulary(request)
    comparison = (
        selectors.compare_feature_sets(a.feature_set, b.feature_set, vocabulary)
        if a and b
        else None
    )
    return render(
        request,
        "cpus/cpu_compare.html",
        {
            "cpus": cpus,
            "a": a,
            "b": b,
            "comparison": comparison,
            "vocabulary": vocabulary,
            "vocabularies": VOCABULARIES,
        },
    )


def feature_list(request: HttpRequest) -> HttpResponse:
    queryset = Feature.objects.annotate(
        cpu_count=Count("feature_sets__cpu_models", distinct=True)
    ).order_by("index")
    filterset = FeatureFilterSet(request.GET, queryset=queryset)
    page, query = _page(request, filterset.qs)
    return render(
        request, "cpus/feature_list.html", {"filter": filterset, "page": page, "query": query}
    )


def feature_detail(request: HttpRequest, name: str) -> HttpResponse:
    feature = get_object_or_404(Feature, name=name)
    cpus = CpuModel.objects.filter(feature_set__features=feature).order_by(
        "vendor", "family", "model", "stepping"
    )
    guests = GuestCpuModel.objects.filter(feature_set__features=feature)
    return render(
        request, "cpus/feature_detail.html", {"feature": feature, "cpus": cpus, "guests": guests}
    )


def guest_model_list(request: HttpRequest) -> HttpResponse:
    filterset = GuestCpuModelFilterSet(request.GET, queryset=selectors.guest_model_list())
    qs = filterset.qs if filterset.is_valid() else GuestCpuModel.objects.none()
    # Oldest generation first within each source and vendor (see selectors.by_generation).
    qs = qs.order_by("source", "vendor", "feature_set__feature_count", "name")
    page, query = _page(request, qs)
    return render(
        request,
        "cpus/guest_model_list.html",
        {"filter": filterset, "page": page, "query": query},
        status=200 if filterset.is_valid() else 400,
    )


def guest_model_detail(request: HttpRequest, pk: int) -> HttpResponse:
    guest = get_object_or_404(selectors.guest_model_list(), pk=pk)
    vocabulary = _vocabulary(request)
    names = [guest.name, *(a.strip() for a in guest.aliases.replace(",", " ").split() if a)]
    return render(
        request,
        "cpus/guest_model_detail.html",
        {
            "guest": guest,
            "history": [a.to_dict() for a in releases.model_history(names, guest.source)],
            "cpus": selectors.cpus_running(guest),
            "vocabulary": vocabulary,
            "vocabularies": VOCABULARIES,
            "groups": selectors.features_by_group(guest.feature_set, vocabulary),
        },
    )


def host_list(request: HttpRequest) -> HttpResponse:
    filterset = HostFilterSet(request.GET, queryset=selectors.host_list(), request=request)
    page, query = _page(request, filterset.qs)
    return render(
        request, "cpus/host_list.html", {"filter": filterset, "page": page, "query": query}
    )


def host_detail(request: HttpRequest, pk: int) -> HttpResponse:
    host = get_object_or_404(selectors.host_list(), pk=pk)
    # Its own reports and its current one, which may have been uploaded for another host (or
    # none) and attached later through the API.
    reports = (
        HostReport.objects.filter(Q(host=host) | Q(pk=host.current_report_id or 0))
        .select_related("cpu_model")
        .defer("raw")
        .order_by("-created_at", "-pk")
    )
    events = host.drift_events.select_related("host")[:50]
    context = {
        "host": host,
        "reports": reports,
        "audit_events": audit_trail(host),
        "events": events,
    }
    return render(request, "cpus/host_detail.html", context)


@account_required_for_writes("Sign in to upload a host report: nothing was stored.")
def report_upload(request: HttpRequest) -> HttpResponse:
    form = ReportUploadForm(request.POST or None, request.FILES or None)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            report, created = services.report_ingest(
                raw=form.report_data(),
                host_name=form.cleaned_data["host_name"],
                uploaded_by=request.user,
                stack=form.stack() or None,
            )
        except DumpParseError as parse_error:
            error = parse_error
        else:
            if not created:
                messages.info(
                    request,
                    f"Already known: this exact report was uploaded before (report #{report.pk}); "
                    "nothing new was stored.",
                )
            return redirect("cpus:report-detail", pk=report.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "cpus/report_upload.html",
        {"form": form, "error": error, "formats": FORMATS.values()},
        status=status,
    )


def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(
        HostReport.objects.select_related("cpu_model", "feature_set", "host"), pk=pk
    )
    vocabulary = _vocabulary(request)
    return render(
        request,
        "cpus/report_detail.html",
        {
            "report": report,
            "format_name": FORMATS.get(report.format, (report.format,))[0],
            "vocabulary": vocabulary,
            "vocabularies": VOCABULARIES,
            "groups": selectors.features_by_group(report.feature_set, vocabulary),
            "audit_events": audit_trail(report),
        },
    )


def report_list(request: HttpRequest) -> HttpResponse:
    page, query = _page(request, selectors.report_list())
    return render(request, "cpus/report_list.html", {"page": page, "query": query})


def drift_list(request: HttpRequest) -> HttpResponse:
    """Every host's drift, newest first (``?tag=`` narrows to a pool)."""
    events = DriftEvent.objects.select_related("host").order_by("-created_at", "-id")
    tag = request.GET.get("tag", "")
    if tag:
        events = events.filter(host__tags__name=tag)
    page, query = _page(request, events)
    return render(
        request,
        "cpus/drift_list.html",
        {"page": page, "query": query, "tag": tag, "tags": PoolTag.objects.all()},
    )
