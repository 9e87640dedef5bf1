"""How the delivery pages word their figures: durations ("2 d 4 h"), rates ("12.5%"), deployments
per day ("0.43 a day"), in the Delivery metrics page, its charts, its CSV and the release
panel alike."""

from __future__ import annotations

NO_DATA = "no data"


def duration_text(seconds: float | None) -> str:
    """45 → "1 min", 5,400 → "1 h 30 min", 190,800 → "2 d 5 h"; None → "no data"."""
    if seconds is None:
        return NO_DATA
    if 0 < seconds < 30:
        return "under 1 min"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days, hours = divmod(round(seconds / 3600), 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def rate_text(fraction: float | None) -> str:
    """0.125 → "12.5%", 0.2 → "20%"; None → "no data"."""
    if fraction is None:
        return NO_DATA
    value = round(fraction * 100, 1)
    return f"{value:g}%"


def per_day_text(per_day: float | None) -> str:
    """Deployments a day: 2.5 → "2.5 a day", 0.4286 → "0.43 a day"."""
    if per_day is None:
        return NO_DATA
    shown = f"{per_day:.2f}".rstrip("0").rstrip(".") if per_day < 10 else f"{per_day:.0f}"
    return f"{shown} a day"


def count_text(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"
