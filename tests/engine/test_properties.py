"""Properties over real feature sets and random subsets of them (never invented bits)."""

from dataclasses import replace

import defusedxml.ElementTree as SafeET
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpus.cpuid import baseline, compat, export, guest_models, matrix, releases
from cpus.cpuid.stack import HostStack
from cpus.cpuid.table import TABLE

GUESTS = [
    "host-passthrough",
    "host-model",
    "baseline",
    "Opteron_G2,-svm",
    "Penryn,+popcnt",
    "Nehalem,+invtsc",
    "Skylake-Server,+vmx",
    "EPYC,phys-bits=36",
    "intel-penryn",
    "x86-64-v2",
    # engine 2.0 options: QEMU's migratable/invtsc/tsc-frequency, host-phys-bits, vendor pinning,
    # nested virtualisation when asked, volatile TSX, libvirt's own model semantics
    "host-passthrough,+invtsc",
    "host-passthrough,migratable=off,tsc-frequency=2400000000",
    "host-passthrough,phys-bits=39,+vmx,+svm",
    "Opteron_G2,vendor=GenuineIntel,host-phys-bits=on",
    "Cascadelake-Server,+invtsc,tsc-frequency=2100000000",
    "libvirt:qemu64",
    "qemu64",
    # issue 14: models that need a recent QEMU/libvirt, and a nested guest on a named model
    "EPYC-Milan",
    "libvirt:Cascadelake-Server",
    "Cascadelake-Server-v5,+vmx",
]
# Stacks drawn for hosts: QEMU/libvirt releases around the models' first releases, and VMX
# capabilities from QEMU's published model definitions (releases.qemu_model_vmx), never invented.
STACKS = [
    None,
    HostStack(qemu_version="5.2.0", libvirt_version="5.6.0"),
    HostStack(qemu_version="8.2.2", libvirt_version="10.0.0"),
    HostStack(qemu_version="7.2.0", vmx_features=releases.qemu_model_vmx("Cascadelake-Server")),
    HostStack(vmx_features=releases.qemu_model_vmx("SapphireRapids")),
]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def draw_host(data, real_hosts):
    """A real host, or a real host with a random subset of its features (and unknown bits)."""
    host = data.draw(st.sampled_from(real_hosts))
    if data.draw(st.booleans()):
        bits = [f.mask for f in TABLE.from_mask(host.feature_mask)]
        keep = data.draw(st.lists(st.sampled_from(bits), unique=True)) if bits else []
        host = replace(host, feature_mask=sum(keep), label=f"{host.label}*")
    stack = data.draw(st.sampled_from(STACKS))
    if stack is not None:
        host = replace(host, stack=stack, label=f"{host.label}+stack")
    return host


def draw_pool(data, real_hosts, low=1, high=6):
    count = data.draw(st.integers(low, high))
    return [draw_host(data, real_hosts) for _ in range(count)]


@SETTINGS
@given(data=st.data())
def test_baseline_is_a_subset_of_every_member(real_hosts, data):
    pool = draw_pool(data, real_hosts)
    result = baseline.compute(pool)
    for host in pool:
        assert result.feature_mask & ~host.feature_mask == 0
    assert result.feature_mask & ~baseline.BASELINE_UNIVERSE == 0


@SETTINGS
@given(data=st.data())
def test_every_member_offers_the_fitted_models_features(real_hosts, data):
    pool = draw_pool(data, real_hosts)
    result = baseline.compute(pool)
    for fitted in (result.qemu_model, result.libvirt_model, result.nova_model):
        if fitted is None:  # only Nova's: no libvirt model is a subset of a tiny baseline
            assert fitted is result.nova_model
            continue
        assert fitted.feature_mask == result.feature_mask & ~fitted.unexpressible
        model_mask = (fitted.model.feature_mask | fitted.plus) & ~fitted.minus
        assert model_mask == fitted.feature_mask
        for host in pool:
            assert fitted.feature_mask & ~host.feature_mask == 0
    for key in result.evc_modes.values():
        if key is not None:
            mode = guest_models.find(key)
            members = [h for h in pool if h.identity.vendor == mode.vendor]
            # A bit a report cannot show does not cost the pool its EVC mode (it is unknown).
            assert all(
                mode.feature_mask & ~(h.feature_mask | h.known_absent_unknown) == 0 for h in members
            )


@SETTINGS
@given(data=st.data())
def test_passthrough_safe_implies_same_vendor_and_subset(real_hosts, data):
    source, destination = draw_host(data, real_hosts), draw_host(data, real_hosts)
    hypervisor = data.draw(st.sampled_from(compat.HYPERVISORS))
    verdict = compat.check(source, destination, "host-passthrough", hypervisor)
    if verdict.verdict == "safe":
        assert source.identity.vendor == destination.identity.vendor
        # what the guest sees comes from the source and is all on the destination
        assert verdict.guest_mask & ~source.feature_mask == 0
        assert verdict.guest_mask & ~destination.feature_mask == 0
    if source.identity.vendor != destination.identity.vendor:
        assert verdict.verdict == "blocked"


@SETTINGS
@given(data=st.data())
def test_matrix_equals_check_cell_by_cell(real_hosts, data):
    pool = draw_pool(data, real_hosts, 1, 5)
    guest = data.draw(st.sampled_from(GUESTS))
    hypervisor = data.draw(st.sampled_from(compat.HYPERVISORS))
    result = matrix.compute(pool, guest, hypervisor)
    for i, source in enumerate(pool):
        for j, destination in enumerate(pool):
            verdict = compat.check(source, destination, guest, hypervisor, pool=pool)
            assert result.verdict(i, j) == verdict.verdict, (i, j, verdict.reasons)
            assert result.missing[i, j] == verdict.missing_count


def parse_qemu_cpu(text: str) -> tuple[str, set[str], set[str], int | None]:
    """A small parser of QEMU's ``-cpu Model,+f,-g,phys-bits=N``."""
    name, *tokens = text.split(",")
    plus, minus, bits = set(), set(), None
    for token in tokens:
        if token.startswith("+"):
            plus.add(token[1:])
        elif token.startswith("-"):
            minus.add(token[1:])
        elif token.startswith("phys-bits="):
            bits = int(token.split("=", 1)[1])
        elif token in ("vendor=GenuineIntel", "vendor=AuthenticAMD"):
            continue  # the pinned guest vendor of a cross-vendor pool: no feature
        else:
            raise AssertionError(f"unexpected -cpu token {token!r}")
    return name, plus, minus, bits


def mask_of(names, vocabulary):
    return TABLE.mask_of(TABLE.lookup(name, vocabulary) for name in names)


@SETTINGS
@given(data=st.data())
def test_exports_parse_back_to_the_same_feature_set(real_hosts, data):
    pool = baseline.compute(draw_pool(data, real_hosts))
    qemu_target = pool.feature_mask & ~pool.qemu_model.unexpressible
    libvirt_target = pool.feature_mask & ~pool.libvirt_model.unexpressible

    name, plus, minus, bits = parse_qemu_cpu(export.qemu_cpu(pool))
    model = guest_models.find(f"qemu:{name}")
    assert (model.feature_mask | mask_of(plus, "qemu")) & ~mask_of(minus, "qemu") == qemu_target
    assert (bits or baseline.QEMU_DEFAULT_PHYS_BITS) == pool.guest_phys_bits

    root = SafeET.fromstring(export.libvirt_xml(pool))
    assert (root.get("mode"), root.get("match")) == ("custom", "exact")
    model = guest_models.find(f"libvirt:{root.find('model').text}")
    require = [f.get("name") for f in root.findall("feature") if f.get("policy") == "require"]
    disable = [f.get("name") for f in root.findall("feature") if f.get("policy") == "disable"]
    mask = (model.feature_mask | mask_of(require, "libvirt")) & ~mask_of(disable, "libvirt")
    assert mask == libvirt_target

    nova = export.nova(pool)["config"]
    if nova is not None:
        config = dict(line.split(" = ", 1) for line in nova.splitlines() if " = " in line)
        model = guest_models.find(f"libvirt:{config['cpu_models']}")
        extra = [f.strip() for f in config.get("cpu_model_extra_flags", "").split(",")]
        # Nova takes "+flag" (or a bare name) to add and "-flag" to remove.
        plus = [f.lstrip("+") for f in extra if f and not f.startswith("-")]
        minus = [f[1:] for f in extra if f.startswith("-")]
        nova_mask = (model.feature_mask | mask_of(plus, "libvirt")) & ~mask_of(minus, "libvirt")
        assert nova_mask == libvirt_target

    entry = dict(line.strip().split(" ", 1) for line in export.proxmox(pool).splitlines()[1:])
    flags = entry.get("flags", "").split(";") if entry.get("flags") else []
    model = guest_models.find(f"qemu:{entry['reported-model']}")
    plus = {f[1:] for f in flags if f.startswith("+")}
    minus = {f[1:] for f in flags if f.startswith("-")}
    assert (model.feature_mask | mask_of(plus, "qemu")) & ~mask_of(minus, "qemu") == qemu_target


@SETTINGS
@given(data=st.data())
def test_suggested_model_is_not_blocked_by_features(real_hosts, data):
    source, destination = draw_host(data, real_hosts), draw_host(data, real_hosts)
    verdict = compat.check(source, destination, "host-passthrough", "kvm")
    if verdict.suggestion:
        again = compat.check(source, destination, verdict.suggestion["guest_cpu"], "kvm")
        assert again.verdict == verdict.suggestion["verdict"]
        assert compat.LEVELS.index(again.verdict) < compat.LEVELS.index(verdict.verdict)


def test_matrix_equals_check_on_every_pair_of_distinct_real_cpus(real_hosts):
    """Deterministic companion of the property test: one host per distinct real CPU, every
    guest CPU of GUESTS, every hypervisor of the registry, every directed pair."""
    seen, pool = set(), []
    for host in real_hosts:
        key = (host.identity.vendor, host.identity.family, host.identity.model, host.feature_mask)
        if key not in seen:
            seen.add(key)
            pool.append(host)
    for hypervisor in compat.HYPERVISORS:
        for guest in GUESTS:
            result = matrix.compute(pool, guest, hypervisor)
            for i, source in enumerate(pool):
                for j, destination in enumerate(pool):
                    verdict = compat.check(
                        source, destination, guest, hypervisor, pool=pool, suggest=False
                    )
                    assert result.verdict(i, j) == verdict.verdict, (guest, hypervisor, i, j)
                    assert result.missing[i, j] == verdict.missing_count


def test_matrix_equals_check_with_host_stacks(real_hosts):
    """The stack axes (model release, VMX capabilities) in the matrix: Intel and AMD hosts, each
    with every stack of STACKS, every directed pair, on KVM."""
    intel = next(h for h in real_hosts if h.identity.vendor == "GenuineIntel")
    amd = next(h for h in real_hosts if h.identity.vendor == "AuthenticAMD")
    pool = [
        replace(host, stack=stack, label=f"{host.label}/{n}")
        for host in (intel, amd)
        for n, stack in enumerate(STACKS)
    ]
    for guest in (
        "EPYC-Milan",
        "libvirt:Cascadelake-Server",
        "host-passthrough,+vmx",
        "Cascadelake-Server-v5,+vmx",
    ):
        result = matrix.compute(pool, guest, "kvm")
        levels = set()
        for i, source in enumerate(pool):
            for j, destination in enumerate(pool):
                verdict = compat.check(source, destination, guest, "kvm", pool=pool, suggest=False)
                assert result.verdict(i, j) == verdict.verdict, (guest, i, j, verdict.reasons)
                levels.add(verdict.verdict)
        assert "blocked" in levels
