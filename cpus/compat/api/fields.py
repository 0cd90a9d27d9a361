"""What the compatibility API's endpoints share: the host reference field and its resolution to
the engine's HostViews."""

from __future__ import annotations

from rest_framework import serializers

from cpus import selectors, services
from cpus.cpuid import DecodedDump
from cpus.cpuid.baseline import host_view

REF_HELP = '{"host": id or name}, {"report": id}, {"cpu_model": id} or {"raw": "<dump text>"}'


class RefField(serializers.JSONField):
    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        if not isinstance(data, dict) or len(data) != 1:
            raise serializers.ValidationError(f"give one of {REF_HELP}")
        return data


def host_views(refs: list[tuple[str, dict]], user):
    """(field, ref) pairs -> HostViews; inline dumps are decoded, not stored (a query).

    Host, report and CPU model references are resolved together, one query per kind whatever
    their number (5,000 report references used to be 5,000 queries and 27 s); inline dumps and
    malformed references go one by one through the catalog's services, which say what is wrong
    (HostRefError, DumpParseError: answered by kbsite.api's one mapping).
    """

    def values_of(kind: str, types: tuple) -> list:
        return [ref[kind] for _, ref in refs if kind in ref and type(ref[kind]) in types]

    host_values = values_of("host", (int, str))
    by_host = selectors.host_views_by_ref(host_values, user) if host_values else {}
    report_ids, cpu_model_ids = values_of("report", (int,)), values_of("cpu_model", (int,))
    by_kind = {
        "report": selectors.report_views_by_ids(report_ids) if report_ids else {},
        "cpu_model": selectors.cpu_model_views_by_ids(cpu_model_ids) if cpu_model_ids else {},
    }
    views = []
    for field, ref in refs:
        value = ref.get("host")
        if type(value) in (int, str) and value in by_host:
            view = by_host[value]
            if isinstance(view, services.HostRefError):
                raise services.HostRefError(str(view), field, not_found=view.not_found)
            views.append(view)
            continue
        kind = next(iter(ref)) if len(ref) == 1 else None
        if kind in by_kind and type(ref[kind]) is int and ref[kind] in by_kind[kind]:
            views.append(by_kind[kind][ref[kind]])
            continue
        resolved = services.report_for_ref(ref, uploaded_by=user, field=field, store_raw=False)
        if isinstance(resolved, DecodedDump):
            views.append(host_view(resolved, f"inline dump ({field})"))
        else:
            views.append(selectors.report_host_view(resolved))
    return views
