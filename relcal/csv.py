"""CSV cells as data, never as formulas (CSV injection): every CSV export writes its cells
through ``neutralise``; JSON exports and hashes keep the raw values.

A text cell gets a leading ``'`` exactly when its value starts with ``=``, ``+``, ``-``, ``@``,
a tab, a carriage return, or ``'`` itself, so ``restore`` (remove one leading ``'``) always gives
the value back, e.g. to recompute an audit event's hash from the CSV.
"""

from __future__ import annotations

from typing import Any

# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def neutralise(value: Any) -> Any:
    """``value`` as a spreadsheet shows it, as text: "=1+1" → "'=1+1" ("'x" → "''x", so the
    quote is always reversible); numbers and other non-text values unchanged."""
    if isinstance(value, str) and value.startswith((*FORMULA_STARTS, QUOTE)):
        return QUOTE + value
    return value


def restore(cell: str) -> str:
    """The value ``neutralise`` wrote as ``cell`` (a CSV cell read back as text)."""
    return cell[1:] if cell.startswith(QUOTE) else cell
