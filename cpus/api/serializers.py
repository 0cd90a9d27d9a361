"""API representations: brief nested objects for relations, full ones on detail endpoints."""

from __future__ import annotations

import json

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cpus.api.schemas import HostStackSerializer
from cpus.audit import audit_trail
from cpus.cpuid.stack import HostStack, StackError
from cpus.cpuid.vocabulary import parse_vocabulary
from cpus.models import AuditEvent, CpuModel, Feature, GuestCpuModel, Host, HostReport
from cpus.selectors import feature_names


def _vocabulary(context) -> str:
    request = context.get("request")
    return parse_vocabulary(request.query_params.get("names") if request is not None else None)


class FeatureBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Feature
        fields = ["name", "qemu_name", "libvirt_name"]


class FeatureSerializer(serializers.ModelSerializer):
    location = serializers.CharField(source="description", read_only=True)

    class Meta:
        model = Feature
        fields = [
            "index",
            "name",
            "linux_name",
            "qemu_name",
            "libvirt_name",
            "location",
            "leaf",
            "subleaf",
            "register",
            "msr",
            "bit",
            "vendor",
            "kind",
            "migratable",
            "linux_hidden",
        ]


class CpuModelBriefSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:cpu-model-detail")

    class Meta:
        model = CpuModel
        fields = ["id", "url", "vendor", "family", "model", "stepping", "brand", "codename"]


@extend_schema_field(serializers.ListField(child=serializers.CharField()))
class FeaturesField(serializers.Field):
    """Feature names of the object's feature set, in the vocabulary of ``?names=``
    (linux by default; qemu and libvirt leave out bits they have no name for)."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value):
        return feature_names(value.feature_set, _vocabulary(self.context))


class CpuModelSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:cpu-model-detail")
    feature_count = serializers.IntegerField(source="feature_set.feature_count", read_only=True)
    report_count = serializers.IntegerField(read_only=True)
    real_reports = serializers.IntegerField(
        read_only=True,
        help_text="Reports taken on a real host (not inside a VM, not a QEMU model stand-in).",
    )

    class Meta:
        model = CpuModel
        fields = [
            "id",
            "url",
            "vendor",
            "family",
            "model",
            "stepping",
            "brand",
            "codename",
            "microarchitecture",
            "launch_year",
            "feature_count",
            "report_count",
            "real_reports",
            "assists",
        ]
        extra_kwargs = {
            "assists": {
                "help_text": "Migration assists: CPUID masking/override/faulting mechanisms, "
                "each with confidence (enumerated, inferred, unknown), the CPUID leaves it can "
                "hide, a one-line explanation and its source."
            }
        }


class CpuModelDetailSerializer(CpuModelSerializer):
    features = FeaturesField()
    unknown_when_absent = serializers.BooleanField(
        source="feature_set.absent_means_unknown", read_only=True
    )

    class Meta(CpuModelSerializer.Meta):
        fields = [*CpuModelSerializer.Meta.fields, "features", "unknown_when_absent"]


class HostBriefSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:host-detail")

    class Meta:
        model = Host
        fields = ["id", "url", "name"]


class HostReportSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:report-detail")
    cpu_model = CpuModelBriefSerializer(read_only=True)
    host = HostBriefSerializer(read_only=True)
    feature_count = serializers.IntegerField(source="feature_set.feature_count", read_only=True)
    warnings = serializers.ListField(child=serializers.CharField(), read_only=True)
    stack = HostStackSerializer(
        read_only=True, help_text=HostReport._meta.get_field("stack").help_text
    )

    class Meta:
        model = HostReport
        fields = [
            "id",
            "url",
            "sha256",
            "format",
            "decoder_version",
            "vendor",
            "family",
            "model",
            "stepping",
            "brand",
            "signature",
            "phys_bits",
            "virt_bits",
            "in_vm",
            "hypervisor_vendor",
            "cpu_count",
            "feature_count",
            "warnings",
            "stack",
            "cpu_model",
            "host",
            "created_at",
        ]


class AuditEventSerializer(serializers.ModelSerializer):
    """One entry of an object's audit trail: when, who, what."""

    actor = serializers.CharField(source="actor_name", read_only=True)

    class Meta:
        model = AuditEvent
        fields = ["created_at", "actor", "action", "summary"]


class HistoryMixin(serializers.Serializer):
    """``history``: the object's audit trail, newest first (detail answers only: one query)."""

    history = serializers.SerializerMethodField()

    @extend_schema_field(AuditEventSerializer(many=True))
    def get_history(self, obj) -> list[dict]:
        return AuditEventSerializer(audit_trail(obj), many=True).data


class HostReportDetailSerializer(HistoryMixin, HostReportSerializer):
    features = FeaturesField()
    unknown_when_absent = serializers.BooleanField(
        source="feature_set.absent_means_unknown", read_only=True
    )

    class Meta(HostReportSerializer.Meta):
        fields = [
            *HostReportSerializer.Meta.fields,
            "features",
            "unknown_when_absent",
            "raw",
            "history",
        ]


class ReportUploadSerializer(serializers.Serializer):
    """Either a multipart ``file`` or a JSON/form ``raw`` text; optional ``host_name``."""

    raw = serializers.CharField(required=False, trim_whitespace=False, allow_blank=True)
    file = serializers.FileField(required=False, allow_empty_file=True)
    host_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    stack = serializers.JSONField(
        required=False,
        help_text="Optional stack facts (an object; in multipart, a JSON string): qemu_version, "
        "qemu_machine_types, libvirt_version, kernel_release, kernel_cmdline, microcode, "
        "vulnerabilities, esxi_build, vcenter_build, hyperv_config_version, vmx_features.",
    )

    def validate_stack(self, value):
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except ValueError as error:
                raise serializers.ValidationError(f"not JSON: {error}") from None
        try:
            HostStack.from_dict(value)
        except StackError as error:
            raise serializers.ValidationError(str(error)) from None
        return value

    def validate(self, attrs):
        if not attrs.get("raw") and not attrs.get("file"):
            raise serializers.ValidationError("send the report as a 'file' upload or as 'raw' text")
        return attrs


class TagListField(serializers.ListField):
    """Pool tags in and out as a list of names (``PoolTag`` rows behind them)."""

    def to_representation(self, tags):
        return [tag.name for tag in tags.all()]


class HostSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:host-detail")
    tags = TagListField(
        child=serializers.SlugField(max_length=64), required=False, help_text="Pool tags (slugs)."
    )
    current_report = serializers.PrimaryKeyRelatedField(
        queryset=HostReport.objects.all(),
        required=False,
        allow_null=True,
        help_text="Id of the host's current report.",
    )
    cpu_model = CpuModelBriefSerializer(
        source="current_report.cpu_model", read_only=True, default=None, allow_null=True
    )
    owner = serializers.CharField(
        source="owner.username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = Host
        fields = [
            "id",
            "url",
            "name",
            "owner",
            "tags",
            "notes",
            "current_report",
            "cpu_model",
            "created_at",
        ]

    def validate_name(self, name: str) -> str:
        # A host's name is unique among its owner's (staff editing a catalog host: the catalog's).
        owner = self.instance.owner if self.instance is not None else self.context["request"].user
        clash = Host.objects.filter(owner=owner, name=name)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(f"you already have a host named {name!r}")
        return name


class HostDetailSerializer(HistoryMixin, HostSerializer):
    class Meta(HostSerializer.Meta):
        fields = [*HostSerializer.Meta.fields, "history"]


class GuestCpuModelSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:guest-model-detail")
    feature_count = serializers.IntegerField(source="feature_set.feature_count", read_only=True)

    class Meta:
        model = GuestCpuModel
        fields = [
            "id",
            "url",
            "source",
            "name",
            "version",
            "vendor",
            "migration_safe",
            "deprecated",
            "origin",
            "feature_count",
        ]


class GuestCpuModelDetailSerializer(GuestCpuModelSerializer):
    features = FeaturesField()

    class Meta(GuestCpuModelSerializer.Meta):
        fields = [*GuestCpuModelSerializer.Meta.fields, "features"]


class FeatureDetailSerializer(FeatureSerializer):
    cpu_models = serializers.SerializerMethodField()

    class Meta(FeatureSerializer.Meta):
        fields = [*FeatureSerializer.Meta.fields, "cpu_models"]

    def get_cpu_models(self, feature) -> list[dict]:
        cpus = CpuModel.objects.filter(feature_set__features=feature).order_by(
            "vendor", "family", "model"
        )
        return CpuModelBriefSerializer(cpus, many=True, context=self.context).data
