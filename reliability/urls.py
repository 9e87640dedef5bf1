"""The reliability pages, mounted at /reliability/."""

from __future__ import annotations

app_name = "reliability"
urlpatterns: list = []
