"""The core's data files (cpus/cpuid/data/): each file's shape; cpus.cpuid.facts reads them."""

import ast
import json
import re
from pathlib import Path

import pytest

from cpus.cpuid import (
    assists,
    facts,
    guest_models,
    guest_os,
    identity,
    microarchitectures,
    releases,
    vmx,
)

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "cpus" / "cpuid"
HEX = re.compile(r"^0x[0-9A-F]+$")


def read(name: str):
    """A fresh parse, independent of the loader's cache."""
    return json.loads((facts.DATA / name).read_text(encoding="utf-8"))


def is_text(value) -> bool:
    return isinstance(value, str) and value.strip() != ""


def unique(values: list) -> bool:
    return len(values) == len(set(values))


# --- one check per data file: required keys and types, no duplicates, every citation non-empty ---


def check_microarchitectures(data: dict) -> None:
    assert set(data) >= {"intel", "amd", "zhaoxin"}
    for section in ("intel", "amd", "zhaoxin"):
        assert is_text(data[section]["source"]), section
        vendors = data[section]["vendors"]
        assert vendors and all(is_text(v) and len(v) == 12 for v in vendors), section
    intel = data["intel"]
    assert HEX.match(intel["family"])
    models = [row["model"] for row in intel["models"]]
    assert all(HEX.match(m) for m in models) and unique(models)
    assert all(is_text(row["name"]) for row in intel["models"])
    amd = data["amd"]
    families = [row["family"] for row in amd["families"]]
    assert all(HEX.match(f) for f in families) and unique(families)
    assert all(is_text(row["name"]) for row in amd["families"])
    by_family: dict[str, list[tuple[int, int]]] = {}
    for row in amd["model_ranges"]:
        assert row["family"] in families and is_text(row["name"]) and row["ranges"]
        for low, high in row["ranges"]:
            assert HEX.match(low) and (high is None or HEX.match(high))
            bounds = (int(low, 16), 1 << 32 if high is None else int(high, 16))
            assert bounds[0] <= bounds[1]
            by_family.setdefault(row["family"], []).append(bounds)
    for family, ranges in by_family.items():  # no model in two ranges of one family
        ranges.sort()
        assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:], strict=False)), family
    keys = [(row["family"], row["model"]) for row in data["zhaoxin"]["models"]]
    assert unique(keys) and all(HEX.match(f) and HEX.match(m) for f, m in keys)
    assert all(is_text(row["name"]) for row in data["zhaoxin"]["models"])


def check_assists(data: dict) -> None:
    assert set(data) >= {
        "sources",
        "hyperv_modes",
        "mechanism_sources",
        "intel_masking",
        "intel_small_cores",
        "kvm_cpuid_policy",
    }
    assert set(data["mechanism_sources"]) == set(assists.MECHANISMS)
    assert all(is_text(source) for source in data["mechanism_sources"].values())
    assert all(is_text(source) for source in data["sources"].values())
    for mode in data["hyperv_modes"].values():
        assert mode["sources"] and set(mode["sources"]) <= set(data["sources"])
        assert is_text(mode["title"]) and is_text(mode["note"])
    mechanisms = [row["mechanism"] for row in data["intel_masking"]]
    assert unique(mechanisms) and set(mechanisms) <= set(assists.MECHANISMS)
    masked = []
    for generation in data["intel_masking"]:
        assert is_text(generation["note"]) and generation["models"]
        for row in generation["models"]:
            assert HEX.match(row["model"]) and is_text(row["names"])
            # A minimum stepping comes with the sentence that explains it, and only then.
            assert ("min_stepping" in row) == ("stepping_rule" in row)
            if "min_stepping" in row:
                assert isinstance(row["min_stepping"], int) and 0 <= row["min_stepping"] <= 0xF
                assert is_text(row["stepping_rule"])
            assert "caveat" not in row or is_text(row["caveat"])
            masked.append(row["model"])
    assert unique(masked)  # a model is in one masking generation only
    small = data["intel_small_cores"]
    assert is_text(small["source"]) and unique(small["models"])
    assert all(HEX.match(m) for m in small["models"]) and not set(small["models"]) & set(masked)
    assert is_text(data["kvm_cpuid_policy"]["text"])
    assert is_text(data["kvm_cpuid_policy"]["source"])


def check_guest_os(data: dict) -> None:
    assert is_text(data["vocabulary"])
    ids = [row["id"] for row in data["releases"]]
    assert ids and unique(ids)
    assert all(is_text(row["source"]) and is_text(row["name"]) for row in data["releases"])


def check_vmware_evc(data: dict) -> None:
    assert is_text(data["source"]) and is_text(data["vocabulary"])
    keys = [mode["key"] for mode in data["modes"]]
    assert unique(keys)
    for mode in data["modes"]:
        assert is_text(mode["source"]) and is_text(mode["vcenter_name"])
        assert set(mode["extends"]) <= set(keys)


def check_levels(data: dict) -> None:
    assert is_text(data["source"])
    names = [level["name"] for level in data["levels"]]
    assert names and unique(names)
    assert all(isinstance(level["features"], list) for level in data["levels"])


def check_qemu_models(data: dict) -> None:
    assert is_text(data["source"])
    assert set(data["definitions"]) == set(data["static_expansion"])


def check_proxmox(data: dict) -> None:
    assert is_text(data["source"])
    assert data["builtin_types"] and data["reported_models"]


def check_releases(data: dict) -> None:
    assert is_text(data["source"]["repo"])
    assert data["releases"] and unique(data["releases"])
    assert data["models"] and isinstance(data["notes"], list)


def check_vmx(data: dict) -> None:
    assert is_text(data["source"])
    msrs = [word["msr"] for word in data["words"]]
    assert unique(msrs) and all(HEX.match(m) for m in msrs)
    names = []
    for word in data["words"]:
        assert is_text(word["qemu_word"]) and isinstance(word["control"], bool)
        assert word["legacy_msr"] is None or HEX.match(word["legacy_msr"])
        assert all(0 <= int(bit) < 64 for bit in word["bits"])
        names += list(word["bits"].values())
    assert all(name.startswith("vmx-") for name in names)
    # One name twice: QEMU's old name for EPT_VPID_CAP bit 41 (the file's "_names" says why).
    assert sorted(name for name in set(names) if names.count(name) > 1) == [
        "vmx-invept-single-context"
    ]


def check_tsc_scaling(data: dict) -> None:
    assert is_text(data["source"])
    models = [row["model"] for row in data["intel_family_6"]]
    assert models and unique(models) and all(HEX.match(m) for m in models)
    assert all(is_text(row["names"]) for row in data["intel_family_6"])


def check_vendors(data: dict) -> None:
    assert is_text(data["vendors_source"]) and is_text(data["hypervisors_source"])
    strings = [row["string"] for row in data["vendors"]]
    assert unique(strings) and all(len(string) == 12 for string in strings)
    assert all(is_text(row["maker"]) for row in data["vendors"])
    signatures = [row["signature"] for row in data["hypervisors"]]
    assert unique(signatures) and all(0 < len(sig) <= 12 for sig in signatures)
    assert all(is_text(row["name"]) for row in data["hypervisors"])


CHECKS = {
    "assists.json": check_assists,
    "guest-os.json": check_guest_os,
    "libvirt-x86-models-by-release.json": check_releases,
    "microarchitectures.json": check_microarchitectures,
    "proxmox-cpu-models.json": check_proxmox,
    "qemu-7.2-cpu-models.json": check_qemu_models,
    "qemu-x86-models-by-release.json": check_releases,
    "tsc-scaling.json": check_tsc_scaling,
    "vendors.json": check_vendors,
    "vmware-evc.json": check_vmware_evc,
    "vmx-msrs.json": check_vmx,
    "x86-64-levels.json": check_levels,
}


def test_every_data_file_has_a_check():
    assert sorted(p.name for p in facts.DATA.glob("*.json")) == sorted(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_data_file_shape(name):
    CHECKS[name](read(name))


@pytest.mark.parametrize(
    ("name", "break_it"),
    [
        ("microarchitectures.json", lambda d: d["intel"]["models"].append(d["intel"]["models"][0])),
        ("microarchitectures.json", lambda d: d["amd"].update(source="  ")),
        (
            "microarchitectures.json",
            lambda d: d["amd"]["model_ranges"][1]["ranges"].append(["0x20", "0x2F"]),
        ),
        ("assists.json", lambda d: d["mechanism_sources"].update({"intel-mask-v1": ""})),
        ("assists.json", lambda d: d["intel_masking"][0]["models"][0].pop("stepping_rule")),
        ("assists.json", lambda d: d["intel_small_cores"]["models"].append("0x17")),
        ("vmware-evc.json", lambda d: d["modes"].append(d["modes"][0])),
        ("vmx-msrs.json", lambda d: d["words"][1]["bits"].update({"40": "vmx-intr-exit"})),
        ("vendors.json", lambda d: d["vendors"].append({"string": "Intel", "maker": "Intel"})),
        ("tsc-scaling.json", lambda d: d.update(source="")),
    ],
)
def test_the_checks_catch_a_broken_file(name, break_it):
    data = read(name)
    break_it(data)
    with pytest.raises(AssertionError):
        CHECKS[name](data)


# --- the loader ------------------------------------------------------------------------------


def test_load_reads_each_file_once_and_path_stays_inside_data():
    assert facts.load("assists.json") is facts.load("assists.json")
    assert facts.path("libvirt-9.0-cpu_map").is_dir()
    with pytest.raises(FileNotFoundError):
        facts.path("../facts.py")
    with pytest.raises(FileNotFoundError):
        facts.load("no-such-file.json")
    assert facts.hex_int("0x3A") == 58
    with pytest.raises(ValueError, match="hex"):
        facts.hex_int("58")


def test_the_rules_read_what_the_files_say():
    data = read("microarchitectures.json")
    for row in data["intel"]["models"]:
        assert (
            microarchitectures.microarchitecture("GenuineIntel", 6, int(row["model"], 16))
            == (row["name"])
        )
    assert microarchitectures.microarchitecture("AuthenticAMD", 0x19, 0x11) == "Zen 4"
    assert microarchitectures.microarchitecture("AuthenticAMD", 0x19, 0x01) == "Zen 3"
    assert microarchitectures.microarchitecture("AuthenticAMD", 0x17, None) == "Zen / Zen 2"
    assert microarchitectures.microarchitecture("  Shanghai  ", 7, 0x3B) == "LuJiaZui"
    assert microarchitectures.microarchitecture("GenuineIntel", 6, 0x01) == ""
    source = read("assists.json")
    assert source["kvm_cpuid_policy"]["text"] == assists.KVM_CPUID_POLICY
    assert source["mechanism_sources"] == assists.SOURCES
    assert assists.V1_MIN_STEPPING == {0x17: 4} and 0x2D in assists.MODEL_CAVEATS
    assert identity.vendor_name("  Shanghai  ") == "Zhaoxin"
    assert identity.HYPERVISOR_NAMES["KVMKVMKVM"] == "KVM"
    # IA32_VMX_PINBASED_CTLS allowing (high half) but not requiring (low half) bit 7.
    assert vmx.decode({0x481: 1 << (32 + 7)}) == frozenset({"vmx-posted-intr"})


def test_nothing_changes_what_the_loader_shares():
    guest_models.all_guest_models()
    guest_os.catalog()
    releases.model_history(["Penryn", "EPYC"], "qemu")
    releases.model_history(["Penryn", "EPYC"], "libvirt")
    for name in CHECKS:
        assert facts.load(name) == read(name), name


def core_modules() -> list[Path]:
    return sorted(p for p in CORE.rglob("*.py") if p.name != "facts.py")


def reads_outside_the_loader(path: Path, data_names: set[str]) -> list[str]:
    """What in ``path`` opens the data folder other than through ``facts``: ``__file__`` (how a
    module finds its own folder), or a data file's name anywhere but as the argument of
    ``facts.load``/``facts.path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    allowed = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("load", "path")
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "facts"
        ):
            allowed.update(id(arg) for arg in node.args)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "__file__":
            found.append("__file__")
        elif (
            isinstance(node, ast.Constant) and node.value in data_names and id(node) not in allowed
        ):
            found.append(node.value)
    return found


def test_the_loader_is_the_only_reader_of_the_data_files():
    data_names = {p.name for p in facts.DATA.iterdir()}
    runtime = core_modules() + sorted((ROOT / "migrations_log").rglob("*.py"))
    runtime += [p for p in (ROOT / "cpus").rglob("*.py") if CORE not in p.parents]
    offenders = {
        str(path.relative_to(ROOT)): hits
        for path in runtime
        if (hits := reads_outside_the_loader(path, data_names))
        and (CORE in path.parents or set(hits) != {"__file__"})
    }
    assert offenders == {}
    assert "assists.json" in str(assists.DATA) and guest_models.EVC_DATA.parent == facts.DATA


def test_the_reader_scan_sees_a_direct_read(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "from pathlib import Path\n"
        "A = Path(__file__).parent / 'data' / 'assists.json'\n"
        "B = facts.load('guest-os.json')\n"
    )
    assert sorted(reads_outside_the_loader(module, {"assists.json", "guest-os.json"})) == [
        "__file__",
        "assists.json",
    ]
