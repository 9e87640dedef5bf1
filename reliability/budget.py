"""Error-budget arithmetic: pure functions over event counts, no database, no HTTP.

With the objective ``o`` as a fraction (99.9 % -> 0.999) and a window's ``good`` and ``total``
events::

    error budget            = 1 - o                         (0.001: 1 event in 1,000 may fail)
    SLI                     = good / total                  (None when total = 0)
    error ratio             = 1 - SLI = (total - good) / total
    budget remaining        = 1 - (1 - SLI) / (1 - o)       (1 untouched, 0 spent, < 0 overspent)
    minutes of full outage  = remaining × (1 - o) × window minutes
    burn rate over w        = error ratio over w / (1 - o)  (1: the budget lasts the window)
    budget consumed by burning at b for d = b × d / window

The SRE workbook's examples (99.9 % over 30 days, chapter 5 "Alerting on SLOs"): burning at
14.4× for 1 hour consumes 14.4 × 1 / 720 = 2 % of the budget; 6× for 6 hours, 5 %; 1× for 3 days,
10 %.

Windows: the burn rates are kept over ``WINDOWS`` (5 min and 30 min are the alert's short
windows), the SLI and the budget over the SLO's own window (``slo_window``, e.g. ``28d``). A
window without events has no burn rate (None, not 0: nothing was measured); an SLO window
without events has no SLI, and the SLO is ``no data``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .models import SLO, Alert, SLOState

WINDOWS = ("5m", "30m", "1h", "6h", "24h", "3d")
WINDOW_MINUTES = {"5m": 5, "30m": 30, "1h": 60, "6h": 6 * 60, "24h": 24 * 60, "3d": 3 * 24 * 60}
# Page when both the long and the short window burn faster than the rate (workbook table 5-8).
PAGE_RULES = ((14.4, "1h", "5m"), (6.0, "6h", "30m"))
# Ticket at 1× over 3 days, as the issue asks. The workbook pairs it with a 6 h short window
# (so that a ticket stops once the burn is over); here the 3-day window alone decides.
TICKET_RULES = ((1.0, "3d"),)
NO_EVENTS = "no events in the window"
# Burn rates are rounded to this many decimals, so that 0.0144 / 0.001 is 14.4 and a rate
# exactly at a threshold does not page on floating-point noise (the rules compare with >).
PRECISION = 9


def slo_window(window_days: int) -> str:
    """The PromQL duration and the key of an SLO's own window: ``28d``."""
    return f"{window_days}d"


def window_minutes(window: str) -> int:
    """Minutes of a window key: one of ``WINDOWS``, or an SLO window such as ``28d``."""
    if window in WINDOW_MINUTES:
        return WINDOW_MINUTES[window]
    return int(window.removesuffix("d")) * 24 * 60


def error_budget(objective: float) -> float:
    """The share of events allowed to fail: ``1 - objective`` (objective as a fraction)."""
    return 1 - objective


def sli(good: float, total: float) -> float | None:
    """``good / total``; None without events."""
    if total <= 0:
        return None
    return min(max(good / total, 0.0), 1.0)


def budget_remaining(sli: float, objective: float) -> float:
    """``1 - (1 - SLI) / (1 - objective)``: the share of the budget left (negative: overspent)."""
    return 1 - (1 - sli) / error_budget(objective)


def budget_minutes(remaining: float, objective: float, window_days: int) -> float:
    """The budget left as minutes of full outage: ``remaining × (1 - objective) × window``.

    99.9 % over 30 days allows 43.2 minutes of full outage; with half the budget left, 21.6.
    """
    return remaining * error_budget(objective) * window_days * 24 * 60


def burn_rate(error_ratio: float | None, objective: float) -> float | None:
    """``error ratio / (1 - objective)``: how many times faster than sustainable the budget
    burns; None when the window had no events."""
    if error_ratio is None:
        return None
    return round(error_ratio / error_budget(objective), PRECISION)


def error_ratio(good: float, total: float) -> float | None:
    """``(total - good) / total``; None without events."""
    value = sli(good, total)
    return None if value is None else 1 - value


def budget_consumed(rate: float, minutes: float, window_days: int) -> float:
    """The share of the budget a burn at ``rate`` for ``minutes`` consumes: ``rate × d / w``."""
    return rate * minutes / (window_days * 24 * 60)


def alert_for(burn_rates: Mapping[str, float | None]) -> str:
    """The multiwindow, multi-burn-rate alert (SRE workbook, chapter 5, table 5-8):

    - ``page`` when burning faster than 14.4× over both 1 h and 5 min (2 % of a 30-day budget in
      an hour), or faster than 6× over both 6 h and 30 min (5 % in six hours);
    - ``ticket`` when burning faster than 1× over 3 days (10 % in three days; the workbook adds
      a 6 h short window, not used here: the issue asks for 1× over 3 days);
    - none otherwise. A window without events (None) does not burn.
    """

    def faster(window: str, rate: float) -> bool:
        value = burn_rates.get(window)
        return value is not None and value > rate

    if any(faster(long, rate) and faster(short, rate) for rate, long, short in PAGE_RULES):
        return Alert.PAGE
    if any(faster(long, rate) for rate, long in TICKET_RULES):
        return Alert.TICKET
    return Alert.NONE


def state_for(remaining: float | None, at_risk_below: float) -> str:
    """``exhausted`` at or below 0; ``at_risk`` below ``at_risk_below`` (a fraction, e.g. 0.25);
    ``healthy`` otherwise; ``no_data`` without a figure (never healthy)."""
    if remaining is None:
        return SLOState.NO_DATA
    if remaining <= 0:
        return SLOState.EXHAUSTED
    if remaining < at_risk_below:
        return SLOState.AT_RISK
    return SLOState.HEALTHY


# What a source read for one window: (good, total) events, or an error ratio (None: no events).
Reading = tuple[float, float] | float | None


def ratio_of(reading: Reading) -> float | None:
    """The error ratio of a reading (within 0..1), None without events."""
    if reading is None:
        return None
    if isinstance(reading, int | float):
        return min(max(float(reading), 0.0), 1.0)
    return error_ratio(*reading)


def slo_budget_minutes(slo: SLO) -> float | None:
    """An SLO's stored budget left as minutes of full outage (None before it has a figure)."""
    if slo.budget_remaining is None:
        return None
    return budget_minutes(slo.budget_remaining, objective_of(slo), slo.window_days)


def objective_of(slo: SLO) -> float:
    """The SLO's objective as a fraction: 99.9 (%) -> 0.999."""
    return float(slo.objective) / 100


@dataclass(frozen=True)
class Figures:
    """One evaluation of an SLO: what is stored on it and in its snapshot."""

    state: str
    alert: str = Alert.NONE
    sli: float | None = None
    budget_remaining: float | None = None
    burn_rates: dict[str, float | None] = field(default_factory=dict)
    reason: str = ""  # why there is no data; "" otherwise
    failed: bool = False  # the source failed (as opposed to answering "no events")

    @classmethod
    def no_data(cls, reason: str, *, failed: bool = False) -> Figures:
        return cls(state=SLOState.NO_DATA, reason=reason, failed=failed)


def figures(
    readings: Mapping[str, Reading],
    *,
    objective: float,
    window_days: int,
    at_risk_below: float,
) -> Figures:
    """The figures of an SLO from its source's readings per window (``WINDOWS`` and
    ``slo_window(window_days)``; a missing window counts as without events)."""
    burn_rates = {
        window: burn_rate(ratio_of(readings.get(window)), objective) for window in WINDOWS
    }
    ratio = ratio_of(readings.get(slo_window(window_days)))
    if ratio is None:
        return Figures(state=SLOState.NO_DATA, burn_rates=burn_rates, reason=NO_EVENTS)
    value = 1 - ratio
    remaining = budget_remaining(value, objective)
    return Figures(
        state=state_for(remaining, at_risk_below),
        alert=alert_for(burn_rates),
        sli=value,
        budget_remaining=remaining,
        burn_rates=burn_rates,
    )
