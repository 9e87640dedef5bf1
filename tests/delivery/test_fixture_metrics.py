"""The four DORA keys of a hand-computed organisation (``tests.delivery.fixture_org``): every
value per team, per service, per month and in total, worked out by hand from the definitions
(README, "Delivery metrics") and asserted through the GitLab-compatible API
(``GET /api/v1/dora/metrics/``) and ``delivery.dora.summary`` (p90, all incidents, open
incidents, bands).

The facts, in hours of lead time per change (local month in ``Europe/Berlin``; * failed):

=========  =====================================  ========================  =================
team       January                                February                  March
=========  =====================================  ========================  =================
Payments   P6 3, P1 2, P2 5, P3 26*, P4 49, P5 8  P7 4, P8 10*, P9 30,      P12 7, P13 3*,
                                                  P10 6*, P11 1, P12b ?     P14 20, P15 9,
                                                                            P16 50, P17 2
Search     S-1 12, S-2 24, S-3 36, S-4 48         S-5 3, S-6 5*, S-7 7,     S-10 1, S-11 2,
                                                  S-8 ?, S-9 9              S-14 30, S-12 4.5,
                                                                            S-13 10
Ledger     L-1 72, L-2 24*, L-3 48                (none)                    L-4 6, L-5 18*,
                                                                            L-6 30, L-7 42
=========  =====================================  ========================  =================

Why each failed: P3 caused I1; P8 was rolled back (twice: one failed attempt, one that
succeeded); P10 was hot-fixed by P11 90 minutes later; P13 caused I5 (and was rolled back: the
incident comes first); S-6 is release S2's latest change before I2, which names S2; L-2 was named
as the cause of I6 after I6 was resolved; L-5 caused I4 (still open). P17 is a hotfix 3 hours
after P16: outside the 120-minute watch window, so P16 did not fail.

Services: PC touches checkout, PB billing, PX both (it names none, so the team's). Checkout:
P6 P1 P3 P4 | P7 P9 P10 P11 | P13 P14 P16 P17; billing: P2 P3 P5 | P8 P9 P12b | P12 P14 P15.

Incidents (hours from opened to resolved): I1 2 (P3, January), I6 4 (L-2, January), I2 6
(release S2, February), I3 24 (no cause, billing, February), I5 1 (P13, March), I4 open (L-5).

Medians and percentiles interpolate linearly between closest ranks (``percentile_cont``): with
n sorted values, the p-quantile sits at position p·(n−1) (0-based).
"""

from __future__ import annotations

from datetime import date

import pytest
from django.db import transaction

from delivery import dora
from delivery.bands import Band
from delivery.models import FailureCause, ProductionChange
from tests.delivery import fixture_org

pytestmark = pytest.mark.django_db

URL = "/api/v1/dora/metrics/"
H = 3600  # seconds in an hour
JANUARY, FEBRUARY, MARCH = "2026-01-01", "2026-02-01", "2026-03-01"
MONTHS = (JANUARY, FEBRUARY, MARCH)
Q1 = {"start_date": "2026-01-01", "end_date": "2026-03-31"}

DF = "deployment_frequency"
LT = "lead_time_for_changes"
CFR = "change_failure_rate"
TTR = "time_to_restore_service"

# Who asks, and for what: the API's parameters. "all" is every team the release manager sees;
# "outsider" every team a user without a team sees (Payments and Search: Ledger is private).
SCOPES = {
    "payments": {"team": "payments"},
    "search": {"team": "search"},
    "ledger": {"team": "ledger"},
    "checkout": {"service": "checkout"},
    "billing": {"service": "billing"},
    "all": {},
    "outsider": {},
}


@pytest.fixture(scope="module")
def org(django_db_setup, django_db_blocker):
    """The organisation, built once for the module inside a transaction that is rolled back at
    its end (each test runs in a savepoint of it, like ``TestCase.setUpTestData``)."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            built = fixture_org.build()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    try:
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def berlin(settings):
    settings.TIME_ZONE = fixture_org.TIME_ZONE


def get(api, user, metric: str, interval: str, **params) -> list[dict]:
    response = api.as_user(user).get(URL, {"metric": metric, "interval": interval, **Q1, **params})
    assert response.status_code == 200, response.content
    return response.json()


def series(dates, values) -> list[dict]:
    return [
        {"date": day, "value": pytest.approx(value) if value is not None else None}
        for day, value in zip(dates, values, strict=True)
    ]


# --- Per month (interval=monthly) ---------------------------------------------------------------
# [January, February, March]

MONTHLY = {
    "payments": {
        # P6 (00:30 CET on 1 January, 31 December in UTC) P1 P2 P3 P4 P5 | P7 P8 P9 P10 P11 P12b
        # (Pfail failed, R8a/R8b are rollbacks, T2 is staging) | P12 (00:30 CET on 1 March)
        # P13 P14 P15 P16 P17 (R13 a rollback; P18 is 1 April in Berlin).
        DF: [6, 6, 6],
        LT: [
            # 2, 3, 5, 8, 26, 49 → (5 + 8) / 2 = 6.5 h
            6.5 * H,  # 23,400 s
            # 1, 4, 6, 10, 30 (P12b: no candidate) → 6 h
            6 * H,  # 21,600 s
            # 2, 3, 7, 9, 20, 50 → (7 + 9) / 2 = 8 h
            8 * H,  # 28,800 s
        ],
        # P3 of 6 | P8, P10 of 6 | P13 of 6
        CFR: [1 / 6, 2 / 6, 1 / 6],
        # I1 2 h | only I3, which has no known cause → no data | I5 1 h
        TTR: [2 * H, None, 1 * H],
    },
    "search": {
        # S-1..S-4 | S-5 S-6 S-7 S-8 (no release: prod-search's owner) S-9 | S-10 S-11 S-14
        # S-12 S-13 (00:30 CEST on 31 March, 30 March in UTC)
        DF: [4, 5, 5],
        LT: [
            # 12, 24, 36, 48 → (24 + 36) / 2 = 30 h
            30 * H,  # 108,000 s
            # 3, 5, 7, 9 (S-8: no candidate) → (5 + 7) / 2 = 6 h
            6 * H,  # 21,600 s
            # 1, 2, 4.5 (S-12 across the DST switch), 10, 30 → 4.5 h
            4.5 * H,  # 16,200 s
        ],
        # none of 4 (a true 0) | S-6 of 5 | none of 5
        CFR: [0.0, 1 / 5, 0.0],
        # no incident | I2 6 h | no incident
        TTR: [None, 6 * H, None],
    },
    "ledger": {
        # L-1 L-2 L-3 | none: the API's count is 0 | L-4 L-5 L-6 L-7
        DF: [3, 0, 4],
        LT: [
            # 24, 48, 72 → 48 h
            48 * H,  # 172,800 s
            None,  # no change: no data, not 0
            # 6, 18, 30, 42 → (18 + 30) / 2 = 24 h
            24 * H,  # 86,400 s
        ],
        # L-2 of 3 | no change: no data | L-5 of 4
        CFR: [1 / 3, None, 1 / 4],
        # I6 4 h (its cause named after it was resolved) | none | I4 is still open → no data
        TTR: [4 * H, None, None],
    },
    "checkout": {
        # P6 P1 P3 P4 | P7 P9 P10 P11 | P13 P14 P16 P17
        DF: [4, 4, 4],
        LT: [
            # 2, 3, 26, 49 → (3 + 26) / 2 = 14.5 h
            14.5 * H,  # 52,200 s
            # 1, 4, 6, 30 → (4 + 6) / 2 = 5 h
            5 * H,  # 18,000 s
            # 2, 3, 20, 50 → (3 + 20) / 2 = 11.5 h
            11.5 * H,  # 41,400 s
        ],
        # P3 of 4 | P10 of 4 | P13 of 4
        CFR: [1 / 4, 1 / 4, 1 / 4],
        # I1 2 h | none | I5 1 h
        TTR: [2 * H, None, 1 * H],
    },
    "billing": {
        # P2 P3 P5 | P8 P9 P12b | P12 P14 P15
        DF: [3, 3, 3],
        LT: [
            # 5, 8, 26 → 8 h
            8 * H,  # 28,800 s
            # 10, 30 (P12b unknown) → (10 + 30) / 2 = 20 h
            20 * H,  # 72,000 s
            # 7, 9, 20 → 9 h
            9 * H,  # 32,400 s
        ],
        # P3 of 3 | P8 of 3 (rolled back twice: counted once) | none of 3
        CFR: [1 / 3, 1 / 3, 0.0],
        # billing's only incident, I3, has no known cause
        TTR: [None, None, None],
    },
    "all": {
        # 6 + 4 + 3 | 6 + 5 + 0 | 6 + 5 + 4
        DF: [13, 11, 15],
        LT: [
            # 2, 3, 5, 8, 12, 24, 24, 26, 36, 48, 48, 49, 72 → the 7th of 13 = 24 h
            24 * H,  # 86,400 s
            # 1, 3, 4, 5, 6, 7, 9, 10, 30 → the 5th of 9 = 6 h
            6 * H,  # 21,600 s
            # 1, 2, 2, 3, 4.5, 6, 7, 9, 10, 18, 20, 30, 30, 42, 50 → the 8th of 15 = 9 h
            9 * H,  # 32,400 s
        ],
        # P3, L-2 of 13 | P8, P10, S-6 of 11 | P13, L-5 of 15
        CFR: [2 / 13, 3 / 11, 2 / 15],
        # I1 2 h, I6 4 h → 3 h | I2 6 h (I3: no cause) | I5 1 h (I4 open)
        TTR: [3 * H, 6 * H, 1 * H],
    },
    "outsider": {
        # Payments and Search only: 6 + 4 | 6 + 5 | 6 + 5
        DF: [10, 11, 11],
        LT: [
            # 2, 3, 5, 8, 12, 24, 26, 36, 48, 49 → (12 + 24) / 2 = 18 h
            18 * H,  # 64,800 s
            # as for all: Ledger had none → 6 h
            6 * H,  # 21,600 s
            # 1, 2, 2, 3, 4.5, 7, 9, 10, 20, 30, 50 → the 6th of 11 = 7 h
            7 * H,  # 25,200 s
        ],
        # P3 of 10 | P8, P10, S-6 of 11 | P13 of 11
        CFR: [1 / 10, 3 / 11, 1 / 11],
        # I1 2 h (I6 is Ledger's) | I2 6 h | I5 1 h
        TTR: [2 * H, 6 * H, 1 * H],
    },
}


def _cases(table):
    return [
        pytest.param(scope, metric, values, id=f"{scope}-{metric}")
        for scope, metrics in table.items()
        for metric, values in metrics.items()
    ]


def _user(org, outsider, scope):
    return outsider if scope == "outsider" else org.manager


@pytest.mark.parametrize(("scope", "metric", "values"), _cases(MONTHLY))
def test_monthly_values(api, org, outsider, scope, metric, values):
    answer = get(api, _user(org, outsider, scope), metric, "monthly", **SCOPES[scope])
    assert answer == series(MONTHS, values)


# --- The whole quarter (interval=all) -----------------------------------------------------------

ALL = {
    "payments": {
        DF: 18,  # 6 + 6 + 6
        # 1, 2, 2, 3, 3, 4, 5, 6, 7, 8, 9, 10, 20, 26, 30, 49, 50 → the 9th of 17 = 7 h
        LT: 7 * H,  # 25,200 s
        CFR: 4 / 18,  # P3, P8, P10, P13
        TTR: 1.5 * H,  # I1 2 h, I5 1 h → 1.5 h = 5,400 s
    },
    "search": {
        DF: 14,  # 4 + 5 + 5
        # 1, 2, 3, 4.5, 5, 7, 9, 10, 12, 24, 30, 36, 48 → the 7th of 13 = 9 h
        LT: 9 * H,  # 32,400 s
        CFR: 1 / 14,  # S-6
        TTR: 6 * H,  # I2
    },
    "ledger": {
        DF: 7,  # 3 + 0 + 4
        # 6, 18, 24, 30, 42, 48, 72 → 30 h
        LT: 30 * H,  # 108,000 s
        CFR: 2 / 7,  # L-2, L-5
        TTR: 4 * H,  # I6 (I4 open)
    },
    "checkout": {
        DF: 12,
        # 1, 2, 2, 3, 3, 4, 6, 20, 26, 30, 49, 50 → (4 + 6) / 2 = 5 h
        LT: 5 * H,  # 18,000 s
        CFR: 3 / 12,  # P3, P10, P13
        TTR: 1.5 * H,  # I1 2 h, I5 1 h
    },
    "billing": {
        DF: 9,
        # 5, 7, 8, 9, 10, 20, 26, 30 (P12b unknown) → (9 + 10) / 2 = 9.5 h
        LT: 9.5 * H,  # 34,200 s
        CFR: 2 / 9,  # P3, P8
        TTR: None,  # I3 has no known cause
    },
    "all": {
        DF: 39,  # 18 + 14 + 7
        # 37 known lead times: 1, 1, 2, 2, 2, 3, 3, 3, 4, 4.5, 5, 5, 6, 6, 7, 7, 8, 9, 9, 10,
        # 10, 12, 18, 20, 24, 24, 26, 30, 30, 30, 36, 42, 48, 48, 49, 50, 72 → the 19th = 9 h
        LT: 9 * H,  # 32,400 s
        CFR: 7 / 39,  # P3, P8, P10, P13, S-6, L-2, L-5
        # I5 1, I1 2, I6 4, I2 6 → (2 + 4) / 2 = 3 h
        TTR: 3 * H,  # 10,800 s
    },
    "outsider": {
        DF: 32,  # 18 + 14
        # 30 lead times: 1, 1, 2, 2, 2, 3, 3, 3, 4, 4.5, 5, 5, 6, 7, 7, 8, 9, 9, 10, 10, 12, 20,
        # 24, 26, 30, 30, 36, 48, 49, 50 → (15th 7 + 16th 8) / 2 = 7.5 h
        LT: 7.5 * H,  # 27,000 s
        CFR: 5 / 32,  # P3, P8, P10, P13, S-6
        TTR: 2 * H,  # I5 1, I1 2, I2 6 → 2 h
    },
}


@pytest.mark.parametrize(
    ("scope", "metric", "value"),
    [
        pytest.param(scope, metric, value, id=f"{scope}-{metric}")
        for scope, metrics in ALL.items()
        for metric, value in metrics.items()
    ],
)
def test_quarter_values(api, org, outsider, scope, metric, value):
    answer = get(api, _user(org, outsider, scope), metric, "all", **SCOPES[scope])
    assert answer == series([JANUARY], [value])


# --- Days in Berlin (interval=daily) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "metric", "start", "values"),
    [
        # S-12 on Sunday 29 March (04:30 CEST) and S-13 at 00:30 CEST on 31 March, which is
        # 30 March in UTC: the days are Berlin's.
        pytest.param("search", DF, "2026-03-28", [0, 1, 0, 1], id="search-dst-week-count"),
        # S-12: first commit 23:00 CET on the 28th, finished 04:30 CEST on the 29th: 4.5 h
        # elapsed (16,200 s), not the 5.5 h the wall clocks show. S-13: 10 h.
        pytest.param("search", LT, "2026-03-28", [None, 4.5 * H, None, 10 * H], id="search-dst"),
        # P12 at 23:30 UTC on 28 February is 00:30 CET on 1 March.
        pytest.param("payments", DF, "2026-02-27", [0, 0, 1, 0], id="payments-1-march"),
        # P0 at 23:30 CET on 31 December, P6 at 00:30 CET on 1 January (both 31 December in
        # UTC).
        pytest.param("payments", DF, "2025-12-31", [1, 1], id="payments-new-year"),
    ],
)
def test_daily_values_fall_on_berlin_dates(api, org, scope, metric, start, values):
    answer = get(
        api,
        org.manager,
        metric,
        "daily",
        start_date=start,
        end_date=_plus_days(start, len(values) - 1),
        **SCOPES[scope],
    )
    assert answer == series([_plus_days(start, n) for n in range(len(values))], values)


def _plus_days(day: str, n: int) -> str:
    return date.fromordinal(date.fromisoformat(day).toordinal() + n).isoformat()


# --- The facts: which deployments are changes, and why the failed ones failed -------------------

OK = FailureCause.NONE
# Every production deployment that succeeded and is not a rollback, with its first cause of
# failure. Not changes: Pfail (failed), R8a, R8b, R13 (rollbacks), T1, T2 (staging).
FAILURES = {
    **dict.fromkeys(["P0", "P6", "P1", "P2", "P4", "P5", "P7", "P9", "P11", "P12b"], OK),
    **dict.fromkeys(["P12", "P14", "P15", "P16", "P17", "P18"], OK),
    "P3": FailureCause.INCIDENT,  # I1 names it
    "P8": FailureCause.ROLLED_BACK,  # rolled back twice (R8a failed, R8b succeeded): once
    "P10": FailureCause.HOTFIX,  # P11, a hotfix 90 minutes later
    "P13": FailureCause.INCIDENT,  # I5 names it; it was rolled back too, but incidents come first
    **dict.fromkeys(["S-1", "S-2", "S-3", "S-4", "S-5", "S-7", "S-8", "S-9"], OK),
    **dict.fromkeys(["S-10", "S-11", "S-12", "S-13", "S-14"], OK),
    "S-6": FailureCause.INCIDENT,  # I2 names release S2: its latest change before I2 opened
    **dict.fromkeys(["L-1", "L-3", "L-4", "L-6", "L-7"], OK),
    "L-2": FailureCause.INCIDENT,  # named as I6's cause after I6 was resolved
    "L-5": FailureCause.INCIDENT,  # I4, still open
}


def test_changes_and_their_failures(org):
    key_of = {deployment.pk: key for key, deployment in org.deployments.items()}
    stored = {
        key_of[deployment]: failure
        for deployment, failure in ProductionChange.objects.values_list("deployment", "failure")
    }
    assert stored == FAILURES


def test_the_change_across_the_dst_switch_has_its_true_lead_time(org):
    change = ProductionChange.objects.get(deployment=org.deployments["S-12"])
    # 22:00 UTC on 28 March (23:00 CET) to 02:30 UTC on 29 March (04:30 CEST).
    assert change.lead_time_seconds == 4.5 * H


# --- Summaries: p90, every incident, open incidents, per day, bands ------------------------------
# ``delivery.dora.summary`` over the quarter (90 days: 31 + 28 + 31).
QUARTER = {
    "payments": {
        "deployments": 18,
        "deployment_frequency": 18 / 90,  # 0.2 a day
        "lead_time_median": 7 * H,
        # 17 values (above), p90 at 0.9 × 16 = 14.4: 30 + 0.4 × (49 − 30) = 37.6 h
        "lead_time_p90": 37.6 * H,  # 135,360 s
        "lead_time_known": 17,  # P12b has no candidate
        "failed": 4,
        "change_failure_rate": 4 / 18,
        "time_to_restore_median": 1.5 * H,  # I1 2 h, I5 1 h
        "restored": 2,
        # every incident: I5 1, I1 2, I3 24 → 2 h
        "time_to_restore_all_median": 2 * H,
        "restored_all": 3,
        "open_incidents": 0,
    },
    "search": {
        "deployments": 14,
        "deployment_frequency": 14 / 90,
        "lead_time_median": 9 * H,
        # 13 values, at 0.9 × 12 = 10.8: 30 + 0.8 × (36 − 30) = 34.8 h
        "lead_time_p90": 34.8 * H,  # 125,280 s
        "lead_time_known": 13,  # S-8 has no candidate
        "failed": 1,
        "change_failure_rate": 1 / 14,
        "time_to_restore_median": 6 * H,  # I2
        "restored": 1,
        "time_to_restore_all_median": 6 * H,
        "restored_all": 1,
        "open_incidents": 0,
    },
    "ledger": {
        "deployments": 7,
        "deployment_frequency": 7 / 90,
        "lead_time_median": 30 * H,
        # 6, 18, 24, 30, 42, 48, 72 at 0.9 × 6 = 5.4: 48 + 0.4 × (72 − 48) = 57.6 h
        "lead_time_p90": 57.6 * H,  # 207,360 s
        "lead_time_known": 7,
        "failed": 2,
        "change_failure_rate": 2 / 7,
        "time_to_restore_median": 4 * H,  # I6 (I4 is open)
        "restored": 1,
        "time_to_restore_all_median": 4 * H,
        "restored_all": 1,
        "open_incidents": 1,  # I4, opened 9 March, never resolved
    },
    "checkout": {
        "deployments": 12,
        "deployment_frequency": 12 / 90,
        "lead_time_median": 5 * H,
        # 1, 2, 2, 3, 3, 4, 6, 20, 26, 30, 49, 50 at 0.9 × 11 = 9.9: 30 + 0.9 × 19 = 47.1 h
        "lead_time_p90": 47.1 * H,  # 169,560 s
        "lead_time_known": 12,
        "failed": 3,
        "change_failure_rate": 3 / 12,
        "time_to_restore_median": 1.5 * H,  # I1 and I5 name checkout
        "restored": 2,
        "time_to_restore_all_median": 1.5 * H,
        "restored_all": 2,
        "open_incidents": 0,
    },
    "billing": {
        "deployments": 9,
        "deployment_frequency": 9 / 90,
        "lead_time_median": 9.5 * H,
        # 5, 7, 8, 9, 10, 20, 26, 30 at 0.9 × 7 = 6.3: 26 + 0.3 × (30 − 26) = 27.2 h
        "lead_time_p90": 27.2 * H,  # 97,920 s
        "lead_time_known": 8,
        "failed": 2,
        "change_failure_rate": 2 / 9,
        "time_to_restore_median": None,  # I3 has no known cause
        "restored": 0,
        "time_to_restore_all_median": 24 * H,  # but it counts among every incident
        "restored_all": 1,
        "open_incidents": 0,
    },
    "all": {
        "deployments": 39,
        "deployment_frequency": 39 / 90,
        "lead_time_median": 9 * H,
        # 37 values at 0.9 × 36 = 32.4: the 33rd and 34th are both 48 h
        "lead_time_p90": 48 * H,  # 172,800 s
        "lead_time_known": 37,
        "failed": 7,
        "change_failure_rate": 7 / 39,
        "time_to_restore_median": 3 * H,
        "restored": 4,
        # I5 1, I1 2, I6 4, I2 6, I3 24 → 4 h
        "time_to_restore_all_median": 4 * H,  # 14,400 s
        "restored_all": 5,
        "open_incidents": 1,  # I4
    },
    "outsider": {
        "deployments": 32,
        "deployment_frequency": 32 / 90,
        "lead_time_median": 7.5 * H,
        # 30 values at 0.9 × 29 = 26.1: 36 + 0.1 × (48 − 36) = 37.2 h
        "lead_time_p90": 37.2 * H,  # 133,920 s
        "lead_time_known": 30,
        "failed": 5,
        "change_failure_rate": 5 / 32,
        "time_to_restore_median": 2 * H,
        "restored": 3,
        # I5 1, I1 2, I2 6, I3 24 → (2 + 6) / 2 = 4 h
        "time_to_restore_all_median": 4 * H,
        "restored_all": 4,
        "open_incidents": 0,  # I4 is Ledger's: not counted, not named
    },
}


def _summary(org, outsider, scope, start="2026-01-01", end="2026-03-31"):
    return dora.summary(
        start=date.fromisoformat(start),
        end=date.fromisoformat(end),
        user=_user(org, outsider, scope),
        **SCOPES[scope],
    )


def _approx(values):
    if isinstance(values, dict):
        return {k: pytest.approx(v) if isinstance(v, float) else v for k, v in values.items()}
    return [pytest.approx(v) if isinstance(v, float) else v for v in values]


@pytest.mark.parametrize(("scope", "figures"), list(QUARTER.items()), ids=list(QUARTER))
def test_quarter_summary(org, outsider, scope, figures):
    result = _summary(org, outsider, scope)
    assert {name: getattr(result, name) for name in figures} == _approx(figures)


# Bands (delivery.bands: the 2021 State of DevOps report; deployment frequency by the Four Keys
# rule over the ISO weeks of the quarter: 14 weeks, from the partial week of Monday
# 29 December (1-4 January) to the partial week of Monday 30 March (30-31 March)).
E, HI, M, NO = Band.ELITE, Band.HIGH, Band.MEDIUM, Band.NO_DATA
QUARTER_BANDS = {
    # Payments deploys on 1 day in 10 weeks, 2 in 3 weeks, none in the week of 30 March:
    # median 1 day a week (< 3, not daily), median week deployed 1 → weekly: high.
    # Lead 7 h ≤ a week: high; 22 % in 16-30 %: high; restore 1.5 h < a day: high.
    "payments": {DF: HI, LT: HI, CFR: HI, TTR: HI},
    # Search: no deployment in the weeks of 29 December and 23 February, one day in 10 weeks,
    # two in 2 → median 1 day, median week deployed → high. 7 % ≤ 15 %: elite.
    "search": {DF: HI, LT: HI, CFR: E, TTR: HI},
    # Ledger deploys in 7 of 14 weeks (Jan 5-19, Mar 2-23): the median of 0 and 1 is 0.5 < 1,
    # not weekly; weeks with a deployment in the week's month: Dec 0 (1 week), Jan 3 (4 weeks),
    # Feb 0 (4), Mar 4 (5) → 0,0,0,0,0,3,3,3,3,4,4,4,4,4: median 3 ≥ 1 → monthly: medium.
    # 2 / 7 = 29 % ≤ 30 %: high.
    "ledger": {DF: M, LT: HI, CFR: HI, TTR: HI},
    # Everyone: deployment days per week 1, 4, 3, 3, 2, 2, 3, 4, 2, 3, 3, 3, 3, 1 → sorted
    # 1, 1, 2, 2, 2, 3, 3, 3, ... → median (3 + 3) / 2 = 3 → daily: elite. 18 %: high.
    "all": {DF: E, LT: HI, CFR: HI, TTR: HI},
    # Without Ledger: 1, 3, 2, 2, 2, 2, 3, 4, 2, 2, 2, 2, 2, 1 → median 2: not daily; every
    # week deployed: weekly, high. 15.6 % > 15 %: high.
    "outsider": {DF: HI, LT: HI, CFR: HI, TTR: HI},
    # Billing deploys in 8 of 14 weeks → the 7th and 8th sorted are 1: weekly. No incident
    # caused by a change: no data.
    "billing": {DF: HI, LT: HI, CFR: HI, TTR: NO},
}


@pytest.mark.parametrize(
    ("scope", "expected"), list(QUARTER_BANDS.items()), ids=list(QUARTER_BANDS)
)
def test_quarter_bands(org, outsider, scope, expected):
    assert _summary(org, outsider, scope).bands == expected


# Per month: the p90 of lead time, the time to restore over every incident, and the incidents
# open at the month's end (the median lead time, the rate and the caused restore time are the
# API's monthly values above). [January, February, March]
MONTHLY_SUMMARY = {
    "payments": {
        # 2, 3, 5, 8, 26, 49 at 4.5: 26 + 0.5 × 23 = 37.5 h | 1, 4, 6, 10, 30 at 3.6:
        # 10 + 0.6 × 20 = 22 h | 2, 3, 7, 9, 20, 50 at 4.5: 20 + 0.5 × 30 = 35 h
        "lead_time_p90": [37.5 * H, 22 * H, 35 * H],  # 135,000 / 79,200 / 126,000 s
        # I1 2 h | I3 24 h (no cause, still an incident) | I5 1 h
        "time_to_restore_all_median": [2 * H, 24 * H, 1 * H],
        "open_incidents": [0, 0, 0],
    },
    "search": {
        # 12, 24, 36, 48 at 2.7: 36 + 0.7 × 12 = 44.4 h | 3, 5, 7, 9 at 2.7: 7 + 0.7 × 2 =
        # 8.4 h | 1, 2, 4.5, 10, 30 at 3.6: 10 + 0.6 × 20 = 22 h
        "lead_time_p90": [44.4 * H, 8.4 * H, 22 * H],  # 159,840 / 30,240 / 79,200 s
        "time_to_restore_all_median": [None, 6 * H, None],
        "open_incidents": [0, 0, 0],
    },
    "ledger": {
        # 24, 48, 72 at 1.8: 48 + 0.8 × 24 = 67.2 h | none | 6, 18, 30, 42 at 2.7:
        # 30 + 0.7 × 12 = 38.4 h
        "lead_time_p90": [67.2 * H, None, 38.4 * H],  # 241,920 / - / 138,240 s
        "time_to_restore_all_median": [4 * H, None, None],
        "open_incidents": [0, 0, 1],  # I4 at the end of March
    },
    "all": {
        # 13 values at 10.8: 48 + 0.8 × (49 − 48) = 48.8 h | 9 values at 7.2: 10 + 0.2 × 20 =
        # 14 h | 15 values at 12.6: 30 + 0.6 × (42 − 30) = 37.2 h
        "lead_time_p90": [48.8 * H, 14 * H, 37.2 * H],  # 175,680 / 50,400 / 133,920 s
        # I1 2, I6 4 → 3 h | I2 6, I3 24 → 15 h | I5 1 h
        "time_to_restore_all_median": [3 * H, 15 * H, 1 * H],
        "open_incidents": [0, 0, 1],
    },
    "outsider": {
        # 10 values at 8.1: 48 + 0.1 × (49 − 48) = 48.1 h | 14 h | 11 values at 9: 30 h
        "lead_time_p90": [48.1 * H, 14 * H, 30 * H],  # 173,160 / 50,400 / 108,000 s
        "time_to_restore_all_median": [2 * H, 15 * H, 1 * H],
        "open_incidents": [0, 0, 0],
    },
}
MONTH_ENDS = (
    ("2026-01-01", "2026-01-31"),
    ("2026-02-01", "2026-02-28"),
    ("2026-03-01", "2026-03-31"),
)


@pytest.mark.parametrize(
    ("scope", "figure", "values"),
    [
        pytest.param(scope, figure, values, id=f"{scope}-{figure}")
        for scope, figures in MONTHLY_SUMMARY.items()
        for figure, values in figures.items()
    ],
)
def test_monthly_summary(org, outsider, scope, figure, values):
    got = [getattr(_summary(org, outsider, scope, *month), figure) for month in MONTH_ENDS]
    assert got == _approx(values)


# --- Edge cases ---------------------------------------------------------------------------------


def test_a_team_without_deployments_in_a_month_has_no_data(org):
    february = _summary(org, None, "ledger", "2026-02-01", "2026-02-28")
    assert (february.deployments, february.deployment_frequency) == (0, None)
    assert (february.lead_time_median, february.change_failure_rate) == (None, None)
    assert february.bands == {DF: NO, LT: NO, CFR: NO, TTR: NO}


def test_an_incident_without_a_known_cause_counts_only_among_every_incident(org):
    february = _summary(org, None, "billing", "2026-02-01", "2026-02-28")
    # I3 (24 h, billing, no cause): out of the change-caused restore time, in the other.
    assert (february.time_to_restore_median, february.restored) == (None, 0)
    assert (february.time_to_restore_all_median, february.restored_all) == (24 * H, 1)


def test_an_incident_resolved_after_the_period_is_open_at_its_end(org):
    # 1 January to 14 February: I3 opened at 10:00 CET on the 14th and was resolved on the 15th.
    result = _summary(org, None, "payments", "2026-01-01", "2026-02-14")
    assert result.open_incidents == 1
    # Changes: January's 6 and P7, P8 → 8 over 31 + 14 = 45 days; lead times 2, 3, 4, 5, 8,
    # 10, 26, 49 → (5 + 8) / 2 = 6.5 h, p90 at 6.3: 26 + 0.3 × 23 = 32.9 h; failed P3, P8.
    # Restored: only I1 (2 h), caused and overall.
    figures = {
        "deployments": 8,
        "deployment_frequency": 8 / 45,
        "lead_time_median": 6.5 * H,
        "lead_time_p90": 32.9 * H,
        "failed": 2,
        "change_failure_rate": 2 / 8,
        "time_to_restore_median": 2 * H,
        "time_to_restore_all_median": 2 * H,
    }
    assert {name: getattr(result, name) for name in figures} == _approx(figures)


def test_a_restore_time_of_exactly_one_hour_is_not_elite(org):
    march = _summary(org, None, "payments", "2026-03-01", "2026-03-31")
    # I5: 1 h, and elite is "less than one hour". 1 / 6 = 17 %: high. Payments deploys on
    # 1, 4, 11, 18 and 25 March: every week but the 30-31 March one → weekly: high.
    assert march.time_to_restore_median == 1 * H
    assert march.bands == {DF: HI, LT: HI, CFR: HI, TTR: HI}


def test_a_deployment_rolled_back_twice_is_one_failed_change(api, org):
    p8 = org.deployments["P8"]
    assert p8.rollbacks.count() == 2  # R8a failed, R8b succeeded
    assert ProductionChange.objects.filter(deployment=p8).count() == 1
    # Billing in February: P8 (failed), P9, P12b → 1 / 3, not 2 / 4.
    february = {"start_date": "2026-02-01", "end_date": "2026-02-28", "service": "billing"}
    assert get(api, org.manager, CFR, "all", **february) == series([FEBRUARY], [1 / 3])


def test_an_open_incident_is_left_out_of_restore_times_and_counted_open(org):
    march = _summary(org, None, "ledger", "2026-03-01", "2026-03-31")
    # I4 (caused by L-5) opened on 9 March and is still open: no restore time of either kind.
    assert (march.restored, march.restored_all, march.open_incidents) == (0, 0, 1)
    assert (march.time_to_restore_median, march.time_to_restore_all_median) == (None, None)
    # But it still fails L-5: 1 of March's 4 changes.
    assert march.change_failure_rate == 1 / 4


def _refusal(api, user, team: str) -> tuple[int, str]:
    response = api.as_user(user).get(URL, {"metric": DF, "interval": "all", **Q1, "team": team})
    return response.status_code, response.json()["team"][0].replace(team, "<slug>")


def test_the_private_team_is_answered_to_the_outsider_like_an_unknown_one(api, org, outsider):
    assert _refusal(api, outsider, "ledger") == _refusal(api, outsider, "no-such-team")
    assert _refusal(api, outsider, "ledger")[0] == 400
