"""OpenAPI examples for the environments API, above all the CI flow: acquire, run, release."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

_HELD = {
    "id": 412,
    "environment": "qa",
    "environment_name": "qa",
    "team": "payments",
    "team_name": "Payments",
    "team_color": "#d9480f",
    "release": 17,
    "release_name": "Payments 4.3",
    "purpose": "CI pipeline #8812: integration tests",
    "start": "2027-03-02T13:05:00Z",
    "end": "2027-03-02T13:50:00Z",
    "state": "active",
    "state_label": "Active",
    "booked_by": "alice",
    "created_at": "2027-03-02T13:05:00Z",
    "updated_at": "2027-03-02T13:05:00Z",
    "ended_at": None,
}
_SEARCH_HOLDS = {
    "id": 398,
    "environment": "staging",
    "team": "search",
    "purpose": "Load test",
    "start": "2027-03-02T13:00:00Z",
    "end": "2027-03-02T15:00:00Z",
    "booked_by": "bob",
}

ACQUIRE = OpenApiExample(
    "CI: acquire qa for 45 minutes",
    request_only=True,
    value={
        "team": "payments",
        "minutes": 45,
        "purpose": "CI pipeline #8812: integration tests",
        "release": 17,
    },
)
ACQUIRED = OpenApiExample(
    "Acquired: keep the id to release it",
    response_only=True,
    status_codes=["201"],
    value=_HELD,
)
ACQUIRE_CONFLICT = OpenApiExample(
    "Held by another pipeline",
    response_only=True,
    status_codes=["409"],
    value={
        "detail": "qa is booked by Payments for “CI pipeline #8811: integration tests” from "
        "2027-03-02 13:00 until 13:45 UTC; the next free 45 min slot is 2027-03-02 13:45 to "
        "14:30 UTC.",
        "conflict": {
            "id": 411,
            "environment": "qa",
            "team": "payments",
            "purpose": "CI pipeline #8811: integration tests",
            "start": "2027-03-02T13:00:00Z",
            "end": "2027-03-02T13:45:00Z",
            "booked_by": "alice",
        },
        "suggested": {"start": "2027-03-02T13:45:00Z", "end": "2027-03-02T14:30:00Z"},
    },
)
RELEASED = OpenApiExample(
    "CI: released at the end of the run",
    response_only=True,
    status_codes=["200"],
    value=_HELD
    | {
        "state": "released_early",
        "state_label": "Released early",
        "end": "2027-03-02T13:31:12Z",
        "ended_at": "2027-03-02T13:31:12Z",
        "updated_at": "2027-03-02T13:31:12Z",
    },
)
ACQUIRE_FORBIDDEN = OpenApiExample(
    "Not a member of the team",
    response_only=True,
    status_codes=["403"],
    value={"detail": "Only members of Search (and release managers) can book for Search."},
)

BOOK = OpenApiExample(
    "Book staging for an afternoon",
    request_only=True,
    value={
        "environment": "staging",
        "team": "payments",
        "purpose": "Payments 4.3 regression tests",
        "start": "2027-03-02T16:30:00+01:00",
        "end": "2027-03-02T18:30:00+01:00",
    },
)
BOOK_CONFLICT = OpenApiExample(
    "Taken: who holds it, and the next free slot",
    response_only=True,
    status_codes=["409"],
    value={
        "detail": "staging is booked by Search for “Load test” from 2027-03-02 14:00 to 16:00 "
        "CET; the next free 2 h slot is 2027-03-02 16:00 to 18:00 CET.",
        "conflict": _SEARCH_HOLDS,
        "suggested": {"start": "2027-03-02T15:00:00Z", "end": "2027-03-02T17:00:00Z"},
    },
)
BOOK_BAD_END = OpenApiExample(
    "Refused: the field is named",
    response_only=True,
    status_codes=["400"],
    value={"end": ["staging can be booked for at most 4 h at a time; this booking lasts 6 h."]},
)
EXTEND = OpenApiExample(
    "Extend by half an hour",
    request_only=True,
    value={"end": "2027-03-02T14:20:00Z"},
)
EXTEND_CONFLICT = OpenApiExample(
    "The next booking is in the way",
    response_only=True,
    status_codes=["409"],
    value={
        "detail": "staging is booked by Search for “Load test” from 2027-03-02 14:00 to 16:00 "
        "CET; this booking can be extended until 2027-03-02 13:00 UTC.",
        "conflict": _SEARCH_HOLDS,
        "suggested": {"start": "2027-03-02T11:00:00Z", "end": "2027-03-02T13:00:00Z"},
    },
)
AVAILABILITY = OpenApiExample(
    "Busy with a booking and maintenance",
    response_only=True,
    value={
        "environment": "staging",
        "start": "2027-03-02T08:00:00Z",
        "end": "2027-03-02T18:00:00Z",
        "busy": [
            {
                "kind": "booking",
                "start": "2027-03-02T13:00:00Z",
                "end": "2027-03-02T15:00:00Z",
                "who": "Search",
                "why": "Load test",
                "team": "search",
                "booking": 398,
                "booked_by": "bob",
            },
            {
                "kind": "maintenance",
                "start": "2027-03-02T16:00:00Z",
                "end": "2027-03-02T17:00:00Z",
                "who": "Maintenance",
                "why": "Database upgrade",
                "team": None,
                "booking": None,
                "booked_by": None,
            },
        ],
        "free": [
            {"start": "2027-03-02T08:00:00Z", "end": "2027-03-02T13:00:00Z"},
            {"start": "2027-03-02T15:00:00Z", "end": "2027-03-02T16:00:00Z"},
            {"start": "2027-03-02T17:00:00Z", "end": "2027-03-02T18:00:00Z"},
        ],
    },
)
WAITLIST_JOIN = OpenApiExample(
    "Queue for the taken slot",
    request_only=True,
    value={
        "environment": "staging",
        "team": "payments",
        "purpose": "Payments 4.3 regression tests",
        "start": "2027-03-02T14:00:00+01:00",
        "end": "2027-03-02T16:00:00+01:00",
    },
)
MAINTENANCE = OpenApiExample(
    "Database upgrade",
    request_only=True,
    value={
        "environment": "staging",
        "start": "2027-03-03T06:00:00Z",
        "end": "2027-03-03T08:00:00Z",
        "reason": "Database upgrade",
    },
)
DEPLOYMENT = OpenApiExample(
    "CI: report a deployment",
    request_only=True,
    value={
        "environment": "staging",
        "version": "4.3.0-rc.2+build.8812",
        "release": 17,
        "note": "Pipeline #8812",
    },
)
RULES = OpenApiExample(
    "Longest booking 4 hours, a day's notice",
    request_only=True,
    value={"max_booking_minutes": 240, "min_notice_minutes": 1440},
)

DEPLOY_CHECK = OpenApiExample(
    "Ask before deploying a release to production",
    request_only=True,
    value={"release": 12, "environment": "prod"},
)
DEPLOY_CHECK_BY_VERSION = OpenApiExample(
    "The same, by team and version",
    request_only=True,
    value={"team": "payments", "version": "4.3", "environment": "prod"},
)
