"""Catalog models: features, distinct feature sets, CPU models, host reports, hosts, guest CPUs."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cpus.cpuid import RAW_FORMATS, TABLE
from cpus.cpuid.identity import vendor_name

# The system owner of seeded and curated data (hosts, reports, pool tags, seed ledger records):
# an inactive account with no usable password, created by migration cpus 0007.  What it owns
# changes only through staff (the API's owner-or-staff rule, the admin).
CATALOG_OWNER = "catalog"


class Feature(models.Model):
    """One CPUID or MSR feature bit of the table in ``cpus/cpuid/table.py`` (kept in sync by
    ``seed_catalog``).  ``name`` is the canonical (Linux) name."""

    index = models.PositiveIntegerField(unique=True, help_text="Bit position in feature masks.")
    name = models.CharField(max_length=64, unique=True)
    linux_name = models.CharField(max_length=64, blank=True)
    qemu_name = models.CharField(max_length=64, blank=True)
    libvirt_name = models.CharField(max_length=64, blank=True)
    leaf = models.BigIntegerField(null=True, blank=True)
    subleaf = models.PositiveIntegerField(null=True, blank=True)
    register = models.CharField(max_length=3, blank=True)
    msr = models.BigIntegerField(null=True, blank=True)
    bit = models.PositiveSmallIntegerField()
    vendor = models.CharField(max_length=8, help_text="both, intel, amd or via")
    kind = models.CharField(max_length=12, help_text="feature, os, hypervisor or host")
    migratable = models.BooleanField(default=True)
    linux_hidden = models.BooleanField(
        default=False, help_text="A real bit /proc/cpuinfo never shows."
    )
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["index"]

    def __str__(self) -> str:
        return self.name

    @property
    def location(self) -> str:
        return TABLE.features[self.index].location

    @property
    def group(self) -> str:
        """The CPUID word or MSR the bit lives in, for grouping on pages."""
        if self.msr is not None:
            return f"MSR 0x{self.msr:x}"
        return f"CPUID 0x{self.leaf:x}.{self.subleaf} {self.register.upper()}"


class FeatureSet(models.Model):
    """A distinct decoded CPU view.  Many reports share one; the compatibility engine works on
    these.  ``mask``/``unknown_mask`` are hex bitmasks over ``Feature.index``."""

    digest = models.CharField(max_length=64, unique=True)
    mask = models.CharField(max_length=128)
    unknown_mask = models.CharField(max_length=128, default="0")
    absent_means_unknown = models.BooleanField(default=False)
    feature_count = models.PositiveIntegerField()
    features = models.ManyToManyField(Feature, related_name="feature_sets")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"feature set {self.digest[:12]} ({self.feature_count} features)"

    @property
    def feature_mask(self) -> int:
        return int(self.mask, 16)

    @property
    def unknown(self) -> int:
        return int(self.unknown_mask, 16)


class CpuModel(models.Model):
    """A real processor, one row per distinct identity (vendor, family, model, stepping, brand),
    built from the reports that show it."""

    vendor = models.CharField(max_length=16)
    family = models.PositiveIntegerField(null=True, blank=True)
    model = models.PositiveIntegerField(null=True, blank=True)
    stepping = models.PositiveIntegerField(null=True, blank=True)
    brand = models.CharField(max_length=64, blank=True)
    codename = models.CharField(max_length=64, blank=True)
    microarchitecture = models.CharField(max_length=64, blank=True)
    launch_year = models.PositiveSmallIntegerField(null=True, blank=True)
    feature_set = models.ForeignKey(
        FeatureSet,
        on_delete=models.PROTECT,
        related_name="cpu_models",
        help_text="The most exact view among its reports (raw dumps taken on the host first).",
    )
    assists = models.JSONField(
        default=dict, blank=True, help_text="Migration assists (CPUID masking, override, faulting)."
    )
    assist_keys = models.CharField(
        max_length=200,
        blank=True,
        help_text="',key,key,' of the assists the CPU has, for filtering.",
    )

    class Meta:
        ordering = ["vendor", "family", "model", "stepping", "brand"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "family", "model", "stepping", "brand"],
                name="cpu_model_identity_unique",
            )
        ]

    def __str__(self) -> str:
        return (
            self.brand
            or f"{self.vendor} family {self.family} model {self.model} stepping {self.stepping}"
        )

    @property
    def vendor_name(self) -> str:
        return vendor_name(self.vendor)

    @property
    def signature(self) -> str:
        return f"{self.family}/{self.model}/{self.stepping}"


class HostReport(models.Model):
    """One accepted upload, kept verbatim so that a better decoder can read it again."""

    raw = models.TextField(help_text="The uploaded text, verbatim.")
    sha256 = models.CharField(max_length=64, unique=True)
    format = models.CharField(max_length=32)
    decoder_version = models.CharField(max_length=16)
    warnings = models.JSONField(default=list, blank=True)
    vendor = models.CharField(max_length=16)
    family = models.PositiveIntegerField(null=True, blank=True)
    model = models.PositiveIntegerField(null=True, blank=True)
    stepping = models.PositiveIntegerField(null=True, blank=True)
    brand = models.CharField(max_length=64, blank=True)
    signature = models.CharField(max_length=8, blank=True, help_text="Raw CPUID.1:EAX, hex.")
    phys_bits = models.PositiveSmallIntegerField(null=True, blank=True)
    virt_bits = models.PositiveSmallIntegerField(null=True, blank=True)
    in_vm = models.BooleanField(default=False)
    hypervisor_vendor = models.CharField(max_length=32, blank=True)
    cpu_count = models.PositiveIntegerField(default=1)
    host_facts = models.JSONField(
        default=dict,
        blank=True,
        help_text="Per-host facts the compatibility engine reads beyond the identity and the "
        "feature masks (migration assists, highest CPUID leaves): baseline.host_facts.",
    )
    stack = models.JSONField(
        default=dict,
        blank=True,
        help_text="The host's software stack when the upload said it (QEMU/libvirt versions and "
        "machine types, kernel release and command line, microcode, vulnerabilities, "
        "ESXi/vCenter build, Hyper-V configuration version, vmx-* capabilities): "
        "cpus.cpuid.stack.HostStack.to_dict; empty: not reported.",
    )
    feature_set = models.ForeignKey(FeatureSet, on_delete=models.PROTECT, related_name="reports")
    cpu_model = models.ForeignKey(CpuModel, on_delete=models.PROTECT, related_name="reports")
    host = models.ForeignKey(
        "Host", on_delete=models.SET_NULL, null=True, blank=True, related_name="reports"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
    )
    source = models.CharField(max_length=200, blank=True, help_text="Where the dump came from.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"report {self.pk} ({self.format}, {self.brand or self.vendor})"

    @property
    def is_raw(self) -> bool:
        return self.format in RAW_FORMATS


class PoolTag(models.Model):
    """A label that groups hosts into pools (``rack-a``, ``prod-kvm``).  Tags are per owner: a
    user's ``rack-a`` is theirs alone; the catalog owner's are the curated public ones
    (``demo-2008``), which only staff change."""

    name = models.SlugField(max_length=64)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pool_tags"
    )

    class Meta:
        ordering = ["name", "owner_id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="pool_tag_unique_per_owner")
        ]
        indexes = [models.Index(fields=["name"], name="pool_tag_name_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.owner.username})"

    @property
    def is_curated(self) -> bool:
        return self.owner.username == CATALOG_OWNER


class Host(models.Model):
    """A named machine in a user's inventory, with its current report and earlier ones."""

    name = models.CharField(max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="hosts",
    )
    tags = models.ManyToManyField(PoolTag, blank=True, related_name="hosts")
    current_report = models.ForeignKey(
        HostReport, on_delete=models.SET_NULL, null=True, blank=True, related_name="current_for"
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="host_name_unique_per_owner")
        ]
        # API references name hosts without their owner ({"host": "name"}).
        indexes = [models.Index(fields=["name"], name="host_name_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_curated(self) -> bool:
        """A host of the curated catalog (owned by the system owner)."""
        return self.owner_id is not None and self.owner.username == CATALOG_OWNER


class GuestSource(models.TextChoices):
    QEMU = "qemu", "QEMU"
    LIBVIRT = "libvirt", "libvirt"
    VMWARE_EVC = "vmware-evc", "VMware EVC"
    X86_64_LEVEL = "x86-64-level", "x86-64 psABI level"
    PROXMOX = "proxmox", "Proxmox VE"


class GuestCpuModel(models.Model):
    """A named CPU a hypervisor can present to guests (QEMU/libvirt models, EVC modes, psABI
    levels), with its features and where the definition came from."""

    source = models.CharField(max_length=16, choices=GuestSource.choices)
    name = models.CharField(max_length=64)
    version = models.CharField(
        max_length=16, blank=True, help_text="Model version (QEMU: v1, v2...)."
    )
    aliases = models.CharField(
        max_length=200, blank=True, help_text="Other names that select this model."
    )
    label = models.CharField(max_length=100, blank=True, help_text="Model-id or EVC mode title.")
    vendor = models.CharField(max_length=16, blank=True)
    feature_set = models.ForeignKey(
        FeatureSet, on_delete=models.PROTECT, related_name="guest_models"
    )
    migration_safe = models.BooleanField(default=True)
    deprecated = models.BooleanField(default=False)
    origin = models.CharField(max_length=300, help_text="Where the definition came from.")

    class Meta:
        ordering = ["source", "name"]
        constraints = [
            models.UniqueConstraint(fields=["source", "name"], name="guest_model_unique_per_source")
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.name}"


class RedecodeRun(models.Model):
    """Re-reading every stored report with a new decoder version, with progress."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    decoder_version = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    failures = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"re-decode to {self.decoder_version}: {self.status} {self.done}/{self.total}"


class MatrixRun(models.Model):
    """A pairwise compatibility job over a pool of hosts, for every hypervisor at once.

    Hosts with the same CPU view share a class; the results are class-by-class tiles (never one
    row per host pair).  ``members`` maps each host (in ``host_ids`` order) to its class, as
    little-endian int32 bytes."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    selection = models.JSONField(help_text='{"hosts": [ids]}, {"tag": name} or {"all": true}')
    guest_cpu = models.CharField(max_length=200, default="host-passthrough")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    host_ids = models.JSONField(default=list)
    host_labels = models.JSONField(default=list)
    class_reports = models.JSONField(default=list, help_text="One report id per class.")
    members = models.BinaryField(default=b"")
    tiles_total = models.PositiveIntegerField(default=0)
    tiles_done = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    notes = models.TextField(
        blank=True, help_text="What the run left out, e.g. hosts deleted before it was prepared."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(
        null=True, blank=True, help_text="Last progress; the sweeper uses it."
    )
    stale_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a host of the run got a report that changes its CPU view (drift).",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"matrix run {self.pk} ({self.status}, {len(self.host_ids)} hosts)"

    @property
    def class_count(self) -> int:
        return len(self.class_reports)

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class MatrixTile(models.Model):
    """Rows ``start``..``stop`` of the class-by-class result, per hypervisor: verdict level codes
    (uint8) and missing-feature counts (uint16), as raw bytes."""

    run = models.ForeignKey(MatrixRun, on_delete=models.CASCADE, related_name="tiles")
    index = models.PositiveIntegerField()
    start = models.PositiveIntegerField()
    stop = models.PositiveIntegerField()
    levels = models.BinaryField(help_text="hypervisors x rows x classes, uint8")
    missing = models.BinaryField(help_text="hypervisors x rows x classes, uint16 little-endian")

    class Meta:
        ordering = ["run", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="matrix_tile_unique_per_run")
        ]

    def __str__(self) -> str:
        return f"tile {self.index} of run {self.run_id}"


class AuditEvent(models.Model):
    """Who changed what and when: one row per write to a host, report, ledger record or pool tag,
    written by the services and views that make the write (never by signals, so seeds and
    migrations say what they are).  ``actor_name`` keeps the name if the account goes."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=32)
    object_type = models.CharField(max_length=32)
    object_id = models.PositiveBigIntegerField()
    summary = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.action} {self.object_type} {self.object_id}"


class DriftEvent(models.Model):
    """A host's new report compared with its previous one: features that vanished or appeared,
    stack changes (microcode, kernel, QEMU, libvirt, VMX), and what that affects
    (``cpus.drift.affected``: pools, matrix runs, recorded migrations, guest CPU models)."""

    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="drift_events")
    from_report = models.ForeignKey(
        HostReport, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    to_report = models.ForeignKey(HostReport, on_delete=models.CASCADE, related_name="+")
    vanished = models.JSONField(default=list, help_text="Features the new report lacks.")
    appeared = models.JSONField(default=list, help_text="Features only the new report has.")
    stack_changes = models.JSONField(default=list)
    affected = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"drift {self.pk} of {self.host}"


class DriftWebhook(models.Model):
    """The URL a user wants each drift event of their hosts POSTed to (their profile)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="drift_webhook"
    )
    url = models.URLField(max_length=500)

    def __str__(self) -> str:
        return f"webhook of {self.user}"


class WebhookDelivery(models.Model):
    """One drift event to one URL: delivered exactly once (the task checks ``status``)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    event = models.ForeignKey(DriftEvent, on_delete=models.CASCADE, related_name="deliveries")
    url = models.URLField(max_length=500)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "url"], name="webhook_delivery_once")
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} of drift {self.event_id} ({self.status})"
