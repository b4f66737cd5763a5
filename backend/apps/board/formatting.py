"""How the board writes numbers and times; `static/board/js/format.js` applies the same rules.

Live updates re-format a cell in the browser, so each rule here has a twin in format.js
(`usd`, `ago`); the browser test checks that a cell updated live reads exactly as the server
would have written it.
"""

from __future__ import annotations

import math
from datetime import datetime

# The multiplication sign people read between a GPU count and its memory (escaped, as ruff
# flags the literal character as ambiguous).
TIMES = "\u00d7"


def usd(value: float | None) -> str:
    """A dollar amount with the precision its size needs; an em dash for None.

    At least 1: two decimals ("$2.49"); from 0.01: three ("$0.349"); below: four significant
    digits ("$0.004213"), so a cost per TFLOP-hour or per token never reads as "$0.00".
    """
    if value is None or not math.isfinite(value):
        return "—"
    if value >= 1:
        return f"${value:,.2f}"
    if value >= 0.01:
        return f"${value:.3f}"
    if value <= 0:
        return "$0"
    decimals = 3 - math.floor(math.log10(value))
    return f"${value:.{decimals}f}"


def ago(moment: datetime | None, now: datetime) -> str:
    """How long before `now` `moment` was: "just now", "45 s ago", "3 min ago", "2 h", "5 d ago".

    A moment in the future (clock skew between a provider and us) reads "just now".
    """
    if moment is None:
        return "never"
    seconds = (now - moment).total_seconds()
    if seconds < 10:
        return "just now"
    if seconds < 60:
        return f"{int(seconds)} s ago"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def gigabytes(value: float | None) -> str:
    """GB without a needless decimal: 80 -> "80 GB", 92.35 -> "92.4 GB"."""
    if value is None:
        return "—"
    return f"{value:,.0f} GB" if float(value).is_integer() else f"{value:,.1f} GB"


def counted(count: int, noun: str) -> str:
    """A count with its noun, plural when it is not 1: "1 replica", "8 replicas", "2 GPUs"."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"
