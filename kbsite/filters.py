"""Filter pieces shared by the HTML lists and the API (one FilterSet serves both).

- ``VendorFilter``: ``Intel``, ``AMD``, ``Hygon`` (any case) or the CPUID vendor string
  (``GenuineIntel``, ``AuthenticAMD``, ``HygonGenuine``); a list to pick from on the pages, a 400
  naming the accepted words for anything else.
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

VENDORS = {
    "genuineintel": "GenuineIntel",
    "intel": "GenuineIntel",
    "authenticamd": "AuthenticAMD",
    "amd": "AuthenticAMD",
    "hygongenuine": "HygonGenuine",
    "hygon": "HygonGenuine",
}
VENDOR_CHOICES = [
    ("", "Any"),
    ("GenuineIntel", "Intel"),
    ("AuthenticAMD", "AMD"),
    ("HygonGenuine", "Hygon"),
]


class VendorSelect(forms.Select):
    """A list to pick from that still shows an alias typed in the address bar as chosen."""

    def format_value(self, value):
        return [VENDORS.get(str(value).strip().lower(), value)] if value else [""]


class VendorField(forms.CharField):
    widget = VendorSelect(choices=VENDOR_CHOICES)

    def to_python(self, value):
        value = super().to_python(value).strip()
        if not value:
            return ""
        vendor = VENDORS.get(value.lower())
        if vendor is None:
            raise forms.ValidationError(
                "unknown vendor %(value)s: Intel, AMD or Hygon (or GenuineIntel, AuthenticAMD, "
                "HygonGenuine)",
                params={"value": value[:40]},
                code="unknown_vendor",
            )
        return vendor


class VendorFilter(django_filters.CharFilter):
    field_class = VendorField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("lookup_expr", "exact")
        super().__init__(*args, **kwargs)


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
