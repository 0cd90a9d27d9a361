"""Drift in the API: a host's reports (newest first) and the site's drift events."""

from __future__ import annotations

import datetime

from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import ValidationError

from cpus.api.serializers import HostReportSerializer
from cpus.models import DriftEvent, Host, HostReport


class DriftEventSerializer(serializers.ModelSerializer):
    host = serializers.SerializerMethodField()

    class Meta:
        model = DriftEvent
        fields = [
            "id",
            "host",
            "from_report",
            "to_report",
            "vanished",
            "appeared",
            "stack_changes",
            "affected",
            "created_at",
        ]

    def get_host(self, event) -> dict:
        return {"id": event.host_id, "name": event.host.name}


def _when(value: str, name: str, end: bool = False):
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise ValidationError({name: f"{value!r} is not a date (YYYY-MM-DD) or date-time"})
        moment = datetime.datetime.combine(day, datetime.time.max if end else datetime.time.min)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment


@extend_schema(
    parameters=[
        OpenApiParameter("host", OpenApiTypes.INT, description="Only this host's events."),
        OpenApiParameter("tag", OpenApiTypes.STR, description="Only hosts with this pool tag."),
        OpenApiParameter("since", OpenApiTypes.STR, description="From this date or date-time."),
        OpenApiParameter("until", OpenApiTypes.STR, description="Up to this date or date-time."),
    ]
)
class DriftEventViewSet(viewsets.ReadOnlyModelViewSet):
    """Drift events, newest first: what vanished, appeared and changed in a host's stack
    between two of its reports, and what that affects."""

    serializer_class = DriftEventSerializer

    def get_queryset(self):
        events = DriftEvent.objects.select_related("host")
        params = self.request.query_params
        if params.get("host"):
            if not params["host"].isdigit():
                raise ValidationError({"host": "a host id (a number)"})
            events = events.filter(host_id=int(params["host"]))
        if params.get("tag"):
            events = events.filter(host__tags__name=params["tag"])
        if params.get("since"):
            events = events.filter(created_at__gte=_when(params["since"], "since"))
        if params.get("until"):
            events = events.filter(created_at__lte=_when(params["until"], "until", end=True))
        return events.order_by("-created_at", "-id")


@extend_schema(responses=HostReportSerializer(many=True))
class HostReportsViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Every report a host ever had, newest first (``GET /api/hosts/{id}/reports/``)."""

    serializer_class = HostReportSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return HostReport.objects.none()
        host = get_object_or_404(Host, pk=self.kwargs["host_pk"])
        return (
            HostReport.objects.filter(host=host)
            .select_related("cpu_model", "feature_set", "host")
            .defer("raw")
            .order_by("-created_at", "-id")
        )
