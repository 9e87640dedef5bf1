"""A person's own time zone in tests: set through the service, as the profile page does."""

from __future__ import annotations

from accounts import zones


def set_zone(user, name: str):
    """Give ``user`` the zone ``name``; sign in afterwards (the session takes it at sign-in)."""
    zones.time_zone_set(actor=user, user=user, time_zone=name)
    return user
