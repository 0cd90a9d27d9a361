"""Admin for the ledger."""

from django.contrib import admin

from migrations_log.models import MigrationRecord


@admin.register(MigrationRecord)
class MigrationRecordAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "hypervisor",
        "guest_cpu",
        "outcome",
        "predicted_verdict",
        "happened_on",
        "submitter",
    ]
    list_filter = ["hypervisor", "outcome", "predicted_verdict"]
    search_fields = ["error_message", "notes", "guest_cpu"]
    raw_id_fields = [
        "source_report",
        "destination_report",
        "source_host",
        "destination_host",
        "submitter",
    ]
    readonly_fields = ["prediction", "predicted_verdict", "engine_version", "explanation"]
