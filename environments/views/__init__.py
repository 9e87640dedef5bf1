"""Environment pages: the availability timeline, the booking form, "my team's bookings" and an
environment's page. Thin over ``selectors`` (and ``timeline``) for reads and ``services`` for
writes.

Anyone signed in may read; booking needs a team (or the release manager role), and every write
view checks permission before it reads input, so a user without it gets 403 on GET and POST
alike. A service's ``ValidationError`` becomes form errors (status 400), its ``Conflict`` the
conflict box of the booking form (status 409). Services are atomic: a refusal stores nothing.

Split by subject: ``bookings`` (timeline, booking and waitlist forms, my bookings),
``environment`` (an environment's page, rules, maintenance) and ``deployments`` (an
environment's deployment history, the release page's "Deployments" panel).
"""

from __future__ import annotations

from .bookings import (
    book,
    booking_cancel,
    booking_extend,
    booking_release,
    my_bookings,
    timeline_page,
    waitlist_join,
    waitlist_withdraw,
)
from .deployments import environment_deployments
from .environment import environment_detail, maintenance_add, maintenance_delete, rules_edit

__all__ = [
    "book",
    "booking_cancel",
    "booking_extend",
    "booking_release",
    "environment_deployments",
    "environment_detail",
    "maintenance_add",
    "maintenance_delete",
    "my_bookings",
    "rules_edit",
    "timeline_page",
    "waitlist_join",
    "waitlist_withdraw",
]
