"""Compatibility API: check a pair, compute a pool baseline.  Thin: the engine decides."""

from __future__ import annotations

import copy
import functools

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from cpus import selectors, services
from cpus.compat.api.fields import REF_HELP, RefField, host_views
from cpus.compat.api.schemas import PoolBaselineSerializer
from cpus.cpuid import baseline, compat, export, guest_os, orchestrators
from cpus.cpuid.baseline import HostView
from cpus.cpuid.vocabulary import DEFAULT as DEFAULT_VOCABULARY
from cpus.cpuid.vocabulary import VOCABULARIES, engine_name
from kbsite.api import ApiError
from kbsite.verdict_output import VerdictSerializer


class _SharedFieldsSerializer(serializers.Serializer):
    """A serializer whose fields are shallow copies of the declared ones.  DRF deep-copies every
    declared field for every instance (a third of a compatibility check's time); these fields
    hold no per-request state but the binding, which each copy gets for itself."""

    def get_fields(self):
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}


class CheckInput(_SharedFieldsSerializer):
    source = RefField(help_text=REF_HELP)
    destination = RefField(help_text=REF_HELP)
    guest_cpu = serializers.CharField(
        default=compat.PASSTHROUGH,
        max_length=200,
        help_text="host-passthrough, host-model, a named model with +/- features "
        "(Opteron_G2,-rdtscp), an EVC key, x86-64-v2, or baseline (of the pair)",
    )
    hypervisor = serializers.ChoiceField(choices=compat.HYPERVISORS, default="kvm")
    names = serializers.ChoiceField(choices=VOCABULARIES, default=DEFAULT_VOCABULARY.value)
    guest_os = serializers.CharField(
        required=False,
        max_length=80,
        help_text="A guest OS release (rhel-10, windows-server-2025 ...): a guest CPU below its "
        "documented floor is a blocker.",
    )

    def validate_guest_os(self, value):
        release = guest_os.find(value)
        if release is None:
            raise serializers.ValidationError(
                f"unknown guest OS; use one of {', '.join(guest_os.ids())}"
            )
        return release.id


class BaselineInput(_SharedFieldsSerializer):
    hosts = serializers.ListField(
        child=RefField(),
        min_length=1,
        required=False,
        help_text=f"Each: {REF_HELP}. At most CPUKB_MAX_POOL_REFS (default 1000) per request.",
    )
    tag = serializers.SlugField(
        required=False, help_text="Every host with this pool tag (instead of hosts)."
    )
    guest_os = serializers.CharField(
        required=False,
        max_length=80,
        help_text="A guest OS release (rhel-10 ...): says whether it boots on the baseline.",
    )
    names = serializers.ChoiceField(choices=VOCABULARIES, default=DEFAULT_VOCABULARY.value)

    def validate(self, attrs):
        if bool(attrs.get("hosts")) == bool(attrs.get("tag")):
            raise serializers.ValidationError("give the pool as hosts or as a tag (one of them)")
        key = attrs.get("guest_os")
        if key and guest_os.find(key) is None:
            raise serializers.ValidationError(
                {"guest_os": f"unknown guest OS; use one of {', '.join(guest_os.ids())}"}
            )
        return attrs

    def to_internal_value(self, data):
        # Counted before any reference is validated or resolved (a setting, read per request).
        hosts = data.get("hosts") if isinstance(data, dict) else None
        limit = settings.CPUKB_MAX_POOL_REFS
        if isinstance(hosts, list) and len(hosts) > limit:
            raise serializers.ValidationError(
                {
                    "hosts": [
                        f"at most {limit:,} host references per request (CPUKB_MAX_POOL_REFS); "
                        f"{len(hosts):,} given: use a pool tag and a matrix run for larger pools"
                    ]
                },
                code="too_many_references",
            )
        return super().to_internal_value(data)


@functools.lru_cache(maxsize=settings.CPUKB_VERDICT_CACHE)
def _checked(source, destination, guest_cpu, hypervisor, vocabulary, os=None) -> compat.Verdict:
    return compat.check(
        source, destination, guest_cpu, hypervisor, vocabulary=vocabulary, guest_os=os
    )


def checked(
    source, destination, guest_cpu: str, hypervisor: str, vocabulary: str, os: str | None = None
):
    """compat.check, remembered per process: the engine is a pure function of the two
    HostViews (identity, masks, warnings, label) and the options, so a repeated question about
    unchanged hosts gets the same answer without being worked out again.  A host that gets a new
    report is a different HostView, hence a new question.  Inline dumps are not remembered.
    ``CPUKB_VERDICT_CACHE`` sets how many answers a process keeps (0: none)."""
    if isinstance(source, HostView) and isinstance(destination, HostView):
        return _checked(source, destination, guest_cpu, hypervisor, vocabulary, os)
    return compat.check(
        source, destination, guest_cpu, hypervisor, vocabulary=vocabulary, guest_os=os
    )


CHECK_EXAMPLE = OpenApiExample(
    "2008: Harpertown to Shanghai on KVM with the pool baseline",
    value={
        "source": {"host": "xeon-e5462-harpertown"},
        "destination": {"host": "opteron-2378-shanghai"},
        "guest_cpu": "baseline",
        "hypervisor": "kvm",
    },
    request_only=True,
)


@extend_schema(
    description="Can a VM live-migrate from source to destination (directed)? The verdict (safe, "
    "safe-with-model, risky, blocked) with reasons, each {axis, severity, message, features}, for "
    "one guest CPU configuration and hypervisor. A pre-flight check for tools.",
    request=CheckInput,
    responses=VerdictSerializer,
    examples=[CHECK_EXAMPLE],
)
@api_view(["POST"])
@permission_classes([AllowAny])
def compat_check(request):
    data = CheckInput(data=request.data)
    data.is_valid(raise_exception=True)
    fields = data.validated_data
    source, destination = host_views(
        [("source", fields["source"]), ("destination", fields["destination"])], request.user
    )
    verdict = checked(
        source,
        destination,
        fields["guest_cpu"],
        fields["hypervisor"],
        engine_name(fields["names"]),
        fields.get("guest_os"),
    )
    return Response(VerdictSerializer(verdict.to_dict()).data)


@extend_schema(
    description="The pool baseline of a set of hosts (Intel and AMD may be mixed): the common "
    "features, the fitted QEMU and libvirt models with their +/- features, the highest VMware "
    "EVC mode per vendor, the x86-64 level, and every export (libvirt XML, QEMU -cpu, Nova, "
    "Proxmox, EVC).",
    request=BaselineInput,
    responses=PoolBaselineSerializer,
    examples=[
        OpenApiExample(
            "The 2008 pool",
            value={
                "hosts": [
                    {"host": "xeon-e5462-harpertown"},
                    {"host": "opteron-2350-barcelona"},
                    {"host": "opteron-2378-shanghai"},
                ]
            },
            request_only=True,
        )
    ],
)
@api_view(["POST"])
@permission_classes([AllowAny])
def pool_baseline(request):
    data = BaselineInput(data=request.data)
    data.is_valid(raise_exception=True)
    fields = data.validated_data
    if fields.get("tag"):
        ids = services.tagged_host_ids(fields["tag"], request.user, settings.CPUKB_MAX_POOL_REFS)
        if not ids:
            raise ApiError(f"no host with a report has the tag {fields['tag']!r}", field="tag")
        if len(ids) > settings.CPUKB_MAX_POOL_REFS:
            raise ApiError(
                f"more than {settings.CPUKB_MAX_POOL_REFS:,} hosts have this tag "
                "(CPUKB_MAX_POOL_REFS): use a matrix run",
                field="tag",
            )
        by_id = selectors.host_views_by_ref(ids)
        views = [by_id[pk] for pk in ids]
    else:
        views = host_views(
            [(f"hosts[{i}]", ref) for i, ref in enumerate(fields["hosts"])], request.user
        )
    pool = baseline.compute(views)
    body = pool.to_dict(engine_name(fields["names"]))
    body["exports"] = export.all_exports(pool)
    body["exports"]["orchestrators"] = orchestrators.all_orchestrators(pool)
    body["guest_os"] = guest_os.runnable(pool.feature_mask)
    if fields.get("guest_os"):
        release = guest_os.get(fields["guest_os"])
        body["guest_os_check"] = guest_os.reasons(pool.feature_mask, release, "this baseline")[
            0
        ].to_dict()
    return Response(PoolBaselineSerializer(body).data)
