"""HTML for compatibility: the pool builder (baseline, exports, what-if), pair checks, and
matrix runs with a live progress bar and a heatmap per hypervisor."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from cpus import selectors, services
from cpus.audit import audit_trail
from cpus.compat import runs
from cpus.cpuid import baseline, compat, export, guest_os, planning
from cpus.models import CpuModel, Host, MatrixRun, PoolTag
from kbsite.resilience import error_response
from kbsite.writes import account_required_for_writes

HEATMAP_MAX_HOSTS = 80
# Rows and columns of the heatmap shown at once (the page links to the neighbouring windows).
HEATMAP_WINDOW = 40
EXPORT_LABELS = [
    ("libvirt_xml", "libvirt domain XML"),
    ("qemu_cpu", "QEMU -cpu"),
    ("nova", "OpenStack Nova [libvirt]"),
    ("proxmox", "Proxmox cpu-models.conf"),
    ("evc_mode", "VMware EVC mode"),
]


def _ids(request: HttpRequest, name: str) -> list[int]:
    return [int(v) for v in request.GET.getlist(name) if v.isdigit()]


def _pool_hosts(request: HttpRequest) -> tuple[list[Host], str, PoolTag | None]:
    """The chosen pool: by tag (the user's own tag of that name, else the curated one) or by
    host ids."""
    hosts = selectors.host_list().exclude(current_report=None)
    tag = request.GET.get("tag", "")
    if tag:
        pool_tag = services.pool_tag_resolve(tag, request.user)
        return (list(hosts.filter(tags=pool_tag)) if pool_tag else []), tag, pool_tag
    chosen = _ids(request, "hosts")
    return (list(hosts.filter(pk__in=chosen)) if chosen else []), "", None


def _tag_choices(user) -> list[PoolTag]:
    """One entry per tag name: the user's own tag, else the curated one (as a name resolves)."""
    chosen: dict[str, PoolTag] = {}
    for tag in services.pool_tags_visible(user):
        if tag.name not in chosen or not tag.is_curated:
            chosen[tag.name] = tag
    return list(chosen.values())


def _baseline_of(hosts: list[Host]):
    views = [selectors.report_host_view(host.current_report, host.name) for host in hosts]
    return baseline.compute(views) if views else None


def pool(request: HttpRequest) -> HttpResponse:
    given = len(request.GET.getlist("hosts")) + len(request.GET.getlist("add"))
    if given > settings.CPUKB_MAX_POOL_REFS:
        return error_response(
            request,
            status=400,
            code="too_many_references",
            message=f"At most {settings.CPUKB_MAX_POOL_REFS:,} hosts can be chosen one by one "
            f"({given:,} given): give the pool a tag, or start a matrix run.",
            title="Too many hosts",
        )
    hosts, tag, pool_tag = _pool_hosts(request)
    pool_baseline = _baseline_of(hosts)
    context = {
        "all_hosts": selectors.host_list().exclude(current_report=None),
        "tags": _tag_choices(request.user),
        "hosts": hosts,
        "chosen": {host.pk for host in hosts},
        "tag": tag,
        "pool_tag": pool_tag,
        "audit_events": audit_trail(pool_tag) if pool_tag else [],
        "hypervisors": compat.HYPERVISORS,
        "guest_cpu": request.GET.get("guest_cpu", "baseline"),
    }
    if pool_baseline is not None:
        record = pool_baseline.to_dict("canonical")
        context.update(
            baseline=record,
            exports=export_snippets(pool_baseline, tag or " ".join(h.name for h in hosts)),
            what_if=_what_if(request, hosts, pool_baseline),
            guest_oses=guest_os.runnable(pool_baseline.feature_mask),
            standardisation=planning.standardisation(
                [selectors.report_host_view(h.current_report, h.name) for h in hosts]
            ),
            cpu_models=CpuModel.objects.exclude(reports=None).order_by("vendor", "brand"),
        )
    return render(request, "compat/pool.html", context)


def export_snippets(
    pool_baseline, pool_name: str | None = None
) -> list[tuple[str, str, str | None, list[dict]]]:
    """(key, label, snippet, notes) per export, for the pool page: every note and warning of an
    export is shown next to its snippet (the API carries the same notes).  The Proxmox model is
    named after the pool (its tag, or its hosts)."""
    exports = export.all_exports(pool_baseline, pool_name)
    texts = dict(exports)
    texts["nova"] = exports["nova"]["config"]
    if exports["evc_mode"]:
        name = exports["evc_vcenter_names"].get(
            baseline.VENDOR_KEYS.get(pool_baseline.majority_vendor, ""), ""
        )
        texts["evc_mode"] = f"{exports['evc_mode']}  # {name}" if name else exports["evc_mode"]
    return [
        (key, label, texts.get(key), exports["notes"].get(key, [])) for key, label in EXPORT_LABELS
    ]


def _planned(request: HttpRequest) -> tuple[list, str]:
    """Planned hosts: ``plan`` (a catalog CPU model id) times ``count`` (1-1000)."""
    model_ids = _ids(request, "plan")
    count = request.GET.get("count", "1")
    count = int(count) if count.isdigit() and 1 <= int(count) <= 1000 else 1
    if not model_ids:
        return [], ""
    model = CpuModel.objects.filter(pk=model_ids[0]).first()
    view = selectors.cpu_model_views_by_ids([model_ids[0]]).get(model_ids[0])
    if model is None or view is None:
        return [], ""
    return planning.hypothetical(view, count, str(model)), f"{count} × {model}"


def _what_if(request: HttpRequest, hosts: list[Host], current) -> dict | None:
    """What adding or retiring hosts, or adding planned ones, does to the baseline."""
    add, remove = _ids(request, "add"), set(_ids(request, "remove"))
    planned, planned_label = _planned(request)
    if not add and not remove and not planned:
        return None
    extra = list(selectors.host_list().exclude(current_report=None).filter(pk__in=add))
    changed = [host for host in hosts if host.pk not in remove] + [
        h for h in extra if h not in hosts
    ]
    views = [selectors.report_host_view(h.current_report, h.name) for h in changed] + planned
    other = baseline.compute(views) if views else None
    if other is None:
        return {"empty": True}
    before, after = current.feature_mask, other.feature_mask
    return {
        "added": extra,
        "removed": [host for host in hosts if host.pk in remove],
        "gained": baseline.names(after & ~before),
        "lost": baseline.names(before & ~after),
        "qemu_model": other.qemu_model.spec if other.qemu_model else None,
        "evc_modes": other.evc_modes,
        "planned": planned_label,
        "guest_oses": guest_os.runnable(other.feature_mask),
    }


def pair(request: HttpRequest) -> HttpResponse:
    """One directed pair on every hypervisor: the verdicts side by side with their reasons."""
    hosts = selectors.host_list().exclude(current_report=None)
    source = (
        hosts.filter(pk=request.GET.get("source") or 0).first()
        if request.GET.get("source", "").isdigit()
        else None
    )
    destination = (
        hosts.filter(pk=request.GET.get("destination")).first()
        if request.GET.get("destination", "").isdigit()
        else None
    )
    guest_cpu = request.GET.get("guest_cpu", "host-passthrough")
    verdicts, error = [], None
    if source and destination:
        try:
            for hypervisor in compat.HYPERVISORS:
                verdicts.append(
                    compat.check(
                        selectors.report_host_view(source.current_report, source.name),
                        selectors.report_host_view(destination.current_report, destination.name),
                        guest_cpu,
                        hypervisor,
                    ).to_dict()
                )
        except compat.GuestCpuError as guest_error:
            error = str(guest_error)
    return render(
        request,
        "compat/pair.html",
        {
            "hosts": hosts,
            "source": source,
            "destination": destination,
            "guest_cpu": guest_cpu,
            "verdicts": verdicts,
            "error": error,
        },
        status=400 if error else 200,
    )


@require_POST
@account_required_for_writes(
    "Sign in to run a migration matrix: nothing was started.", next_url="cpus:compat-pool"
)
def run_create(request: HttpRequest) -> HttpResponse:
    tag = request.POST.get("tag", "")
    selection = (
        {"tag": tag}
        if tag
        else {"hosts": [int(v) for v in request.POST.getlist("hosts") if v.isdigit()]}
    )
    try:
        run = runs.matrix_run_start(
            selection=selection,
            guest_cpu=request.POST.get("guest_cpu", "host-passthrough"),
            user=request.user,
        )
    except (compat.GuestCpuError, runs.PoolError) as error:
        messages.error(request, str(error))
        # Back to the same pool (and the guest CPU typed), not to an empty picker.
        keep = QueryDict(mutable=True)
        if tag:
            keep["tag"] = tag
        else:
            keep.setlist("hosts", [str(pk) for pk in selection["hosts"]])
        keep["guest_cpu"] = request.POST.get("guest_cpu", "")
        return redirect(f"{reverse('cpus:compat-pool')}?{keep.urlencode()}")
    return redirect("cpus:compat-run", pk=run.pk)


@require_POST
@account_required_for_writes("Sign in to run a matrix again: nothing was started.")
def run_rerun(request: HttpRequest, pk: int) -> HttpResponse:
    """One click on a stale run: the same selection and guest CPU, computed again."""
    old = get_object_or_404(MatrixRun, pk=pk)
    try:
        # The same hosts (the tag as it was resolved then), as the user's own run.
        run = runs.matrix_run_start(
            selection={"hosts": list(old.host_ids)}, guest_cpu=old.guest_cpu, user=request.user
        )
    except (compat.GuestCpuError, runs.PoolError) as error:
        messages.error(request, str(error))
        return redirect("cpus:compat-run", pk=old.pk)
    return redirect("cpus:compat-run", pk=run.pk)


def run_list(request: HttpRequest) -> HttpResponse:
    """``/compat/runs/``: GET lists the past runs, POST starts one (``run_create``)."""
    if request.method == "POST":
        return run_create(request)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "POST"])
    page = Paginator(MatrixRun.objects.order_by("-created_at", "-pk"), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "compat/run_list.html", {"page": page, "query": ""})


def _resolved_baseline(run: MatrixRun) -> dict | None:
    """What ``baseline`` meant for this run: the pool's QEMU model and EVC modes."""
    if run.status != MatrixRun.Status.SUCCEEDED:
        return None
    try:
        if compat.parse_guest_cpu(run.guest_cpu).mode != compat.BASELINE:
            return None
        views = runs._views(run.class_reports)
        pool = baseline.compute(runs._pool(run, views))
    except Exception:  # an explanation, never a reason for the page to fail
        return None
    return {"qemu": pool.qemu_spec, "evc": pool.evc_modes}


def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(MatrixRun, pk=pk)
    context = {
        "run": run,
        "resolved_baseline": _resolved_baseline(run),
        "hypervisors": compat.HYPERVISORS,
        "levels": compat.LEVELS,
    }
    if run.status == MatrixRun.Status.SUCCEEDED:
        total = len(run.host_ids) if len(run.host_ids) <= HEATMAP_MAX_HOSTS else run.class_count
        row, col = _offset(request, "row", total), _offset(request, "col", total)
        context["heatmaps"] = _heatmaps(run, row, col)
        context["window"] = _window_links(request, total, row, col)
    return render(request, "compat/run.html", context)


def _offset(request: HttpRequest, name: str, total: int) -> int:
    """A window's first row or column: a multiple of HEATMAP_WINDOW inside the grid."""
    value = request.GET.get(name, "")
    offset = int(value) if value.isdigit() and len(value) < 10 else 0
    return min(offset, max(0, total - 1)) // HEATMAP_WINDOW * HEATMAP_WINDOW


def _heatmaps(run: MatrixRun, row_offset: int = 0, col_offset: int = 0) -> list[dict]:
    """Per hypervisor, a grid of hosts (small pools) or of host classes (large ones), cut to a
    window of at most HEATMAP_WINDOW x HEATMAP_WINDOW cells: a run of 400 classes used to render
    a 47 MB page. The whole result is in the API (``/api/matrix-runs/<id>/results``)."""
    members = runs.members_of(run).tolist()
    by_host = len(run.host_ids) <= HEATMAP_MAX_HOSTS
    if by_host:
        # (id shown and used for the cell's reasons, label, class) per host.
        units = [
            (host_id, label, cls)
            for host_id, label, cls in zip(run.host_ids, run.host_labels, members, strict=True)
        ]
    else:
        first_host, counts = {}, {}
        for host_id, cls in zip(run.host_ids, members, strict=True):
            first_host.setdefault(cls, host_id)
            counts[cls] = counts.get(cls, 0) + 1
        units = [
            (first_host[c], f"class {c} ({counts[c]} hosts)", c) for c in range(run.class_count)
        ]
    row_units = units[row_offset : row_offset + HEATMAP_WINDOW]
    col_units = units[col_offset : col_offset + HEATMAP_WINDOW]
    maps = []
    for hypervisor in compat.HYPERVISORS:
        levels, missing = runs.run_levels(run, hypervisor)
        rows = [
            {
                "id": source_id,
                "label": label,
                "cells": [
                    {
                        "level": compat.LEVELS[levels[ci, cj]],
                        "missing": int(missing[ci, cj]),
                        "destination": dest,
                    }
                    for dest, _, cj in col_units
                ],
            }
            for source_id, label, ci in row_units
        ]
        columns = [(unit_id, label) for unit_id, label, _ in col_units]
        maps.append(
            {"hypervisor": hypervisor, "by_host": by_host, "columns": columns, "rows": rows}
        )
    return maps


def _window_links(request: HttpRequest, total: int, row: int, col: int) -> dict:
    """Where the heatmap window is, and the query strings of its neighbours."""

    def query(r: int, c: int) -> str:
        params = request.GET.copy()
        params["row"], params["col"] = str(r), str(c)
        return params.urlencode()

    step = HEATMAP_WINDOW
    return {
        "total": total,
        "windowed": total > step,
        "rows": (row + 1, min(total, row + step)),
        "cols": (col + 1, min(total, col + step)),
        "up": query(row - step, col) if row > 0 else None,
        "down": query(row + step, col) if row + step < total else None,
        "left": query(row, col - step) if col > 0 else None,
        "right": query(row, col + step) if col + step < total else None,
    }
