"""Filter pieces shared by the HTML lists and the API (one FilterSet serves both).

- ``VendorFilter``: a maker's name (``Intel``, ``AMD``, ``Hygon``, ``Zhaoxin``, ``VIA``, ...,
  any case; one name may cover several vendor strings) or a CPUID vendor string
  (``GenuineIntel``, ...); a list to pick from on the pages, a 400 naming the accepted words for
  anything else.
- ``HexOrDecimalFilter``: ``16``, ``0x10`` or ``10h`` (CPU-World writes families in hex).
- ``AnyBooleanFilter``: "Any / Yes / No" rather than django-filter's "Unknown / Yes / No"; a 400
  for a value that is none of ``true``/``false``/``1``/``0``/``yes``/``no``.
- ``StrictFilterBackend``: an API list answers 400 naming the query parameters it does not know,
  instead of silently ignoring them (a typo such as ``?vendr=AMD`` used to list everything).
"""

from __future__ import annotations

import re

import django_filters
from django import forms
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

from cpus.cpuid.identity import VENDOR_NAMES, VENDOR_STRINGS_BY_NAME


def _vendor_words() -> dict[str, tuple[str, ...]]:
    """Every word a vendor filter accepts (lower case) -> the CPUID vendor strings it means: a
    maker's name (``Intel``, ``AMD``, ``Zhaoxin``, which covers ``  Shanghai  `` and
    ``CentaurHauls``, ...; cpus.cpuid.identity.VENDOR_NAMES) or a vendor string itself."""
    words = dict(VENDOR_STRINGS_BY_NAME)
    for string in VENDOR_NAMES:
        words.setdefault(string.strip().lower(), (string,))
    return words


VENDORS = _vendor_words()
# The list on the pages: the makers of today's servers first, then the rest by name.
VENDOR_CHOICES = [
    ("", "Any"),
    ("intel", "Intel"),
    ("amd", "AMD"),
    ("hygon", "Hygon"),
    ("zhaoxin", "Zhaoxin"),
    ("via", "VIA"),
]


class VendorSelect(forms.Select):
    """A list to pick from that still shows a word typed in the address bar as chosen."""

    def format_value(self, value):
        return [str(value).strip().lower()] if value else [""]


class VendorField(forms.CharField):
    widget = VendorSelect(choices=VENDOR_CHOICES)

    def to_python(self, value):
        value = super().to_python(value).strip()
        if not value:
            return ()
        vendors = VENDORS.get(value.lower())
        if vendors is None:
            raise forms.ValidationError(
                "unknown vendor %(value)s: a maker (Intel, AMD, Hygon, Zhaoxin, VIA, ...) or a "
                "CPUID vendor string (GenuineIntel, AuthenticAMD, ...)",
                params={"value": value[:40]},
                code="unknown_vendor",
            )
        return vendors


class VendorFilter(django_filters.CharFilter):
    """One maker's CPUs: every vendor string that maker used."""

    field_class = VendorField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("lookup_expr", "in")
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": list(value)})


HEX = re.compile(r"^(?:0x([0-9a-f]+)|([0-9a-f]+)h)$", re.IGNORECASE)


class HexOrDecimalField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value).strip()
        if not value:
            return None
        match = HEX.match(value)
        if match:
            number = int(match.group(1) or match.group(2), 16)
        elif value.isdigit():
            number = int(value)
        else:
            raise forms.ValidationError(
                "%(value)s is not a number: write 16 or 0x10",
                params={"value": value[:40]},
                code="invalid_number",
            )
        if number > 0xFFFFFFFF:
            raise forms.ValidationError("too large", code="invalid_number")
        return number


class HexOrDecimalFilter(django_filters.Filter):
    field_class = HexOrDecimalField


class AnyBooleanWidget(django_filters.widgets.BooleanWidget):
    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", "Any"), ("true", "Yes"), ("false", "No")]

    def value_from_datadict(self, data, files, name):
        value = data.get(name)
        if isinstance(value, str):
            lowered = value.strip().lower()
            answer = {"1": True, "true": True, "yes": True, "0": False, "false": False}
            answer["no"] = False
            if lowered in answer:
                return answer[lowered]
            return None if lowered == "" else value  # refused by the field below
        return value


class AnyBooleanField(forms.NullBooleanField):
    widget = AnyBooleanWidget

    def to_python(self, value):
        if value in (True, False, None):
            return value
        raise forms.ValidationError(
            "%(value)s is not a yes/no value: true or false",
            params={"value": str(value)[:40]},
            code="invalid_boolean",
        )

    def validate(self, value):
        return None


class AnyBooleanFilter(django_filters.BooleanFilter):
    field_class = AnyBooleanField


class StrictFilterBackend(DjangoFilterBackend):
    """DjangoFilterBackend that refuses unknown query parameters on list answers."""

    # Parameters every list understands: pagination, the feature vocabulary.
    COMMON = frozenset({"limit", "offset", "names"})

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and getattr(view, "action", None) == "list":
            known = set(filterset_class.base_filters) | self.COMMON
            known |= set(getattr(view, "extra_query_params", ()))
            unknown = sorted(set(request.query_params) - known)
            if unknown:
                raise ValidationError(
                    {
                        "query": [
                            f"unknown query parameter(s) {', '.join(unknown[:10])}; this list "
                            f"takes {', '.join(sorted(known))}"
                        ]
                    },
                    code="unknown_parameter",
                )
        return super().filter_queryset(request, queryset, view)
