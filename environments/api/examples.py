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
DEPLOYMENT_OVER = OpenApiExample(
    "CI: report a deployment that is over (failed)",
    request_only=True,
    value={
        "environment": "qa",
        "release": 17,
        "version": "4.3.0-rc.2",
        "outcome": "failed",
        "deployed_at": "2027-03-02T13:05:00Z",
        "finished_at": "2027-03-02T13:09:30Z",
        "client_id": "gitlab-pipeline-8812-qa",
        "note": "Migrations timed out",
    },
)
DEPLOYMENT_START = OpenApiExample(
    "CI: start a canary in production",
    request_only=True,
    value={
        "environment": "prod",
        "release": 17,
        "candidate": 41,
        "strategy": "canary",
        "planned_steps": [5, 25, 100],
        "outcome": "in_progress",
        "client_id": "gitlab-pipeline-8812-prod",
    },
)
_RUNNING = {
    "id": 230,
    "environment": "prod",
    "version": "4.3.0-rc.2",
    "release": 17,
    "release_name": "Payments 4.3",
    "candidate": 41,
    "candidate_version": "4.3.0-rc.2",
    "strategy": "canary",
    "strategy_label": "Canary",
    "planned_steps": [5, 25, 100],
    "steps": [],
    "outcome": "in_progress",
    "outcome_label": "In progress",
    "in_progress": True,
    "deployed_at": "2027-03-03T09:00:00Z",
    "finished_at": None,
    "deployed_by": "ci-payments",
    "note": "",
    "client_id": "gitlab-pipeline-8812-prod",
    "rollback_of": None,
    "rollbacks": [],
    "move_release": True,
    "updated_at": "2027-03-03T09:00:00Z",
}
DEPLOYMENT_STARTED = OpenApiExample(
    "Started (201; a retry with the same client_id answers 200 with the same deployment)",
    response_only=True,
    status_codes=["201"],
    value=_RUNNING,
)
DEPLOYMENT_RUNNING = OpenApiExample(
    "Another deployment of the environment is running",
    response_only=True,
    status_codes=["409"],
    value={
        "detail": "prod has a deployment in progress: 4.2.1 (Payments 4.2), started by "
        "ci-payments at 2027-03-03 08:40 UTC (deployment #229). Finish it first.",
        "deployment": {
            "id": 229,
            "environment": "prod",
            "version": "4.2.1",
            "release": 16,
            "release_name": "Payments 4.2",
            "outcome": "in_progress",
            "deployed_by": "ci-payments",
            "deployed_at": "2027-03-03T08:40:00Z",
            "finished_at": None,
        },
    },
)
DEPLOYMENT_STEP = OpenApiExample("Canary at 25%", request_only=True, value={"percent": 25})
DEPLOYMENT_STEPPED = OpenApiExample(
    "Two steps reached",
    response_only=True,
    status_codes=["200"],
    value=_RUNNING
    | {
        "steps": [
            {"percent": 5, "at": "2027-03-03T09:01:00Z"},
            {"percent": 25, "at": "2027-03-03T09:16:00Z"},
        ],
        "updated_at": "2027-03-03T09:16:00Z",
    },
)
DEPLOYMENT_OVER_ALREADY = OpenApiExample(
    "The deployment is over",
    response_only=True,
    status_codes=["409"],
    value={
        "detail": "Deployment #230 (4.3.0-rc.2 (Payments 4.3) to prod) is over: it finished at "
        "2027-03-03 10:02 UTC as succeeded.",
        "deployment": {
            "id": 230,
            "environment": "prod",
            "version": "4.3.0-rc.2",
            "release": 17,
            "release_name": "Payments 4.3",
            "outcome": "succeeded",
            "deployed_by": "ci-payments",
            "deployed_at": "2027-03-03T09:00:00Z",
            "finished_at": "2027-03-03T10:02:00Z",
        },
    },
)
DEPLOYMENT_FINISH = OpenApiExample(
    "Succeeded", request_only=True, value={"outcome": "succeeded", "note": "All pods healthy"}
)
DEPLOYMENT_FINISHED = OpenApiExample(
    "Finished: prod now runs it, Payments 4.3 is released",
    response_only=True,
    status_codes=["200"],
    value=_RUNNING
    | {
        "steps": [
            {"percent": 5, "at": "2027-03-03T09:01:00Z"},
            {"percent": 25, "at": "2027-03-03T09:16:00Z"},
            {"percent": 100, "at": "2027-03-03T09:45:00Z"},
        ],
        "outcome": "succeeded",
        "outcome_label": "Succeeded",
        "in_progress": False,
        "finished_at": "2027-03-03T10:02:00Z",
        "note": "All pods healthy",
        "updated_at": "2027-03-03T10:02:00Z",
    },
)
DEPLOYMENT_ROLLBACK = OpenApiExample(
    "Roll back to what ran before",
    request_only=True,
    value={"client_id": "gitlab-pipeline-8813-rollback", "note": "Error rate 4% after deploy"},
)
DEPLOYMENT_ROLLED_BACK_ALREADY = OpenApiExample(
    "Rolled back already",
    response_only=True,
    status_codes=["409"],
    value={
        "detail": "Deployment #230 (4.3.0-rc.2 (Payments 4.3)) was rolled back already.",
        "deployment": {
            "id": 230,
            "environment": "prod",
            "version": "4.3.0-rc.2",
            "release": 17,
            "release_name": "Payments 4.3",
            "outcome": "rolled_back",
            "deployed_by": "ci-payments",
            "deployed_at": "2027-03-03T09:00:00Z",
            "finished_at": "2027-03-03T10:02:00Z",
        },
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
