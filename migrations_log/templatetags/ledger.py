"""``{% load ledger %}``: the ledger's panels for other apps' pages, so their views and Python
never import the ledger (the catalog's CPU and host pages show the contradictions panel).

``{% contradictions_for cpu %}`` or ``{% contradictions_for host %}`` (a ``cpus.CpuModel`` or a
``cpus.Host``): the recorded migrations involving it whose outcome contradicts the prediction,
under a heading; nothing at all when there are none."""

from __future__ import annotations

from django import template

from cpus.models import CpuModel, Host
from migrations_log import selectors

register = template.Library()


@register.inclusion_tag("migrations_log/_contradictions_panel.html")
def contradictions_for(subject: CpuModel | Host) -> dict:
    if isinstance(subject, CpuModel):
        records = selectors.contradictions_involving(cpu_model=subject)
    elif isinstance(subject, Host):
        records = selectors.contradictions_involving(host=subject)
    else:
        raise template.TemplateSyntaxError(
            f"contradictions_for takes a CPU model or a host, not {type(subject).__name__}"
        )
    return {"records": records}
