"""The ledger API's answers: output serializers over what the engine and the ledger's services
return (``kbsite.output``): each renders its answer and is its schema.

A prediction is ``compat.Verdict.to_dict()`` plus the engine version, or, when the engine cannot
judge (Xen, an unstated guest CPU), a verdict of ``unpredictable`` with a note
(``migrations_log.services.predict``).  A record's *stored* prediction was written by the engine
version it names, so its component is open: keys of older versions are passed through as stored.
"""

from __future__ import annotations

from rest_framework import serializers

from cpus.cpuid import compat, policies
from kbsite.output import OutputSerializer
from kbsite.verdict_output import ReasonSerializer, SuggestionSerializer
from migrations_log.models import Hypervisor, Outcome, Verdict


def _names(**kwargs) -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(), **kwargs)


class PredictionSerializer(OutputSerializer):
    """The engine's answer for a record's pair and guest CPU (``services.predict``)."""

    verdict = serializers.ChoiceField(choices=Verdict.choices)
    source = serializers.CharField(allow_blank=True, required=False)
    destination = serializers.CharField(allow_blank=True, required=False)
    guest_cpu = serializers.CharField(required=False)
    guest_model = serializers.CharField(allow_null=True, required=False)
    hypervisor = serializers.ChoiceField(choices=policies.HYPERVISORS, required=False)
    hyperv_compatibility = serializers.ChoiceField(
        choices=compat.HYPERV_COMPATIBILITY, allow_null=True, required=False
    )
    missing = _names(required=False)
    reasons = ReasonSerializer(many=True)
    suggestion = SuggestionSerializer(allow_null=True, required=False)
    engine_version = serializers.CharField()
    note = serializers.CharField(
        required=False, help_text="Why there is no prediction (verdict unpredictable)."
    )


class StoredPredictionSerializer(PredictionSerializer):
    """A prediction as stored at record time by the engine version it names (only its verdict
    is certain to be there: the record's list and filters read it)."""

    closed = False

    reasons = ReasonSerializer(many=True, required=False)
    engine_version = serializers.CharField(required=False)


class ReevaluationSerializer(OutputSerializer):
    """A record's stored prediction next to today's."""

    stored = StoredPredictionSerializer()
    current = PredictionSerializer()
    changed = serializers.BooleanField()


class StoredVerdictSerializer(OutputSerializer):
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    engine_version = serializers.CharField()
    agrees_with_outcome = serializers.BooleanField(allow_null=True)


class CurrentVerdictSerializer(StoredVerdictSerializer):
    engine_version = serializers.CharField(allow_null=True)
    reasons = ReasonSerializer(many=True)


class ReevaluatedRecordSerializer(OutputSerializer):
    """A record whose verdict changes (``services.Reevaluation.to_dict``)."""

    record = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    stored = StoredVerdictSerializer()
    current = CurrentVerdictSerializer()
    effect = serializers.ChoiceField(choices=("fixed", "broken", "changed"))


class LedgerReevaluationSerializer(OutputSerializer):
    engine_version = serializers.CharField()
    records = serializers.IntegerField()
    changed = ReevaluatedRecordSerializer(many=True)


class BlockedScoresSerializer(OutputSerializer):
    """How well ``blocked`` predicts a failure; intervals are 95 % Wilson, [low, high]."""

    true_positives = serializers.IntegerField()
    false_positives = serializers.IntegerField()
    false_negatives = serializers.IntegerField()
    precision = serializers.FloatField(allow_null=True)
    recall = serializers.FloatField(allow_null=True)
    precision_interval = serializers.ListField(
        child=serializers.FloatField(), min_length=2, max_length=2, allow_null=True
    )
    recall_interval = serializers.ListField(
        child=serializers.FloatField(), min_length=2, max_length=2, allow_null=True
    )


class HypervisorAccuracySerializer(OutputSerializer):
    """``services.Accuracy.to_dict``."""

    hypervisor = serializers.ChoiceField(choices=Hypervisor.choices)
    total = serializers.IntegerField()
    confusion_matrix = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text="Predicted verdict -> outcome -> records.",
    )
    blocked = BlockedScoresSerializer()


class AccuracySerializer(OutputSerializer):
    hypervisors = HypervisorAccuracySerializer(many=True)


class ExplanationSerializer(OutputSerializer):
    """What an error message means (``migrations_log.explain.Explanation.to_dict``)."""

    hypervisor = serializers.CharField(allow_null=True)
    axis = serializers.CharField()
    features = _names()
    summary = serializers.CharField()
    matched = serializers.BooleanField()
    pattern = serializers.CharField(allow_null=True)
    unresolved = _names()
    warnings = _names()


class StoredExplanationSerializer(ExplanationSerializer):
    """An explanation as stored with a record at record time: ``{}`` when the record has no
    error message; keys of older versions are passed through as stored."""

    closed = False

    hypervisor = serializers.CharField(allow_null=True, required=False)
    axis = serializers.CharField(required=False)
    features = _names(required=False)
    summary = serializers.CharField(required=False)
    matched = serializers.BooleanField(required=False)
    pattern = serializers.CharField(allow_null=True, required=False)
    unresolved = _names(required=False)
    warnings = _names(required=False)
