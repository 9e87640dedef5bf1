"""What changed since a signature reads as a person would write it."""

from __future__ import annotations

from approvals.fingerprint import diff


def _snapshot(at: str) -> dict:
    return {
        "window": {"start": "2026-12-12T09:00:00Z", "end": "2026-12-12T11:00:00Z"},
        "milestones": [
            {"id": 1, "kind": "go_no_go", "title": "", "date": None, "at": at, "done": False}
        ],
    }


def test_a_moved_milestone_is_shown_in_local_time_not_iso(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    lines = diff(_snapshot("2026-12-11T16:00:00Z"), _snapshot("2026-12-10T16:00:00Z"))
    assert lines == ["Milestone moved: Go/no-go 2026-12-11 17:00 CET → 2026-12-10 17:00 CET"]
