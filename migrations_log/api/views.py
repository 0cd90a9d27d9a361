"""Ledger API: record outcomes, explain errors, measure accuracy."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from cpus.audit import audit
from cpus.cpuid import compat
from cpus.services import HostRefError
from kbsite.api import IsOwnerOrStaffOrReadOnly
from migrations_log import selectors, services
from migrations_log.api import schemas, serializers
from migrations_log.explain import explain
from migrations_log.filtersets import MigrationRecordFilterSet

RECORD_EXAMPLE = OpenApiExample(
    "KVM, Harpertown to Barcelona",
    value={
        "source": {"host": 1},
        "destination": {"cpu_model": 11},
        "guest_cpu": "Opteron_G2,-rdtscp,-svm",
        "hypervisor": "kvm",
        "outcome": "succeeded",
        "happened_on": "2008-11-05",
        "qemu_version": "0.9.1",
        "source_url": "https://example.org/evidence",
    },
    request_only=True,
)


@extend_schema_view(
    list=extend_schema(
        description="Recorded migrations. Filter by hypervisor, outcome, vendors, "
        "cpu_model or host (either side), cross_vendor."
    ),
    retrieve=extend_schema(
        description="One recorded migration with the prediction stored at record time."
    ),
    create=extend_schema(
        description="Record a migration outcome. Source and destination are a host, report or "
        "CPU model id, or an inline dump. The engine's prediction for that exact pair and "
        "guest CPU is computed and stored with the record; the error message is explained.",
        request=serializers.MigrationRecordInputSerializer,
        responses={201: serializers.MigrationRecordSerializer},
        examples=[RECORD_EXAMPLE],
    ),
    partial_update=extend_schema(
        description="Correct details of your record (submitter or staff); "
        "the prediction never changes.",
        request=serializers.MigrationRecordUpdateSerializer,
        responses={200: serializers.MigrationRecordSerializer},
    ),
    destroy=extend_schema(description="Delete your record (submitter or staff)."),
)
class MigrationRecordViewSet(
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    filterset_class = MigrationRecordFilterSet
    permission_classes = [IsOwnerOrStaffOrReadOnly]
    owner_field = "submitter"
    # A record naming a host, report or CPU model that does not exist is an invalid record.
    error_overrides = {HostRefError: {"status": 400}}
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.record_list()

    def get_serializer_class(self):
        if self.action == "create":
            return serializers.MigrationRecordInputSerializer
        if self.action in ("update", "partial_update"):
            return serializers.MigrationRecordUpdateSerializer
        if self.action == "retrieve":
            return serializers.MigrationRecordDetailSerializer
        return serializers.MigrationRecordSerializer

    def create(self, request, *args, **kwargs):
        data = serializers.MigrationRecordInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        record = services.migration_record_from_refs(
            source=fields.pop("source"),
            destination=fields.pop("destination"),
            submitter=request.user,
            **fields,
        )
        body = serializers.MigrationRecordSerializer(
            selectors.record_list().get(pk=record.pk), context=self.get_serializer_context()
        ).data
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        with transaction.atomic():
            record = serializer.save()
            changed = sorted(serializer.validated_data)
            if changed:
                audit(
                    actor=self.request.user,
                    action="updated",
                    obj=record,
                    summary=f"changed {', '.join(changed)}",
                )

    def perform_destroy(self, instance):
        with transaction.atomic():
            audit(
                actor=self.request.user,
                action="deleted",
                obj=instance,
                summary=f"{instance.hypervisor}, {instance.outcome}",
            )
            instance.delete()

    def update(self, request, *args, **kwargs):
        kwargs["partial"] = True
        super().update(request, *args, **kwargs)
        record = selectors.record_list().get(pk=kwargs["pk"])
        return Response(
            serializers.MigrationRecordSerializer(
                record, context=self.get_serializer_context()
            ).data
        )

    @extend_schema(
        description="The prediction stored at record time next to what the engine answers today.",
        responses=schemas.ReevaluationSerializer,
    )
    @action(detail=True, methods=["get"])
    def reevaluate(self, request, pk=None):
        record = self.get_object()
        current = services.reevaluate(record)
        return Response(
            schemas.ReevaluationSerializer(
                {
                    "stored": record.prediction,
                    "current": current,
                    "changed": current["verdict"] != record.predicted_verdict,
                }
            ).data
        )

    @extend_schema(
        description="The records whose predicted verdict changes under the current engine: the "
        "stored verdict and engine version, today's verdict, whether each agrees with the real "
        "outcome, and the effect (fixed, broken, changed).",
        responses=schemas.LedgerReevaluationSerializer,
    )
    @action(detail=False, methods=["get"])
    def reevaluation(self, request):
        records = list(self.filter_queryset(self.get_queryset()))
        changed = services.reevaluation(records)
        return Response(
            schemas.LedgerReevaluationSerializer(
                {
                    "engine_version": compat.ENGINE_VERSION,
                    "records": len(records),
                    "changed": [entry.to_dict() for entry in changed],
                }
            ).data
        )

    @extend_schema(
        description="Explain a migration error message of QEMU, libvirt, KVM, VMware or Hyper-V: "
        "the hypervisor, the axis and the features (Linux names) involved.",
        request=serializers.ExplainErrorSerializer,
        responses={200: schemas.ExplanationSerializer},
        examples=[
            OpenApiExample(
                "QEMU",
                value={
                    "message": "warning: host doesn't support requested feature: "
                    "CPUID.01H:ECX.sse4.1 [bit 19]"
                },
                request_only=True,
            )
        ],
    )
    @action(detail=False, methods=["post"], url_path="explain-error", permission_classes=[AllowAny])
    def explain_error(self, request):
        data = serializers.ExplainErrorSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        explanation = explain(data.validated_data["message"])
        return Response(schemas.ExplanationSerializer(explanation.to_dict()).data)

    @extend_schema(
        description="Per hypervisor: the confusion matrix of predicted verdict vs actual "
        "outcome, and the precision and recall of 'blocked' (a failure = refused, failed "
        "during, or guest crashed).",
        responses=schemas.AccuracySerializer,
    )
    @action(detail=False, methods=["get"])
    def accuracy(self, request):
        records = self.filter_queryset(self.get_queryset())
        body = {"hypervisors": [a.to_dict() for a in services.accuracy(records)]}
        return Response(schemas.AccuracySerializer(body).data)

    @extend_schema(
        description="Records that contradict their prediction: predicted safe but failed, or "
        "predicted blocked but succeeded. Each is a lead to improve the engine.",
        responses=serializers.MigrationRecordSerializer(many=True),
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def contradictions(self, request):
        records = services.contradictions(self.filter_queryset(self.get_queryset()))
        return Response(
            serializers.MigrationRecordSerializer(
                records, many=True, context=self.get_serializer_context()
            ).data
        )
