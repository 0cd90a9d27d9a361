"""Planning API: a pool with hosts you do not own yet, its standardisation choices, and the
hosts a new CPU would strand VMs on.  Thin: cpus.cpuid.planning decides."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from cpus import selectors, services
from cpus.compat.api.fields import REF_HELP, RefField, host_views
from cpus.compat.api.schemas import PoolPlanSerializer
from cpus.cpuid import planning
from cpus.models import CpuModel
from kbsite.api import ApiError

MAX_POOL = 1000


class PlannedInput(serializers.Serializer):
    cpu_model = serializers.IntegerField(min_value=1, help_text="A catalog CPU model id.")
    count = serializers.IntegerField(min_value=1, max_value=1000, default=1)


class PlanInput(serializers.Serializer):
    hosts = serializers.ListField(
        child=RefField(), required=False, max_length=MAX_POOL, help_text=f"Each: {REF_HELP}."
    )
    pool = serializers.SlugField(required=False, help_text="Every host with this pool tag.")
    add = serializers.ListField(
        child=PlannedInput(), required=False, max_length=20, help_text="Planned hosts."
    )
    retire = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        max_length=MAX_POOL,
        help_text="Names of pool hosts to retire.",
    )

    def validate(self, attrs):
        if bool(attrs.get("hosts")) == bool(attrs.get("pool")):
            raise serializers.ValidationError("give the pool as hosts or as a pool tag (one)")
        return attrs


@extend_schema(
    description="What-if planning for a pool: add catalog CPU models as planned hosts (with a "
    "count) and retire hosts; the baseline before and after (features gained and lost, models, "
    "EVC modes, x86-64 level, guest OSes that boot), the standardisation choices of the planned "
    "pool (each guest model, the hosts that cannot run it and the features it gains, fewest "
    "hosts dropped first), and for each planned CPU the existing hosts whose running VMs could "
    "not move to it.",
    request=PlanInput,
    responses=PoolPlanSerializer,
    examples=[
        OpenApiExample(
            "Add four EPYC 9124 to the 2008 pool, retire a Harpertown",
            value={
                "pool": "demo-2008",
                "add": [{"cpu_model": 1, "count": 4}],
                "retire": ["xeon-e5462-harpertown"],
            },
            request_only=True,
        )
    ],
)
@api_view(["POST"])
@permission_classes([AllowAny])
def pool_plan(request):
    data = PlanInput(data=request.data)
    data.is_valid(raise_exception=True)
    fields = data.validated_data
    if fields.get("pool"):
        rows = services.tagged_host_ids(fields["pool"], request.user, MAX_POOL)
        if not rows or len(rows) > MAX_POOL:
            raise ApiError(f"the pool tag has no host with a report, or more than {MAX_POOL}")
        by_id = selectors.host_views_by_ref(rows)
        pool = [by_id[pk] for pk in rows]
    else:
        pool = host_views(
            [(f"hosts[{i}]", ref) for i, ref in enumerate(fields["hosts"])], request.user
        )
    ids = [entry["cpu_model"] for entry in fields.get("add", [])]
    models = selectors.cpu_model_views_by_ids(ids) if ids else {}
    names = {model.pk: str(model) for model in CpuModel.objects.filter(pk__in=ids)}
    planned, new_cpus = [], {}
    for i, entry in enumerate(fields.get("add", [])):
        view = models.get(entry["cpu_model"])
        if view is None:
            raise ApiError(
                f"no CPU model {entry['cpu_model']} with a report", field=f"add[{i}]", status=404
            )
        name = names.get(entry["cpu_model"], f"CPU model {entry['cpu_model']}")
        planned += planning.hypothetical(view, entry["count"], name)
        new_cpus[name] = view
    answer = planning.what_if(pool, planned, fields.get("retire", []))
    after = [v for v in pool if v.label not in set(fields.get("retire", []))] + planned
    answer.pop("baseline_after")
    answer["standardisation"] = planning.standardisation(after)
    answer["stranded"] = {name: planning.stranded(pool, view) for name, view in new_cpus.items()}
    return Response(PoolPlanSerializer(answer).data)
