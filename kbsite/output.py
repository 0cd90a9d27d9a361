"""Output serializers: one class both renders an API answer and documents it in the schema.

The engine (``cpus.cpuid``) returns frozen dataclasses and their ``to_dict()`` forms; an API view
passes that form through an ``OutputSerializer`` subclass, and the same class is the answer's
``responses=`` in ``extend_schema``.  So the published schema is, by construction, the shape of
what is sent.  Two guards keep the engine and the serializer in step:

* a key the engine adds that the serializer does not declare raises ``UndeclaredKeys`` when the
  answer is rendered (never silently dropped): the API tests, which render every answer, fail;
* a declared key the engine no longer gives raises too (DRF: a required field without a value),
  unless the field says ``required=False`` (a key the engine gives only sometimes).

Every output serializer is *closed*: its schema component says ``additionalProperties: false``
(``close_output_components``, a drf-spectacular post-processing hook).  Enumerations
(``ChoiceField``) take their choices from the core's registries, never from a copy.
"""

from __future__ import annotations

from collections.abc import Mapping

from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict

# Component name -> serializer class, for the post-processing hook.
_CLOSED: dict[str, type] = {}


class UndeclaredKeys(RuntimeError):
    """The engine returned keys its output serializer does not declare (a schema drift)."""


def component_name(cls: type) -> str:
    """drf-spectacular's default component name for a serializer class."""
    name = cls.__name__
    return name[: -len("Serializer")] if name.endswith("Serializer") else name


class OutputSerializer(serializers.Serializer):
    """A read-only, closed serializer over an engine answer (a mapping or an object).

    ``closed = False`` is for JSON stored by earlier engine versions (a ledger record's
    prediction): the serializer documents today's keys (the component allows others) and the
    stored JSON is sent exactly as stored, never rewritten nor refused.

    Its fields are bound once per class, not per instance: DRF deep-copies and binds every
    declared field for every instance (and every nested one), which cost several times the
    engine's own ``to_dict()``.  Output fields hold no per-request state: rendering never reads
    the serializer's context.  A mapping is rendered key by key: a declared key that is missing
    is an error unless the field is ``required=False`` (then it is left out), None stays None.
    """

    closed = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__doc__ is None:  # not this base's docstring as the component's description
            cls.__doc__ = ""
        if cls.closed:
            _CLOSED[component_name(cls)] = cls

    @property
    def fields(self):
        cls = type(self)
        bound = cls.__dict__.get("_bound_fields")
        if bound is None:
            bound = BindingDict(self)
            for name, field in self.get_fields().items():
                bound[name] = field
            # Plain copies for rendering (a BindingDict iterates through the abc mixins), with
            # each field's conversion (``_converter``).
            cls._field_items = tuple(
                (name, field.required, _converter(field)) for name, field in bound.fields.items()
            )
            cls._field_names = frozenset(bound.fields)
            cls._bound_fields = bound
        return bound

    def _rendering_fields(self) -> tuple[tuple, frozenset]:
        cls = type(self)
        if "_field_items" not in cls.__dict__:
            self.fields  # noqa: B018 - binds the class's fields, once
        return cls._field_items, cls._field_names

    def to_representation(self, instance):
        if not isinstance(instance, Mapping):
            return super().to_representation(instance)
        if not self.closed:
            return instance
        items, names = self._rendering_fields()
        if not names.issuperset(instance):
            raise UndeclaredKeys(
                f"{type(self).__name__} does not declare "
                f"{', '.join(sorted(map(str, instance.keys() - names)))}: "
                "add them to the serializer (and so to the API schema)"
            )
        body = {}
        for name, required, convert in items:
            try:
                value = instance[name]
            except KeyError:
                if required:
                    raise KeyError(f"{type(self).__name__}: the answer has no {name!r}") from None
                continue
            body[name] = None if value is None else convert(value)
        return body

    def create(self, validated_data):  # pragma: no cover - output only
        raise NotImplementedError("an output serializer")

    def update(self, instance, validated_data):  # pragma: no cover - output only
        raise NotImplementedError("an output serializer")


# DRF's own to_representation of these field types is exactly this call (rest_framework.fields).
_PLAIN = {serializers.CharField: str, serializers.IntegerField: int, serializers.FloatField: float}


def _converter(field):
    """``field.to_representation``, or the same conversion without DRF's call overhead: a
    preflight over 10,000 hosts renders 50,000 values."""
    plain = _PLAIN.get(type(field))
    if plain is not None:
        return plain
    if type(field) is serializers.ListField and type(field.child) in _PLAIN:
        item = _PLAIN[type(field.child)]
        return lambda values: [None if value is None else item(value) for value in values]
    return field.to_representation


def renamed(**names: str):
    """Class decorator: give declared fields JSON names that are not Python identifiers
    (``klass="class"``, ``host_passthrough="host-passthrough"``), keeping their order."""

    def decorate(cls):
        cls._declared_fields = {
            names.get(name, name): field for name, field in cls._declared_fields.items()
        }
        return cls

    return decorate


def close_output_components(result, generator, request, public):
    """drf-spectacular post-processing hook: output serializers' components are closed
    (``additionalProperties: false``), so a client or a test can rely on the listed keys."""
    schemas = result.get("components", {}).get("schemas", {})
    for name in _CLOSED:
        component = schemas.get(name)
        if component is not None and component.get("type") == "object":
            component["additionalProperties"] = False
    return result
