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

import copy
from collections.abc import Mapping

from rest_framework import serializers

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

    ``closed = False`` is for stored JSON written by earlier engine versions (a ledger record's
    prediction): its keys are documented, other keys are passed through as stored, and the
    component allows additional properties.

    Its fields are shallow copies of the declared ones: DRF deep-copies every declared field
    for every instance, which for a nested answer costs more than the rest of the rendering;
    these fields hold no per-request state but their binding, which each copy gets for itself.
    """

    closed = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__doc__ is None:  # not this base's docstring as the component's description
            cls.__doc__ = ""
        if cls.closed:
            _CLOSED[component_name(cls)] = cls

    def get_fields(self):
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}

    def to_representation(self, instance):
        if not isinstance(instance, Mapping):
            return super().to_representation(instance)
        extra = instance.keys() - self.fields.keys()
        if extra and self.closed:
            raise UndeclaredKeys(
                f"{type(self).__name__} does not declare {', '.join(sorted(map(str, extra)))}: "
                "add them to the serializer (and so to the API schema)"
            )
        body = super().to_representation(instance)
        for key in instance:
            if key in extra:
                body[key] = instance[key]
        return body

    def create(self, validated_data):  # pragma: no cover - output only
        raise NotImplementedError("an output serializer")

    def update(self, instance, validated_data):  # pragma: no cover - output only
        raise NotImplementedError("an output serializer")


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
