"""``{% load verdicts %}``: a verdict badge that says what it means and links to the glossary,
and the legend partial.  Words and symbols come from ``kbsite.verdicts``."""

from __future__ import annotations

from django import template

from kbsite.verdicts import BY_LEVEL, VERDICTS

register = template.Library()


@register.inclusion_tag("kbsite/_verdict_badge.html")
def verdict(level: str) -> dict:
    return {"level": level, "word": BY_LEVEL.get(level)}


@register.inclusion_tag("kbsite/_verdict_legend.html")
def verdict_legend(*levels: str) -> dict:
    """The legend of the given levels (every level when none is given)."""
    words = [BY_LEVEL[lv] for lv in levels if lv in BY_LEVEL] if levels else list(VERDICTS)
    return {"words": words}


@register.filter
def verdict_symbol(level: str) -> str:
    word = BY_LEVEL.get(level)
    return word.symbol if word else "?"


@register.filter
def verdict_short(level: str) -> str:
    word = BY_LEVEL.get(level)
    return word.short if word else level


@register.simple_tag(takes_context=True)
def sort_link(context, key: str, label: str) -> str:
    """A column header that sorts the list by ``key`` (again: the other way), keeping the
    other filters; ``aria-sort`` says the current order."""
    from django.utils.html import format_html

    request = context["request"]
    params = request.GET.copy()
    params.pop("page", None)
    current = params.get("ordering", "")
    new = f"-{key}" if current == key else key
    params["ordering"] = new
    state = "ascending" if current == key else "descending" if current == f"-{key}" else ""
    arrow = {"ascending": " \u25b2", "descending": " \u25bc"}.get(state, "")
    return format_html(
        '<a class="sort" href="?{}"{}>{}{}</a>',
        params.urlencode(),
        format_html(' aria-sort="{}"', state) if state else "",
        label,
        arrow,
    )
