"""Catalog API: thin views over selectors and services."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from cpus import selectors, services
from cpus.api import serializers
from cpus.audit import audit
from cpus.cpuid.vocabulary import VOCABULARIES
from cpus.filtersets import (
    CpuModelFilterSet,
    FeatureFilterSet,
    GuestCpuModelFilterSet,
    HostFilterSet,
    HostReportFilterSet,
)
from cpus.models import Feature
from kbsite.api import ApiError, IsOwnerOrStaffOrReadOnly

NAMES = OpenApiParameter(
    "names",
    str,
    enum=list(VOCABULARIES),
    description="Vocabulary of feature names (default linux).",
)


@extend_schema_view(
    list=extend_schema(
        description="Real processors of the catalog. Filter by vendor, family, codename, "
        "`has_feature` / `lacks_feature` (repeatable, any vocabulary) and free text `q`."
    ),
    retrieve=extend_schema(description="One processor with its features.", parameters=[NAMES]),
)
class CpuModelViewSet(viewsets.ReadOnlyModelViewSet):
    filterset_class = CpuModelFilterSet

    def get_queryset(self):
        return selectors.cpu_model_list()

    def get_serializer_class(self):
        return (
            serializers.CpuModelDetailSerializer
            if self.action == "retrieve"
            else serializers.CpuModelSerializer
        )


@extend_schema_view(
    list=extend_schema(
        description="Every CPUID/MSR feature bit with its Linux, QEMU and libvirt names."
    ),
    retrieve=extend_schema(
        description="One feature (by canonical name) and the CPU models that have it."
    ),
)
class FeatureViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Feature.objects.all()
    filterset_class = FeatureFilterSet
    lookup_field = "name"
    lookup_value_regex = "[^/]+"

    def get_serializer_class(self):
        return (
            serializers.FeatureDetailSerializer
            if self.action == "retrieve"
            else serializers.FeatureSerializer
        )


@extend_schema_view(
    list=extend_schema(
        description="Named guest CPUs: QEMU and libvirt models, VMware EVC modes, x86-64 levels."
    ),
    retrieve=extend_schema(
        description="One guest CPU model with its features.", parameters=[NAMES]
    ),
)
class GuestCpuModelViewSet(viewsets.ReadOnlyModelViewSet):
    filterset_class = GuestCpuModelFilterSet

    def get_queryset(self):
        return selectors.guest_model_list()

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.GuestCpuModelDetailSerializer
        return serializers.GuestCpuModelSerializer


@extend_schema_view(
    list=extend_schema(
        description="Hosts of the inventory with their current report. Filter by `tag`."
    ),
    retrieve=extend_schema(description="One host."),
    create=extend_schema(description="Add a host to your inventory: name, tags, report id."),
    update=extend_schema(description="Replace a host of yours (owner or staff)."),
    partial_update=extend_schema(description="Change a host of yours: name, tags, notes, report."),
    destroy=extend_schema(description="Delete a host of yours (its reports stay in the catalog)."),
)
class HostViewSet(viewsets.ModelViewSet):
    serializer_class = serializers.HostSerializer

    def get_serializer_class(self):
        return (
            serializers.HostDetailSerializer
            if self.action == "retrieve"
            else serializers.HostSerializer
        )

    filterset_class = HostFilterSet
    permission_classes = [IsOwnerOrStaffOrReadOnly]
    owner_field = "owner"

    def get_queryset(self):
        return selectors.host_list()

    def perform_create(self, serializer):
        tags = serializer.validated_data.pop("tags", None)
        name = serializer.validated_data["name"]
        try:
            # A parallel request creating the same name wins the unique (owner, name) key: this
            # one is then a 400 like any duplicate name, never a 500.
            with transaction.atomic():
                host = serializer.save(owner=self.request.user)
                audit(actor=self.request.user, action="created", obj=host, summary=host.name)
                services.host_set_tags(host=host, tags=tags or [], actor=self.request.user)
        except IntegrityError:
            raise ValidationError({"name": f"you already have a host named {name!r}"}) from None

    def perform_update(self, serializer):
        tags = serializer.validated_data.pop("tags", None)
        name = serializer.validated_data.get("name", serializer.instance.name)
        try:
            with transaction.atomic():
                host = serializer.save()
                changed = sorted(serializer.validated_data)
                if changed:
                    audit(
                        actor=self.request.user,
                        action="updated",
                        obj=host,
                        summary=f"changed {', '.join(changed)}",
                    )
                if tags is not None:
                    services.host_set_tags(host=host, tags=tags, actor=self.request.user)
        except IntegrityError:
            raise ValidationError({"name": f"there is already a host named {name!r}"}) from None

    def perform_destroy(self, instance):
        with transaction.atomic():
            audit(actor=self.request.user, action="deleted", obj=instance, summary=instance.name)
            instance.delete()


UPLOAD_EXAMPLE = OpenApiExample(
    "cpuid -1 -r",
    value={
        "raw": "CPU:\n   0x00000000 0x00: eax=0x0000000d ebx=0x68747541 ecx=0x444d4163 "
        "edx=0x69746e65\n...",
        "host_name": "kvm-node-07",
    },
    request_only=True,
)


@extend_schema_view(
    list=extend_schema(description="Accepted host reports (raw text omitted; see the detail)."),
    retrieve=extend_schema(
        description="One report: decoded identity, features, warnings and the raw text.",
        parameters=[NAMES],
    ),
    destroy=extend_schema(
        description="Delete a report you uploaded (staff: any report). 409 while it is also the "
        "current report of another user's host (the same text uploaded for them: reports are "
        "deduplicated) or is used by a ledger record."
    ),
    create=extend_schema(
        description="Upload a host report (multipart `file`, or `raw` text), any supported "
        "format. 201 with the decoded report; 200 with the existing one when the same text was "
        "uploaded before; 400 in the one error shape (code `bad_dump`, with the `line` and the "
        "reason) when it cannot be decoded, and nothing is stored.",
        request=serializers.ReportUploadSerializer,
        responses={
            201: serializers.HostReportDetailSerializer,
            200: serializers.HostReportDetailSerializer,
        },
        examples=[UPLOAD_EXAMPLE],
    ),
)
class HostReportViewSet(
    mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet
):
    filterset_class = HostReportFilterSet
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    permission_classes = [IsOwnerOrStaffOrReadOnly]
    owner_field = "uploaded_by"

    def get_queryset(self):
        if self.action == "retrieve":
            return selectors.report_list().defer(None)
        return selectors.report_list()

    def destroy(self, request, *args, **kwargs):
        report = self.get_object()
        holders = selectors.report_shared_with(report)
        if holders:
            message = (
                f"this report is also the current report of {len(holders)} host"
                f"{'s' if len(holders) != 1 else ''} of other users (the same text was uploaded "
                "for them): it stays; point your own hosts at another report instead"
            )
            raise ApiError(message, status=status.HTTP_409_CONFLICT, code="shared")
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance):
        with transaction.atomic():
            audit(
                actor=self.request.user,
                action="deleted",
                obj=instance,
                summary=f"{instance.format}, {instance.brand or instance.vendor}",
            )
            instance.delete()

    def get_serializer_class(self):
        if self.action == "create":
            return serializers.ReportUploadSerializer
        if self.action == "retrieve":
            return serializers.HostReportDetailSerializer
        return serializers.HostReportSerializer

    def create(self, request, *args, **kwargs):
        upload = serializers.ReportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        file = upload.validated_data.get("file")
        # A dump over CPUKB_MAX_UPLOAD_BYTES is refused by the decoder (services.decode_upload):
        # 400 bad_dump, "the input is N bytes; the limit is L", in the one error shape.
        raw: str | bytes = file.read() if file is not None else upload.validated_data["raw"]
        report, created = services.report_ingest(
            raw=raw,
            host_name=upload.validated_data.get("host_name", ""),
            uploaded_by=request.user,
            stack=upload.validated_data.get("stack") or None,
        )
        report = selectors.report_list().defer(None).get(pk=report.pk)
        body = serializers.HostReportDetailSerializer(
            report, context=self.get_serializer_context()
        ).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
