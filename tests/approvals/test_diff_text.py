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
    assert lines == [
        "Milestone moved: Go/no-go Fri 11 Dec 2026, 17:00 CET → Thu 10 Dec 2026, 17:00 CET"
    ]


def test_a_moved_all_day_milestone_is_shown_as_a_day():
    before = {"milestones": [{"id": 1, "kind": "code_freeze", "title": "", "date": "2026-12-01"}]}
    after = {"milestones": [{"id": 1, "kind": "code_freeze", "title": "", "date": "2026-12-03"}]}
    assert diff(before, after) == ["Milestone moved: Code freeze Tue 1 Dec 2026 → Thu 3 Dec 2026"]


def _depends(version: str) -> dict:
    return {"dependencies": [{"release": 7, "team": "search", "version": version, "kind": "needs"}]}


def test_a_dependency_is_named_as_the_release_page_names_it():
    lines = diff({"dependencies": []}, _depends("2.1"), names={7: "Search 2.1"})
    assert lines == ["Dependency added: needs Search 2.1"]


def test_a_dependency_no_longer_there_keeps_the_name_in_its_snapshot():
    assert diff(_depends("2.1"), {"dependencies": []}) == ["Dependency removed: needs search 2.1"]


def test_a_long_description_change_is_shortened():
    lines = diff({"description": "Short."}, {"description": "word " * 100})
    assert lines[0].startswith("Description changed, now: “word word")
    assert len(lines[0]) < 250
