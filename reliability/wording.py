"""How the error-budget policy words an SLO and its figures, in gates, freezes, reminders and
the watch alike ("Payments API availability 99.9%", "−12% left")."""

from __future__ import annotations

from decimal import Decimal

from .budget import WINDOWS
from .models import SLO, SLISource

HIDDEN_SERVICE = "a service you cannot see"
MINUS = "\N{MINUS SIGN}"


def objective_text(objective: Decimal | float) -> str:
    """99.9000 → "99.9", 99 → "99"."""
    value = Decimal(str(objective)).normalize()
    return format(value, "f")


def slo_label(slo: SLO, service_name: str | None = None) -> str:
    """ "Payments API availability 99.9%" (``service_name`` replaces the service's name, e.g.
    by "a service you cannot see")."""
    name = service_name if service_name is not None else slo.service.name
    return f"{name} {slo.name} {objective_text(slo.objective)}%"


def percent(fraction: float | None) -> str:
    """A share of the budget: 0.18 → "18%", −0.123 → "−12%", None → "unknown"."""
    if fraction is None:
        return "unknown"
    value = round(fraction * 100)
    return f"{MINUS}{abs(value)}%" if value < 0 else f"{value}%"


def left(fraction: float | None) -> str:
    return f"{percent(fraction)} left"


def source_label(slo: SLO) -> str:
    return "Prometheus" if slo.source == SLISource.PROMETHEUS else "pushed measurements"


def burn_text(burn_rates: dict | None) -> str:
    """ "burn 20.1× over 1h, 19.8× over 5m" for the windows that have a figure."""
    rates = burn_rates or {}
    # Shortest window first, whatever order the database kept the keys in (jsonb sorts them).
    windows = sorted(rates, key=lambda w: (WINDOWS.index(w) if w in WINDOWS else len(WINDOWS), w))
    parts = [
        f"{float(rates[window]):.1f}× over {window}"
        for window in windows
        if isinstance(rates[window], int | float)
    ]
    return "burn " + ", ".join(parts) if parts else "no burn rates"


def worst_burn(burn_rates: dict | None) -> float:
    rates = [float(r) for r in (burn_rates or {}).values() if isinstance(r, int | float)]
    return max(rates, default=0.0)


def figure_text(entry: dict, hidden: bool = False) -> str:
    """A post-release watch's figure of one SLO (see ``watch.figure``): "Payments API
    availability 99.9% (page-level burn): −12% left, burn 20.1× over 1h"."""
    name = HIDDEN_SERVICE if hidden else entry.get("service", "")
    page = " (page-level burn)" if entry.get("alert") == "page" else ""
    return (
        f"{name} {entry.get('slo', '')} {entry.get('objective', '')}%{page}: "
        f"{left(entry.get('budget_remaining'))}, {burn_text(entry.get('burn_rates'))}"
    )
