"""Admin for every catalog model."""

from django.contrib import admin

from cpus.models import (
    AuditEvent,
    CpuModel,
    Feature,
    FeatureSet,
    GuestCpuModel,
    Host,
    HostReport,
    PoolTag,
    RedecodeRun,
)


@admin.register(Feature)
class FeatureAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "qemu_name",
        "libvirt_name",
        "description",
        "vendor",
        "kind",
        "migratable",
    ]
    list_filter = ["vendor", "kind", "migratable"]
    search_fields = ["name", "qemu_name", "libvirt_name"]


@admin.register(FeatureSet)
class FeatureSetAdmin(admin.ModelAdmin):
    list_display = ["id", "digest", "feature_count", "absent_means_unknown", "created_at"]
    readonly_fields = ["digest", "mask", "unknown_mask", "feature_count"]
    raw_id_fields = ["features"]


@admin.register(CpuModel)
class CpuModelAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "vendor",
        "family",
        "model",
        "stepping",
        "codename",
        "microarchitecture",
        "launch_year",
    ]
    list_filter = ["vendor", "microarchitecture"]
    search_fields = ["brand", "codename"]
    raw_id_fields = ["feature_set"]


@admin.register(HostReport)
class HostReportAdmin(admin.ModelAdmin):
    list_display = ["id", "format", "vendor", "brand", "in_vm", "host", "uploaded_by", "created_at"]
    list_filter = ["format", "vendor", "in_vm"]
    search_fields = ["brand", "sha256"]
    raw_id_fields = ["feature_set", "cpu_model", "host", "uploaded_by"]
    readonly_fields = ["sha256", "decoder_version"]


class HostReportInline(admin.TabularInline):
    model = HostReport
    fields = ["id", "format", "brand", "created_at"]
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False


@admin.register(Host)
class HostAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "current_report", "created_at"]
    list_filter = ["tags"]
    search_fields = ["name"]
    raw_id_fields = ["current_report", "owner"]
    inlines = [HostReportInline]


@admin.register(PoolTag)
class PoolTagAdmin(admin.ModelAdmin):
    """Staff curate here: a tag owned by ``catalog`` is a curated public one."""

    list_display = ["name", "owner"]
    list_filter = ["owner"]
    search_fields = ["name", "owner__username"]
    raw_id_fields = ["owner"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail, read-only: it is written by the services, never edited."""

    list_display = ["created_at", "actor_name", "action", "object_type", "object_id", "summary"]
    list_filter = ["object_type", "action"]
    search_fields = ["actor_name", "summary"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(GuestCpuModel)
class GuestCpuModelAdmin(admin.ModelAdmin):
    list_display = ["name", "source", "version", "vendor", "migration_safe", "deprecated"]
    list_filter = ["source", "vendor", "migration_safe", "deprecated"]
    search_fields = ["name"]
    raw_id_fields = ["feature_set"]


@admin.register(RedecodeRun)
class RedecodeRunAdmin(admin.ModelAdmin):
    list_display = ["id", "decoder_version", "status", "done", "total", "created_at", "finished_at"]
