"""The engine's directed verdict as an API answer, shared by every app that renders one: the
compatibility API (checks, matrix cells, pre-flight destinations) and the ledger (a record's
prediction).  Output serializers (``kbsite.output``) over ``cpus.cpuid.compat.Verdict.to_dict``:
each renders the answer and is its published schema; the enumerations are the core's lists."""

from __future__ import annotations

from rest_framework import serializers

from cpus.cpuid import compat, policies
from cpus.cpuid.levels import LEVELS
from kbsite.output import OutputSerializer


def names_field(**kwargs) -> serializers.ListField:
    """A list of feature (or other) names."""
    return serializers.ListField(child=serializers.CharField(), **kwargs)


def level_field(**kwargs) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=LEVELS, **kwargs)


def hypervisor_field(**kwargs) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=policies.HYPERVISORS, **kwargs)


# --- A verdict (compat.Verdict) -------------------------------------------------------------


class ReasonSerializer(OutputSerializer):
    """One finding of a verdict (``compat.Reason``)."""

    axis = serializers.ChoiceField(choices=compat.AXES)
    severity = serializers.ChoiceField(choices=compat.SEVERITIES)
    message = serializers.CharField()
    features = names_field(help_text="Feature names in the answer's vocabulary.")


class SuggestionSerializer(OutputSerializer):
    """A configuration that would do better than the verdict (``compat._suggest``)."""

    guest_cpu = serializers.CharField()
    verdict = level_field()
    hypervisor = hypervisor_field()
    hyperv_compatibility = serializers.ChoiceField(
        choices=compat.HYPERV_COMPATIBILITY,
        required=False,
        help_text="Hyper-V only: the processor compatibility mode to enable.",
    )
    libvirt_model = serializers.CharField(allow_null=True)
    leaves = names_field(help_text="The warnings and blockers the suggested configuration leaves.")
    message = serializers.CharField()


class VerdictSerializer(OutputSerializer):
    """A directed verdict (``compat.Verdict.to_dict``)."""

    verdict = level_field()
    source = serializers.CharField(allow_blank=True)
    destination = serializers.CharField(allow_blank=True)
    guest_cpu = serializers.CharField()
    guest_model = serializers.CharField(allow_null=True)
    hypervisor = hypervisor_field()
    hyperv_compatibility = serializers.ChoiceField(
        choices=compat.HYPERV_COMPATIBILITY, allow_null=True
    )
    missing = names_field(help_text="Guest features the destination lacks.")
    reasons = ReasonSerializer(many=True)
    suggestion = SuggestionSerializer(allow_null=True)
