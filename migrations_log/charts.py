"""Server-rendered SVG charts for the accuracy page (no JavaScript, no CDN).

The chart is inlined in the page, so its colours come from the stylesheet like every verdict's:
a cell whose prediction was right has class ``right`` (outlined in the ``safe`` colour), a
contradiction class ``wrong`` (the ``blocked`` colour); see ``.chart`` in kbsite's site.css."""

from __future__ import annotations

from django.utils.html import escape

from cpus.cpuid.levels import SAFE_LEVELS
from migrations_log.models import Outcome, Verdict

CELL = 64
LEFT = 215  # room for "predicted safe-with-model" at 13 px
TOP = 110


def confusion_svg(result) -> str:
    """A heatmap of predicted verdict (rows) vs outcome (columns): darker = more records.
    Cells where the prediction was right are outlined in the ``safe`` colour, contradictions in
    the ``blocked`` one (CSS classes ``right`` and ``wrong``)."""
    verdicts = [v for v in Verdict.values if any(result.matrix[v].values())] or list(Verdict.values)
    outcomes = list(Outcome.values)
    peak = max([result.matrix[v][o] for v in verdicts for o in outcomes] + [1])
    # Room on the right for the last rotated column labels.
    width, height = LEFT + CELL * len(outcomes) + 120, TOP + CELL * len(verdicts) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="Predicted verdict against outcome for {escape(result.hypervisor)}" '
        'class="chart">'
    ]
    for column, outcome in enumerate(outcomes):
        x = LEFT + column * CELL + CELL / 2
        parts.append(
            f'<text x="{x}" y="{TOP - 8}" transform="rotate(-35 {x} {TOP - 8})" font-size="12">'
            f"{escape(Outcome(outcome).label)}</text>"
        )
    for row, verdict in enumerate(verdicts):
        y = TOP + row * CELL
        parts.append(
            f'<text x="{LEFT - 8}" y="{y + CELL / 2 + 4}" text-anchor="end" font-size="13">'
            f"predicted {escape(verdict)}</text>"
        )
        for column, outcome in enumerate(outcomes):
            count = result.matrix[verdict][outcome]
            x = LEFT + column * CELL
            shade = 0.08 + 0.8 * count / peak if count else 0.03
            failed = outcome in Outcome.failures()
            wrong = (failed and verdict in SAFE_LEVELS) or (
                not failed and verdict == Verdict.BLOCKED
            )
            right = (failed and verdict == Verdict.BLOCKED) or (
                not failed and verdict in SAFE_LEVELS
            )
            outline = " wrong" if wrong and count else " right" if right and count else ""
            parts.append(
                f'<rect class="cell{outline}" x="{x + 2}" y="{y + 2}" width="{CELL - 4}" '
                f'height="{CELL - 4}" rx="4" '
                f'fill="rgba(11,92,173,{shade:.2f})" stroke="#d8dde3" '
                f'stroke-width="{3 if count else 1}">'
                f"<title>predicted {escape(verdict)}, {escape(outcome)}: {count}</title></rect>"
            )
            parts.append(
                f'<text x="{x + CELL / 2}" y="{y + CELL / 2 + 5}" text-anchor="middle" '
                'font-size="16" '
                f'fill="{"#fff" if shade > 0.5 else "#1d232a"}">{count}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
