"""Ledger API representations."""

from __future__ import annotations

from rest_framework import serializers

from cpus.api.serializers import CpuModelBriefSerializer, HistoryMixin, HostBriefSerializer
from cpus.models import HostReport
from migrations_log.api.schemas import StoredExplanationSerializer, StoredPredictionSerializer
from migrations_log.models import Hypervisor, MigrationRecord, Outcome


class HostRefField(serializers.JSONField):
    """``{"host": id}``, ``{"report": id}``, ``{"cpu_model": id}`` or ``{"raw": "<dump>"}``."""

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        if not isinstance(data, dict) or len(data) != 1:
            raise serializers.ValidationError(
                'give one of {"host": id}, {"report": id}, {"cpu_model": id} or {"raw": "<dump>"}'
            )
        return data


class ReportBriefSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:report-detail")
    cpu_model = CpuModelBriefSerializer(read_only=True)

    class Meta:
        model = HostReport
        fields = ["id", "url", "vendor", "brand", "format", "in_vm", "cpu_model"]


class MigrationRecordSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:migration-detail")
    source = ReportBriefSerializer(source="source_report", read_only=True)
    destination = ReportBriefSerializer(source="destination_report", read_only=True)
    source_host = HostBriefSerializer(read_only=True)
    destination_host = HostBriefSerializer(read_only=True)
    submitter = serializers.CharField(source="submitter.username", read_only=True, default=None)
    contradiction = serializers.CharField(read_only=True)
    prediction = StoredPredictionSerializer(
        read_only=True, help_text="The engine's verdict and reasons at record time."
    )
    explanation = StoredExplanationSerializer(
        read_only=True, help_text="The error message explained at record time; {} without one."
    )

    class Meta:
        model = MigrationRecord
        fields = [
            "id",
            "url",
            "source",
            "destination",
            "source_host",
            "destination_host",
            "guest_cpu",
            "hypervisor",
            "qemu_version",
            "libvirt_version",
            "machine_type",
            "esxi_version",
            "evc_mode",
            "hyperv_version",
            "compatibility_mode",
            "xen_version",
            "guest_os",
            "outcome",
            "downtime_ms",
            "error_message",
            "explanation",
            "happened_on",
            "submitter",
            "source_url",
            "notes",
            "predicted_verdict",
            "prediction",
            "engine_version",
            "contradiction",
            "created_at",
        ]
        read_only_fields = fields


class MigrationRecordInputSerializer(serializers.Serializer):
    """What a submitter sends to record a migration."""

    source = HostRefField(
        help_text='{"host": id}, {"report": id}, {"cpu_model": id} or {"raw": "<dump>"}'
    )
    destination = HostRefField(help_text="Same forms as source.")
    guest_cpu = serializers.CharField(
        max_length=200,
        help_text="host-passthrough, host-model, e.g. Opteron_G2,-rdtscp, or baseline",
    )
    hypervisor = serializers.ChoiceField(choices=Hypervisor.choices)
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    happened_on = serializers.DateField()
    qemu_version = serializers.CharField(max_length=40, required=False, allow_blank=True)
    libvirt_version = serializers.CharField(max_length=40, required=False, allow_blank=True)
    machine_type = serializers.CharField(max_length=60, required=False, allow_blank=True)
    esxi_version = serializers.CharField(max_length=40, required=False, allow_blank=True)
    evc_mode = serializers.CharField(max_length=40, required=False, allow_blank=True)
    hyperv_version = serializers.CharField(max_length=40, required=False, allow_blank=True)
    compatibility_mode = serializers.BooleanField(required=False, allow_null=True, default=None)
    xen_version = serializers.CharField(max_length=40, required=False, allow_blank=True)
    guest_os = serializers.CharField(max_length=100, required=False, allow_blank=True)
    downtime_ms = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    error_message = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=65536
    )
    source_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10000)


class MigrationRecordUpdateSerializer(serializers.ModelSerializer):
    """Fields a submitter may correct after the fact (the prediction never changes)."""

    class Meta:
        model = MigrationRecord
        fields = [
            "outcome",
            "downtime_ms",
            "guest_os",
            "qemu_version",
            "libvirt_version",
            "machine_type",
            "esxi_version",
            "evc_mode",
            "hyperv_version",
            "compatibility_mode",
            "xen_version",
            "source_url",
            "notes",
        ]


class ExplainErrorSerializer(serializers.Serializer):
    message = serializers.CharField(
        trim_whitespace=False, max_length=65536, help_text="The error text, verbatim."
    )


class MigrationRecordDetailSerializer(HistoryMixin, MigrationRecordSerializer):
    class Meta(MigrationRecordSerializer.Meta):
        fields = [*MigrationRecordSerializer.Meta.fields, "history"]
