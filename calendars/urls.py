"""The calendar pages, the feeds and the profile page. Mounted at the site's root by the project
(``relcal/urls.py``), so that the paths and names stay ``/calendar/``, ``calendar``, …"""

from __future__ import annotations

from django.urls import path

from . import feeds, pages, profile

urlpatterns = [
    path("calendar/", pages.month_view, name="calendar"),
    path("calendar/agenda/", pages.agenda_view, name="calendar-agenda"),
    path("calendar/quarter/", pages.quarter_view, name="calendar-quarter"),
    path("calendar/subscribe/", pages.subscribe, name="calendar-subscribe"),
    path("feeds/public.ics", feeds.public_feed, name="public-feed"),
    path("feeds/<slug:token>.ics", feeds.feed, name="feed"),
    path("profile/", profile.profile, name="profile"),
    path("profile/reminders/", profile.reminder_preferences, name="reminder-preferences"),
    path("profile/time-zone/", profile.time_zone, name="profile-time-zone"),
    path("profile/feeds/<int:pk>/rename/", profile.token_rename, name="feed-token-rename"),
    path("profile/feeds/<int:pk>/revoke/", profile.token_revoke, name="feed-token-revoke"),
]
