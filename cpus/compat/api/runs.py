"""Matrix runs over REST: create (202), poll status and progress, read results by page and cell."""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.response import Response

from cpus.compat import runs
from cpus.compat.api.schemas import RunResultsSerializer
from cpus.cpuid import compat
from cpus.models import MatrixRun
from kbsite.verdict_output import VerdictSerializer

HYPERVISOR = OpenApiParameter(
    "hypervisor", str, enum=list(compat.HYPERVISORS), description="default kvm"
)


class MatrixRunSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:matrix-run-detail")
    hosts = serializers.SerializerMethodField()
    classes = serializers.IntegerField(source="class_count", read_only=True)
    progress = serializers.SerializerMethodField()
    seconds = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = MatrixRun
        fields = [
            "id",
            "url",
            "status",
            "selection",
            "guest_cpu",
            "hosts",
            "classes",
            "progress",
            "error",
            "notes",
            "created_at",
            "started_at",
            "finished_at",
            "seconds",
        ]

    def get_hosts(self, run) -> int:
        return len(run.host_ids)

    def get_progress(self, run) -> dict:
        total = run.tiles_total
        percent = (
            100
            if run.status == MatrixRun.Status.SUCCEEDED
            else (100 * run.tiles_done // total if total else 0)
        )
        return {"done": run.tiles_done, "total": total, "percent": percent}


class MatrixRunInput(serializers.Serializer):
    hosts = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        max_length=20_000,
        help_text="Host ids (at most 20,000; for larger pools use a tag or all).",
    )
    tag = serializers.SlugField(
        required=False,
        help_text="Every host with this pool tag: your own tag of that name, else the curated "
        "one of the catalog; the run's selection names the tag's owner (`tag_owner`).",
    )
    all = serializers.BooleanField(required=False, help_text="Every host of the catalog.")
    guest_cpu = serializers.CharField(default="host-passthrough", max_length=200)

    def validate(self, attrs):
        chosen = [key for key in ("hosts", "tag", "all") if attrs.get(key)]
        if len(chosen) != 1:
            raise serializers.ValidationError(
                "choose the pool with exactly one of hosts, tag or all"
            )
        return attrs


def _hypervisor(request) -> str:
    value = request.query_params.get("hypervisor", "kvm")
    if value not in compat.HYPERVISORS:
        raise ValidationError({"hypervisor": f"use one of {', '.join(compat.HYPERVISORS)}"})
    return value


def _int_param(request, name: str, default: int | None = None) -> int:
    value = request.query_params.get(name)
    if value is None and default is not None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError({name: "must be an integer"}) from None


@extend_schema_view(
    list=extend_schema(description="Matrix runs, newest first."),
    retrieve=extend_schema(
        description="A run's status (pending, running, succeeded, failed) and progress."
    ),
    create=extend_schema(
        description="Start a pairwise compatibility job over a pool (host ids, a pool tag, or all "
        "hosts) for one guest CPU, for every hypervisor. 202 with the run; poll it until it is "
        "finished, then read its results.",
        request=MatrixRunInput,
        responses={202: MatrixRunSerializer},
        examples=[
            OpenApiExample(
                "The 2008 pool",
                value={"tag": "demo-2008", "guest_cpu": "baseline"},
                request_only=True,
            )
        ],
    ),
)
class MatrixRunViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    queryset = MatrixRun.objects.all()
    serializer_class = MatrixRunSerializer
    # Starting a run stores it and spends worker time: a write, so it takes an account.
    permission_classes = [IsAuthenticatedOrReadOnly]

    def get_serializer_class(self):
        return MatrixRunInput if self.action == "create" else MatrixRunSerializer

    def create(self, request, *args, **kwargs):
        data = MatrixRunInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        selection = {key: fields[key] for key in ("hosts", "tag", "all") if fields.get(key)}
        run = runs.matrix_run_start(
            selection=selection, guest_cpu=fields["guest_cpu"], user=request.user
        )
        run.refresh_from_db()
        body = MatrixRunSerializer(run, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        description="One page of the finished result, over host classes (hosts with the same CPU "
        "view): for each source class its hosts and the verdict code per destination class "
        "(an index into `levels`), and how many guest features each destination lacks.",
        parameters=[HYPERVISOR, OpenApiParameter("offset", int), OpenApiParameter("limit", int)],
        responses={200: RunResultsSerializer},
    )
    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        run = self.get_object()
        if run.status != MatrixRun.Status.SUCCEEDED:
            raise ValidationError(
                {"status": f"the run is {run.status}; results come when it has succeeded"}
            )
        hypervisor = _hypervisor(request)
        offset = max(0, _int_param(request, "offset", 0))
        limit = min(500, max(1, _int_param(request, "limit", 50)))
        levels, missing = runs.run_levels(run, hypervisor)
        members = runs.members_of(run).tolist()
        hosts_of: dict[int, list[dict]] = {}
        for position, cls in enumerate(members):
            hosts_of.setdefault(cls, []).append(
                {"id": run.host_ids[position], "name": run.host_labels[position]}
            )
        rows = [
            {
                "class": cls,
                "hosts": hosts_of.get(cls, []),
                "verdicts": levels[cls].tolist(),
                "missing": missing[cls].tolist(),
            }
            for cls in range(offset, min(offset + limit, run.class_count))
        ]
        return Response(
            RunResultsSerializer(
                {
                    "hypervisor": hypervisor,
                    "levels": list(compat.LEVELS),
                    "classes": run.class_count,
                    "count": run.class_count,
                    "offset": offset,
                    "limit": limit,
                    "rows": rows,
                }
            ).data
        )

    @extend_schema(
        description="Full reasons for one directed host pair of the run (host ids), "
        "from the engine.",
        parameters=[
            HYPERVISOR,
            OpenApiParameter("source", int, required=True),
            OpenApiParameter("destination", int, required=True),
        ],
        responses={200: VerdictSerializer},
    )
    @action(detail=True, methods=["get"])
    def cell(self, request, pk=None):
        run = self.get_object()
        hypervisor = _hypervisor(request)
        position = {host_id: index for index, host_id in enumerate(run.host_ids)}
        source, destination = _int_param(request, "source"), _int_param(request, "destination")
        if source not in position or destination not in position:
            raise ValidationError({"source": "both hosts must be in the run's pool"})
        if not run.class_reports:
            raise ValidationError({"status": "the run has not been prepared yet"})
        verdict = runs.run_cell(run, position[source], position[destination], hypervisor)
        return Response(VerdictSerializer(verdict.to_dict()).data)
