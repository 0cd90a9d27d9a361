"""VM pre-flight API: where can this VM go?  Thin: vmconfig reads the VM, preflight decides."""

from __future__ import annotations

from django.core.validators import ProhibitNullCharactersValidator
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from cpus import selectors, services
from cpus.compat.api.fields import REF_HELP, RefField, host_views
from cpus.compat.api.schemas import PreflightSerializer
from cpus.cpuid import compat, guest_os, preflight, vmconfig
from cpus.cpuid.vocabulary import DEFAULT as DEFAULT_VOCABULARY
from cpus.cpuid.vocabulary import VOCABULARIES, engine_name
from cpus.models import Host
from kbsite.api import ApiError, error_overrides

# One VM against at most this many hosts per request (a matrix run's bound).
MAX_DESTINATIONS = 20_000


class VmText(serializers.CharField):
    """The VM definition: NUL bytes are allowed (``/proc/PID/cmdline`` separates arguments with
    them); the text is parsed, never stored."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]


class PreflightInput(serializers.Serializer):
    vm = VmText(
        max_length=vmconfig.MAX_BYTES,
        trim_whitespace=False,
        help_text="The VM definition: virsh dumpxml, a QEMU command line, qm config, a KubeVirt "
        "VirtualMachine/VirtualMachineInstance (YAML or JSON), or a VMware EVC mode key.",
    )
    format = serializers.ChoiceField(
        choices=vmconfig.FORMATS, required=False, help_text="Default: detected from the text."
    )
    hypervisor = serializers.ChoiceField(
        choices=compat.HYPERVISORS,
        required=False,
        help_text="Default: the VM's own (kvm for libvirt, QEMU, Proxmox and KubeVirt; vmware "
        "for an EVC mode).",
    )
    source = RefField(
        required=False,
        help_text=f"The VM's current host: {REF_HELP}. Without it (named guest CPU models "
        "only), each destination is asked whether the VM could start and run there.",
    )
    hosts = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        max_length=MAX_DESTINATIONS,
        help_text="Destination host ids; default: the pool, else the whole inventory.",
    )
    pool = serializers.SlugField(required=False, help_text="Every host with this pool tag.")
    guest_os = serializers.CharField(
        required=False,
        max_length=80,
        help_text="A guest OS release (rhel-10, windows-server-2025 ...): a guest CPU below its "
        "floor is blocked everywhere.",
    )
    names = serializers.ChoiceField(choices=VOCABULARIES, default=DEFAULT_VOCABULARY.value)

    def validate(self, attrs):
        if attrs.get("hosts") and attrs.get("pool"):
            raise serializers.ValidationError("give hosts or pool, not both")
        key = attrs.get("guest_os")
        if key and guest_os.find(key) is None:
            raise serializers.ValidationError(
                {"guest_os": f"unknown guest OS; use one of {', '.join(guest_os.ids())}"}
            )
        return attrs


def destination_hosts(fields: dict, user=None) -> list[tuple[int, str]]:
    """(id, name) of the destinations: the pool tag's hosts (the user's own tag of that name,
    else the curated one), the given ids, or every host with a report (one query)."""
    hosts = Host.objects.exclude(current_report=None).order_by("pk")
    if fields.get("pool"):
        hosts = services.hosts_tagged(hosts, fields["pool"], user)
    elif fields.get("hosts"):
        hosts = hosts.filter(pk__in=fields["hosts"])
    return list(hosts.values_list("pk", "name")[: MAX_DESTINATIONS + 1])


# A guest CPU the engine refuses here came from the VM definition.
@error_overrides({compat.GuestCpuError: {"field": "vm"}})
@extend_schema(
    description="Where can this VM go? Reads the VM's real guest CPU from its definition, then "
    "ranks every destination (the pool, the given hosts, or the whole inventory): the verdict "
    "and reasons as /api/compat/check gives them for each pair, and `widen`, the single guest "
    "CPU change that would make the most further hosts safe. A definition with settings that "
    "cannot be read exactly is refused (400) with each setting and its line in `issues`.",
    request=PreflightInput,
    responses=PreflightSerializer,
    examples=[
        OpenApiExample(
            "A KubeVirt VM on the 2008 pool",
            value={
                "vm": "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nspec:\n"
                "  domain:\n    cpu:\n      model: Penryn\n",
                "source": {"host": "xeon-e5462-harpertown"},
                "pool": "demo-2008",
                "guest_os": "rhel-9",
            },
            request_only=True,
        )
    ],
)
@api_view(["POST"])
@permission_classes([AllowAny])
def vm_preflight(request):
    data = PreflightInput(data=request.data)
    data.is_valid(raise_exception=True)
    fields = data.validated_data
    vm = vmconfig.parse(fields["vm"], fields.get("format"))
    hypervisor = fields.get("hypervisor") or vm.hypervisor
    hosts = destination_hosts(fields, request.user)
    if len(hosts) > MAX_DESTINATIONS:
        raise ApiError(f"at most {MAX_DESTINATIONS:,} destinations per request: use a pool tag")
    if not hosts:
        raise ApiError("no destination host with a report in this selection", field="pool")
    by_id = selectors.host_views_by_ref([pk for pk, _ in hosts])
    if "source" not in fields:
        chosen = hosts
        answer = preflight.run_without_source(
            vm.guest_cpu,
            [by_id[pk] for pk, _ in chosen],
            hypervisor,
            labels=[name for _, name in chosen],
            guest_os_key=fields.get("guest_os"),
            vocabulary=engine_name(fields["names"]),
        )
    else:
        (source,) = host_views([("source", fields["source"])], request.user)
        source_ref = fields["source"].get("host")
        chosen = [(pk, name) for pk, name in hosts if source_ref not in (pk, name)]
        answer = preflight.run(
            vm.guest_cpu,
            source,
            [by_id[pk] for pk, _ in chosen],
            hypervisor,
            labels=[name for _, name in chosen],
            guest_os_key=fields.get("guest_os"),
            vocabulary=engine_name(fields["names"]),
        )
    host_ids = {name: pk for pk, name in chosen}
    body = {"vm": vm.to_dict(), **answer.to_dict()}
    for entry in body["destinations"]:
        entry["host_id"] = host_ids.get(entry["host"])
    return Response(PreflightSerializer(body).data)
