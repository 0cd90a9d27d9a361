"""QEMU QMP ``query-cpu-model-expansion`` replies (type ``full`` or ``static``).

The reply's ``props`` map every QEMU feature name (with aliases such as ``sse3``/``pni``,
``sse4.1``/``sse4-1``/``sse4_1``) to true or false, next to scalars (family, model, stepping,
``model-id``, vendor, ``phys-bits``, level, xlevel).  Raw QMP transcripts with one JSON object
per line are accepted: the first reply that carries ``model.props`` is used.  It describes the
CPU that QEMU/KVM can give a guest, not the silicon: KVM emulates x2apic and tsc-deadline, and
always sets the hypervisor bit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from ..errors import DumpParseError
from ..names import decode_names, resolve
from ..result import Identity
from ..table import TABLE

# Boolean properties that are QEMU/KVM knobs, not CPUID feature bits.
_NOT_FEATURES = frozenset(
    """
    check enforce fill-mtrr-mask full-cpuid-auto-level full-width-write host-cache-info
    host-phys-bits l3-cache legacy-cache lmce migratable pmu realized start-powered-off tcg-cpuid
    vmware-cpuid-freq cpuid-0xb kvm hypervisor
    """.split()
)
_NOT_FEATURE_PREFIXES = ("vmx-", "hv-", "kvm-", "kvm_", "x-")


def looks_like_jsonl(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    return len(lines) > 1 and all(line.lstrip().startswith("{") for line in lines)


def iter_documents(text: str) -> Iterator[tuple[int, object]]:
    """(line, document) for each JSON value in a stream of concatenated JSON documents."""
    decoder = json.JSONDecoder()
    position = 0
    length = len(text)
    # Counted forward from the previous document: from the top each time was quadratic.
    line, counted_to = 1, 0
    while True:
        while position < length and text[position].isspace():
            position += 1
        if position >= length:
            return
        line += text.count("\n", counted_to, position)
        counted_to = position
        try:
            document, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise DumpParseError(f"invalid JSON: {error.msg}", error.lineno) from None
        except RecursionError:
            raise DumpParseError("JSON nested too deeply", line) from None
        yield line, document


def _expansion(text: str) -> tuple[str, dict]:
    for _, document in iter_documents(text):
        if isinstance(document, dict) and "error" in document:
            error = document["error"]
            detail = error.get("desc") if isinstance(error, dict) else error
            raise DumpParseError(f"the QMP reply is an error: {detail}", None)
        reply = document.get("return") if isinstance(document, dict) else None
        model = reply.get("model") if isinstance(reply, dict) else None
        if isinstance(model, dict) and isinstance(model.get("props"), dict):
            return str(model.get("name", "")), model["props"]
    raise DumpParseError(
        "no query-cpu-model-expansion reply (return.model.props) in this QMP output", 1
    )


def decode(text: str):
    model_name, props = _expansion(text)
    true_names = [name for name, value in props.items() if value is True]
    false_names = [name for name, value in props.items() if value is False]

    def feature_like(name: str) -> bool:
        return name not in _NOT_FEATURES and not name.startswith(_NOT_FEATURE_PREFIXES)

    present, _, unrecognised = resolve([n for n in true_names if feature_like(n)], "qemu")
    absent, _, unrecognised_false = resolve([n for n in false_names if feature_like(n)], "qemu")
    conflicts = present & absent
    warnings = [
        f"QEMU model {model_name!r}: the expansion describes the CPU QEMU/KVM can give a guest "
        "(KVM-supported CPUID and QEMU), not the silicon; KVM emulates x2apic and tsc-deadline"
    ]
    if conflicts:
        names = ", ".join(f.name for f in TABLE.from_mask(conflicts))
        warnings.append(
            f"aliases disagree (one spelling true, another false) for: {names}; counted present"
        )

    def scalar(name: str, kind: type):
        value = props.get(name)
        return value if isinstance(value, kind) and not isinstance(value, bool) else None

    phys_bits = scalar("phys-bits", int) or None
    brand = scalar("model-id", str) or ""
    level, xlevel = scalar("level", int), scalar("xlevel", int)
    identity = Identity(
        vendor=scalar("vendor", str) or "",
        family=scalar("family", int),
        model=scalar("model", int),
        stepping=scalar("stepping", int),
        brand=" ".join(brand.split()),
        brand_raw=brand,
        phys_bits=phys_bits,
        max_basic_leaf=level,
        max_extended_leaf=xlevel,
    )
    if not identity.vendor:
        raise DumpParseError("the QMP expansion has no vendor property", None)
    stated = present | absent
    return decode_names(
        format_name="qmp",
        identity=identity,
        present=present,
        absent=absent & ~present,
        unrecognised=unrecognised + unrecognised_false,
        warnings=warnings,
        complete_for=stated,
    )
