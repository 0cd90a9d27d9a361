"""HTML: paste a VM definition and see every host it can move to, and why not the others."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cpus import selectors, services
from cpus.cpuid import compat, guest_os, preflight, vmconfig
from cpus.models import Host

# Rows shown on the page (the API returns them all).
PAGE_ROWS = 500


def vm_preflight(request: HttpRequest) -> HttpResponse:
    hosts = list(
        Host.objects.exclude(current_report=None).order_by("name").values_list("pk", "name")
    )
    context = {
        "hosts": hosts,
        "tags": services.pool_tags_visible(request.user),
        "formats": vmconfig.FORMATS,
        "hypervisors": compat.HYPERVISORS,
        "guest_oses": guest_os.catalog(),
        "form": request.POST,
        "page_rows": PAGE_ROWS,
    }
    if request.method != "POST":
        return render(request, "compat/preflight.html", context)
    form = request.POST
    error, issues = None, []
    try:
        vm = vmconfig.parse(form.get("vm", ""), form.get("format") or None)
    except vmconfig.VmConfigError as problem:
        error, issues, vm = problem.summary, problem.issues, None
    source_pk = form.get("source", "")
    if vm is not None and source_pk and not source_pk.isdigit():
        error = "choose the VM's current host"
    release = form.get("guest_os") or None
    if release and guest_os.find(release) is None:
        error = "unknown guest OS"
    if error is None:
        source_id = int(source_pk) if source_pk else None
        chosen = Host.objects.exclude(current_report=None).exclude(pk=source_id or 0)
        if form.get("pool"):
            chosen = services.hosts_tagged(chosen, form["pool"], request.user)
        chosen = list(chosen.order_by("pk").values_list("pk", "name")[:20_000])
        views = selectors.host_views_by_ref(
            [*([source_id] if source_id else []), *(pk for pk, _ in chosen)]
        )
        source = views.get(source_id) if source_id else None
        if (source_id and source is None) or not chosen:
            error = "no such source host, or no destination with a report in this pool"
        else:
            hypervisor = form.get("hypervisor") or vm.hypervisor
            destinations = [views[pk] for pk, _ in chosen]
            labels = [name for _, name in chosen]
            try:
                if source is None:
                    answer = preflight.run_without_source(
                        vm.guest_cpu,
                        destinations,
                        hypervisor,
                        labels=labels,
                        guest_os_key=release,
                    )
                else:
                    answer = preflight.run(
                        vm.guest_cpu,
                        source,
                        destinations,
                        hypervisor,
                        labels=labels,
                        guest_os_key=release,
                    )
            except (compat.GuestCpuError, ValueError) as problem:
                error = str(problem)
            else:
                ids = {name: pk for pk, name in chosen}
                rows = answer.to_dict()
                for entry in rows["destinations"]:
                    entry["host_id"] = ids.get(entry["host"])
                    if not rows["reasons_inline"] and entry["class"] >= 0:
                        entry["reasons"] = rows["classes"][entry["class"]]["reasons"]
                        entry["missing"] = rows["classes"][entry["class"]]["missing"]
                rows["shown"] = rows["destinations"][:PAGE_ROWS]
                context.update(vm=vm, answer=rows)
    context.update(error=error, issues=issues)
    return render(request, "compat/preflight.html", context, status=400 if error else 200)
