"""Ledger models: real migration outcomes, each with the prediction made for it at record time."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from cpus.cpuid import policies
from cpus.cpuid.levels import UNPREDICTABLE, Level

# What the ledger records: the engine's hypervisors (labels from their policies), then those it
# records without judging (cpus/cpuid/policies RECORDED_CHOICES).  Members KVM, VMWARE, HYPERV, XEN.
Hypervisor = models.TextChoices(
    "Hypervisor", [(key.upper(), (key, label)) for key, label in policies.RECORDED_CHOICES]
)


class Outcome(models.TextChoices):
    SUCCEEDED = "succeeded", "succeeded"
    SUCCEEDED_WITH_ISSUES = "succeeded-with-issues", "succeeded with issues"
    REFUSED = "refused-before-start", "refused before start"
    FAILED_DURING = "failed-during", "failed during migration"
    GUEST_CRASHED = "guest-crashed-after", "guest crashed after"

    @classmethod
    def failures(cls) -> tuple[str, ...]:
        return (cls.REFUSED, cls.FAILED_DURING, cls.GUEST_CRASHED)


# The engine's levels (cpus/cpuid/levels.py), then the ledger's own "no prediction".  Labels are
# Django's default for a member name ("Safe With Model"), as in migration 0001.
Verdict = models.TextChoices(
    "Verdict",
    [(level.name, level.value) for level in Level] + [("NONE", (UNPREDICTABLE, "no prediction"))],
)


class MigrationRecord(models.Model):
    """One live migration that really happened (or was refused), as its submitter reported it.

    Source and destination are host reports (a host or a CPU model picked in the form resolves to
    its current or best report).  ``prediction`` is what the engine answered for this exact pair
    and guest CPU when the record was made; it is never rewritten, so accuracy is measured
    against what we actually predicted."""

    source_report = models.ForeignKey("cpus.HostReport", on_delete=models.PROTECT, related_name="+")
    destination_report = models.ForeignKey(
        "cpus.HostReport", on_delete=models.PROTECT, related_name="+"
    )
    source_host = models.ForeignKey(
        "cpus.Host", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    destination_host = models.ForeignKey(
        "cpus.Host", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    guest_cpu = models.CharField(
        max_length=200,
        help_text="host-passthrough, host-model, a named model with +/- features, or baseline",
    )
    hypervisor = models.CharField(max_length=8, choices=Hypervisor.choices)
    qemu_version = models.CharField(max_length=40, blank=True)
    libvirt_version = models.CharField(max_length=40, blank=True)
    machine_type = models.CharField(max_length=60, blank=True)
    esxi_version = models.CharField(max_length=40, blank=True)
    evc_mode = models.CharField(max_length=40, blank=True)
    hyperv_version = models.CharField(max_length=40, blank=True)
    compatibility_mode = models.BooleanField(
        null=True, blank=True, help_text="Hyper-V processor compatibility"
    )
    xen_version = models.CharField(max_length=40, blank=True)
    guest_os = models.CharField(max_length=100, blank=True)
    outcome = models.CharField(max_length=24, choices=Outcome.choices)
    downtime_ms = models.PositiveIntegerField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    explanation = models.JSONField(
        default=dict, blank=True, help_text="What the error message means."
    )
    happened_on = models.DateField()
    submitter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="migrations",
    )
    source_url = models.URLField(max_length=500, blank=True)
    notes = models.TextField(blank=True)
    predicted_verdict = models.CharField(max_length=16, choices=Verdict.choices)
    prediction = models.JSONField(help_text="The engine's verdict and reasons at record time.")
    engine_version = models.CharField(max_length=16)
    seed_id = models.SlugField(
        max_length=80, blank=True, help_text="Id in the shipped seed ledger."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-happened_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(source_report=F("destination_report")),
                name="migration_source_differs_from_destination",
            ),
            models.UniqueConstraint(
                fields=["seed_id"], condition=~Q(seed_id=""), name="migration_seed_id_unique"
            ),
        ]

    def __str__(self) -> str:
        source = self.source_report.brand or "source"
        destination = self.destination_report.brand or "destination"
        return f"{source} -> {destination}: {self.outcome}"

    @property
    def failed(self) -> bool:
        return self.outcome in Outcome.failures()

    @property
    def contradiction(self) -> str:
        """Why this record contradicts its prediction, or ''."""
        if self.failed and self.predicted_verdict in (Verdict.SAFE, Verdict.SAFE_WITH_MODEL):
            outcome = self.get_outcome_display()
            return f"predicted {self.predicted_verdict}, but the migration {outcome}"
        if not self.failed and self.predicted_verdict == Verdict.BLOCKED:
            return f"predicted blocked, but the migration {self.get_outcome_display()}"
        return ""
