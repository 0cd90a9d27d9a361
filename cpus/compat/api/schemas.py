"""The compatibility API's answers: output serializers over what the engine returns.

Each class renders an answer (the views pass the engine's ``to_dict()`` forms through it) and is
that answer's schema (``extend_schema(responses=...)``); see ``kbsite.output``.  Enumerations come
from the core's registries: verdict levels, severities and axes from ``cpus.cpuid.compat``,
hypervisors from ``cpus.cpuid.policies``, Hyper-V compatibility modes from its policy, VM formats
from ``cpus.cpuid.vmconfig``.  A field is ``required=False`` only where the engine gives the key
sometimes; ``allow_null`` only where it can be null.
"""

from __future__ import annotations

from rest_framework import serializers

from cpus.cpuid import policies, vmconfig
from cpus.cpuid.levels import LEVELS
from kbsite.output import OutputSerializer, renamed
from kbsite.verdict_output import (
    ReasonSerializer,
)
from kbsite.verdict_output import (
    hypervisor_field as _hypervisor,
)
from kbsite.verdict_output import (
    level_field as _level,
)
from kbsite.verdict_output import (
    names_field as _names,
)

HYPERVISORS = policies.HYPERVISORS
NOTE_LEVELS = ("info", "warning")


# --- A pool baseline (baseline.Baseline) with its exports -------------------------------------


class FittedModelSerializer(OutputSerializer):
    """A named model with the +/- features that make it the baseline (``FittedModel``)."""

    name = serializers.CharField()
    source = serializers.CharField()
    model = serializers.CharField()
    vendor = serializers.CharField(allow_null=True)
    plus = _names()
    minus = _names()
    spec = serializers.CharField()
    unexpressible = _names()


class EvcBlockerSerializer(OutputSerializer):
    """A host that cannot join its vendor's EVC mode (``baseline.evc_blocker_entry``)."""

    host = serializers.CharField()
    kind = serializers.CharField()
    mode = serializers.CharField(allow_null=True)
    features = _names()
    reason = serializers.CharField()


class GuestOsRunsSerializer(OutputSerializer):
    """A guest OS release and whether the guest CPU meets its floor (``guest_os.runnable``)."""

    id = serializers.CharField()
    name = serializers.CharField()
    runs = serializers.BooleanField()
    missing = _names()
    published = serializers.BooleanField()


class NoteSerializer(OutputSerializer):
    """A note on an export (``export._note``)."""

    level = serializers.ChoiceField(choices=NOTE_LEVELS)
    message = serializers.CharField()


def _notes(**kwargs):
    return NoteSerializer(many=True, **kwargs)


def _per_vendor(**kwargs) -> serializers.DictField:
    """Keyed by vendor key (intel, amd, hygon)."""
    return serializers.DictField(child=serializers.CharField(allow_null=True), **kwargs)


class NovaExportSerializer(OutputSerializer):
    config = serializers.CharField()
    lost = _names()
    notes = _notes()


class UnexpressibleSerializer(OutputSerializer):
    qemu = _names()
    libvirt = _names()


class ExportNotesSerializer(OutputSerializer):
    libvirt_xml = _notes()
    qemu_cpu = _notes()
    nova = _notes()
    proxmox = _notes()
    evc_mode = _notes()


class KubevirtFeatureSerializer(OutputSerializer):
    name = serializers.CharField()
    policy = serializers.ChoiceField(choices=("require", "disable"))


class KubevirtCpuSerializer(OutputSerializer):
    model = serializers.CharField()
    features = KubevirtFeatureSerializer(many=True)


class KubevirtExportSerializer(OutputSerializer):
    cpu = KubevirtCpuSerializer(allow_null=True)
    yaml = serializers.CharField(allow_blank=True)
    node_labels = serializers.DictField(child=serializers.CharField())
    notes = _notes()


class NovaOrchestratorSerializer(OutputSerializer):
    config = serializers.CharField()
    cpu_models = _names()
    flavor_extra_specs = serializers.DictField(child=serializers.CharField())
    flavor_command = serializers.CharField()
    lost = _names()
    notes = _notes()


class ProxmoxVmSerializer(OutputSerializer):
    cpu_line = serializers.CharField(allow_blank=True)
    custom_model = serializers.CharField(allow_blank=True)
    notes = _notes()


class VsphereModeSerializer(OutputSerializer):
    key = serializers.CharField()
    vcenter_name = serializers.CharField()
    cluster_powercli = serializers.CharField()
    vm_powercli = serializers.CharField()
    cluster_govc_read = serializers.CharField()
    vm_govc_read = serializers.CharField()


class VsphereExportSerializer(OutputSerializer):
    evc_mode = serializers.CharField(allow_null=True)
    modes = serializers.DictField(child=VsphereModeSerializer(allow_null=True))
    notes = _notes()


class OrchestratorsSerializer(OutputSerializer):
    """``orchestrators.all_orchestrators``: one entry per ``orchestrators.FORMATS``."""

    kubevirt = KubevirtExportSerializer()
    nova = NovaOrchestratorSerializer()
    proxmox = ProxmoxVmSerializer()
    vsphere = VsphereExportSerializer()


class ExportsSerializer(OutputSerializer):
    """``export.all_exports`` and the orchestrators' configurations."""

    libvirt_xml = serializers.CharField()
    qemu_cpu = serializers.CharField()
    nova = NovaExportSerializer()
    proxmox = serializers.CharField(allow_blank=True)
    proxmox_vm_cpu = serializers.CharField(allow_null=True)
    evc_mode = serializers.CharField(allow_null=True)
    evc_modes = _per_vendor()
    evc_vcenter_names = _per_vendor()
    guest_vendor = serializers.CharField(allow_null=True)
    x86_64_level = serializers.CharField(allow_null=True)
    unexpressible = UnexpressibleSerializer()
    notes = ExportNotesSerializer()
    orchestrators = OrchestratorsSerializer()


class PoolBaselineSerializer(OutputSerializer):
    """A pool's baseline (``Baseline.to_dict``), its exports and the guest OSes it boots."""

    hosts = serializers.IntegerField()
    features = _names()
    unknown = _names(help_text="Features some host's report cannot show.")
    left_out = serializers.DictField(
        child=_names(), help_text="Features every host has but the baseline leaves out, by why."
    )
    vendors = serializers.DictField(
        child=serializers.IntegerField(), help_text="Hosts per CPUID vendor string."
    )
    phys_bits = serializers.IntegerField(allow_null=True)
    guest_phys_bits = serializers.IntegerField()
    qemu_model = FittedModelSerializer(allow_null=True)
    libvirt_model = FittedModelSerializer(allow_null=True)
    nova_model = FittedModelSerializer(allow_null=True)
    proxmox_model = FittedModelSerializer(allow_null=True)
    guest_vendor = serializers.CharField(allow_null=True)
    evc_mode = serializers.CharField(allow_null=True)
    evc_modes = _per_vendor()
    evc_vcenter_names = _per_vendor()
    x86_64_level = serializers.CharField(allow_null=True)
    evc_blockers = serializers.DictField(child=EvcBlockerSerializer(many=True))
    notes = _names()
    exports = ExportsSerializer()
    guest_os = GuestOsRunsSerializer(many=True)
    guest_os_check = ReasonSerializer(
        required=False, help_text="Only with guest_os: whether it boots on the baseline."
    )


# --- VM pre-flight (preflight.Preflight) -----------------------------------------------------


class VmCpuSerializer(OutputSerializer):
    """The guest CPU read from the VM definition (``vmconfig.VmCpu``)."""

    format = serializers.ChoiceField(choices=vmconfig.FORMATS)
    hypervisor = _hypervisor()
    guest_cpu = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    notes = _names()


# How many destinations got each verdict level: one key per level of ``cpus.cpuid.levels.LEVELS``.
LevelCountsSerializer = type(
    "LevelCountsSerializer",
    (OutputSerializer,),
    {
        "__doc__": "How many destinations got each verdict level.",
        "__module__": __name__,
        **{level: serializers.IntegerField() for level in LEVELS},
    },
)


class GuestOsAnswerSerializer(OutputSerializer):
    id = serializers.CharField()
    name = serializers.CharField()
    boots = serializers.BooleanField()
    reason = ReasonSerializer()


class WidenSerializer(OutputSerializer):
    """The one guest CPU change that makes the most further destinations safe."""

    guest_cpu = serializers.CharField()
    action = serializers.CharField()
    guest_model = serializers.CharField(allow_null=True)
    gained = serializers.IntegerField()
    safe_after = serializers.IntegerField()
    note = serializers.CharField()


class PreflightClassSerializer(OutputSerializer):
    """A distinct destination CPU with its full reasons."""

    verdict = _level()
    missing = _names()
    reasons = ReasonSerializer(many=True)


@renamed(klass="class")
class DestinationSerializer(OutputSerializer):
    """One destination (``preflight.Destination.to_dict``) and its catalog host id."""

    host = serializers.CharField()
    verdict = _level()
    missing_count = serializers.IntegerField()
    klass = serializers.IntegerField(help_text="Index into classes; -1 when not detailed.")
    missing = _names(required=False, help_text="With reasons_inline only.")
    reasons = ReasonSerializer(many=True, required=False, help_text="With reasons_inline only.")
    detailed = serializers.BooleanField(required=False, help_text="With reasons_inline only.")
    host_id = serializers.IntegerField(allow_null=True)


class PreflightSerializer(OutputSerializer):
    """Where a VM can go (``preflight.Preflight.to_dict``) and the VM as read."""

    vm = VmCpuSerializer()
    guest_cpu = serializers.CharField()
    hypervisor = _hypervisor()
    source = serializers.CharField(allow_blank=True)
    counts = LevelCountsSerializer()
    guest_os = GuestOsAnswerSerializer(allow_null=True)
    widen = WidenSerializer(allow_null=True)
    reasons_inline = serializers.BooleanField()
    classes = PreflightClassSerializer(many=True)
    destinations = DestinationSerializer(many=True)


# --- Planning (planning.what_if, standardisation, stranded) -----------------------------------


class PoolSummarySerializer(OutputSerializer):
    """A pool's baseline in brief (``planning._summary``)."""

    hosts = serializers.IntegerField()
    features = serializers.IntegerField(help_text="How many features the baseline has.")
    qemu_model = serializers.CharField(allow_null=True)
    libvirt_model = serializers.CharField(allow_null=True)
    evc_modes = _per_vendor()
    x86_64_level = serializers.CharField(allow_null=True)
    guest_os = _names(help_text="Ids of the guest OS releases that boot on it.")


class StandardisationSerializer(OutputSerializer):
    """One standardisation choice (``planning.standardisation``)."""

    guest_model = serializers.CharField()
    vendor = serializers.CharField(allow_null=True)
    keeps = serializers.IntegerField()
    drops = _names(help_text="Hosts that cannot run it.")
    gained = _names()
    lost = _names()
    fitted = serializers.BooleanField()


@renamed(host_passthrough="host-passthrough", host_model="host-model")
class StrandedSerializer(OutputSerializer):
    """Whether a pool host's running VMs could move to the new CPU (``planning.stranded``)."""

    host = serializers.CharField()
    missing = _names()
    host_passthrough = _level()
    host_model = _level()
    stranded = serializers.BooleanField()


class PoolPlanSerializer(OutputSerializer):
    """``planning.what_if`` with the planned pool's standardisation choices and strandings."""

    before = PoolSummarySerializer(allow_null=True)
    after = PoolSummarySerializer()
    gained = _names()
    lost = _names()
    added = _names()
    retired = _names()
    standardisation = StandardisationSerializer(many=True)
    stranded = serializers.DictField(
        child=StrandedSerializer(many=True), help_text="Per planned CPU model."
    )


# --- Matrix run results -----------------------------------------------------------------------


class RunHostSerializer(OutputSerializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


@renamed(klass="class")
class RunRowSerializer(OutputSerializer):
    klass = serializers.IntegerField()
    hosts = RunHostSerializer(many=True)
    verdicts = serializers.ListField(
        child=serializers.IntegerField(), help_text="Per destination class: an index into levels."
    )
    missing = serializers.ListField(child=serializers.IntegerField())


class RunResultsSerializer(OutputSerializer):
    """One page of a finished matrix run."""

    hypervisor = _hypervisor()
    levels = serializers.ListField(
        child=_level(), help_text="The verdict levels (cpus/cpuid/levels.py), in rank order."
    )
    classes = serializers.IntegerField()
    count = serializers.IntegerField()
    offset = serializers.IntegerField()
    limit = serializers.IntegerField()
    rows = RunRowSerializer(many=True)
