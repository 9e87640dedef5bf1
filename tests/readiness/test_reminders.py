"""Readiness reminders: a required check failed on the current candidate, and a release still
NO-GO a day before its go/no-go; to the release manager and the team's webhooks, once."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.reminders import readiness as approval_reminders
from releases import services
from reminders import delivery, preferences, webhooks
from reminders import scan as scanning
from reminders.models import Channel, Delivery, DeliveryState
from tests.reminders import conftest as reminder_fixtures
from tests.reminders.test_channels import Receiver

CHECK_FAILED = approval_reminders.CHECK_FAILED
NO_GO = approval_reminders.RELEASE_NO_GO
DAYS = timedelta(days=1)
MIN = timedelta(minutes=1)
WINDOW = timedelta(hours=6)
RUN = "https://ci.example.com/run/7"

# Celery in eager mode and the scan helper, as in tests/reminders.
eager = reminder_fixtures.eager
scan = reminder_fixtures.scan


def found(rule, now=None) -> list[tuple[str, int, list[str]]]:
    now = now or timezone.now()
    return [
        (r.kind, r.obj.pk, sorted(u.username for u in r.recipients))
        for r in rule(now, now - WINDOW)
    ]


def subjects(to: str) -> list[str]:
    return [m.subject for m in mail.outbox if m.to == [to]]


@pytest.fixture
def receiver(settings):
    settings.RELCAL_WEBHOOK_ALLOW_PRIVATE = True  # the receiver listens on 127.0.0.1
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def hook(admin, payments, receiver):
    """A signed JSON webhook of Payments for the readiness kinds."""
    return webhooks.webhook_create(
        actor=admin,
        team=payments,
        name="#payments-releases",
        url=receiver.url,
        format="json",
        kinds=[CHECK_FAILED, NO_GO],
    )


@pytest.fixture
def planned_release(make_release, manager):
    """``planned_release()``: a Payments release on its way to go live (planned)."""

    def make():
        release = make_release()
        services.release_transition(actor=manager, release=release, to_state="planned")
        return release

    return make


@pytest.fixture
def failing(planned_release, policy, candidate, check):
    """``failing()``: a planned Payments release whose current candidate failed
    integration-tests, a check its gate policy requires; returns the report."""

    def make(release=None, **fields):
        build = candidate(release or planned_release())
        fields.setdefault("url", RUN)
        fields.setdefault("summary", "12 tests: 2 failed, 0 errors, 0 skipped")
        return check(build, "integration-tests", "failed", **fields)

    return make


@pytest.fixture
def go_no_go(manager):
    """``go_no_go(release, in_=1 day less a minute)``: its go/no-go milestone, on the minute."""

    def make(release, in_: timedelta = DAYS - MIN):
        at = (timezone.now() + in_).replace(second=0, microsecond=0)
        return services.milestone_create(actor=manager, release=release, kind="go_no_go", at=at)

    return make


# --- A required check failed ---------------------------------------------------------------------


def test_a_failed_required_check_is_found_for_the_release_manager(failing, manager):
    report = failing()
    assert found(approval_reminders.failed_checks) == [(CHECK_FAILED, report.pk, ["manager"])]


def test_a_failed_required_check_is_emailed_once_naming_check_build_and_run(scan, failing, manager):
    report = failing()
    scan()
    scan()  # a repeated scan sends nothing twice
    version = report.candidate.version
    [email] = [m for m in mail.outbox if m.to == ["manager@example.com"]]
    assert (
        email.subject
        == f"[Relcal] integration-tests failed on {version} ({report.candidate.release.name})"
    )
    assert f"integration-tests failed on {version}" in email.body
    assert "12 tests: 2 failed" in email.body
    assert RUN in email.body


def test_the_team_webhook_payload_names_the_check_and_links_to_its_run(
    scan,
    failing,
    hook,
    receiver,
):
    report = failing()
    scan()
    [request] = receiver.requests
    payload = json.loads(request["body"])
    assert request["headers"]["X-Relcal-Event"] == CHECK_FAILED
    assert payload["object"] == {"type": "approvals.checkreport", "id": report.pk}
    assert payload["team"] == "payments"
    assert payload["subject"].startswith(f"integration-tests failed on {report.candidate.version}")
    assert payload["lines"][0].startswith("integration-tests failed on")
    assert payload["url"] == RUN
    assert payload["action"] == "Open the check run"


def test_without_a_run_url_the_message_links_to_the_release(failing, manager):
    report = failing(url="")
    kind = approval_reminders
    message = kind._check_message(report, Delivery(kind=CHECK_FAILED, due=report.reported_at))
    release = report.candidate.release
    assert message.link == f"/releases/{release.pk}/#readiness"
    assert message.action == "Open the release"


def test_a_check_the_policy_does_not_require_is_not_announced(
    planned_release, policy, candidate, check
):
    check(candidate(planned_release()), "lint", "failed")
    assert found(approval_reminders.failed_checks) == []


def test_a_passed_check_is_not_announced(planned_release, policy, candidate, check):
    check(candidate(planned_release()), "integration-tests", "passed")


def test_a_failure_on_a_draft_release_is_not_announced(failing, make_release):
    failing(make_release())  # not on its way to go live yet, as on the go/no-go board
    assert found(approval_reminders.failed_checks) == []
    assert found(approval_reminders.failed_checks) == []


def test_a_failure_already_run_again_is_not_announced(failing, check):
    report = failing()
    check(report.candidate, "integration-tests", "passed")
    assert found(approval_reminders.failed_checks) == []


def test_a_failure_on_a_superseded_candidate_is_not_announced(failing, candidate):
    report = failing()
    candidate(report.candidate.release)
    assert found(approval_reminders.failed_checks) == []


def test_a_muted_manager_gets_no_email_but_the_team_webhook_still_hears(
    scan,
    failing,
    manager,
    hook,
    receiver,
):
    preferences.set_mode(manager, CHECK_FAILED, "muted")
    failing()
    scan()
    assert subjects("manager@example.com") == []
    assert not Delivery.objects.filter(recipient=manager).exists()
    assert [r["headers"]["X-Relcal-Event"] for r in receiver.requests] == [CHECK_FAILED]


def test_a_failure_run_again_before_the_reminder_goes_out_is_skipped(failing, check, manager):
    report = failing()
    now = timezone.now()
    scanning.collect(now)
    row = Delivery.objects.get(kind=CHECK_FAILED, recipient=manager)
    check(report.candidate, "integration-tests", "passed")
    assert delivery.deliver(row.pk, now=now) == DeliveryState.SKIPPED
    row.refresh_from_db()
    assert row.last_error == "No longer applies."


def test_a_failure_superseded_by_a_new_build_before_the_reminder_goes_out_is_skipped(
    failing, candidate, manager
):
    report = failing()
    now = timezone.now()
    scanning.collect(now)
    row = Delivery.objects.get(kind=CHECK_FAILED, recipient=manager)
    candidate(report.candidate.release)
    assert delivery.deliver(row.pk, now=now) == DeliveryState.SKIPPED


def test_the_failed_check_rule_costs_the_same_queries_for_one_or_many_reports(failing):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            found(approval_reminders.failed_checks)
        return len(queries)

    failing()
    one = count()
    for _ in range(4):
        failing()
    assert len(found(approval_reminders.failed_checks)) == 5
    assert count() == one


def test_the_failed_check_rule_reads_a_time_range_through_its_index(db):
    if connection.vendor == "postgresql":
        # An empty table is read whole unless told otherwise; the plan is what matters.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
    now = timezone.now()
    query = approval_reminders.CheckReport.objects.filter(
        reported_at__gt=now - WINDOW, reported_at__lte=now, status="failed"
    )
    assert "check_report_time" in query.explain()


# --- Still NO-GO a day before the go/no-go -------------------------------------------------------


def test_a_release_still_no_go_a_day_before_its_go_no_go_is_found_once(failing, go_no_go, manager):
    report = failing()
    release = report.candidate.release
    gate = go_no_go(release)
    due = gate.at - DAYS
    rule = approval_reminders.no_go_releases
    assert [r.due for r in rule(due, due - WINDOW)] == [due]
    assert list(rule(due - MIN, due - WINDOW)) == []  # not yet
    assert found(rule) == [(NO_GO, release.pk, ["manager"])]


def test_the_no_go_reminder_lists_what_blocks_and_is_sent_once(
    scan,
    failing,
    go_no_go,
    manager,
    hook,
    receiver,
):
    report = failing()
    release = report.candidate.release
    go_no_go(release)
    scan()
    scan()
    [email] = [m for m in mail.outbox if "NO-GO" in m.subject]
    assert email.to == ["manager@example.com"]
    assert email.subject.startswith(f"[Relcal] {release.name} is NO-GO a day before its go/no-go")
    assert (
        f"- Required checks (failed): integration-tests failed on {report.candidate.version}"
        in email.body
    )
    assert f"/releases/{release.pk}/#readiness" in email.body
    payloads = [json.loads(r["body"]) for r in receiver.requests]
    [no_go] = [p for p in payloads if p["kind"] == NO_GO]
    assert no_go["object"] == {"type": "releases.release", "id": release.pk}
    assert any("integration-tests failed" in line for line in no_go["lines"])


def test_an_all_day_go_no_go_counts_from_the_start_of_its_day(failing, manager):
    release = failing().candidate.release
    day = (timezone.now() + 10 * DAYS).date()
    services.milestone_create(actor=manager, release=release, kind="go_no_go", date=day)
    due = timezone.make_aware(datetime.combine(day, time.min)) - DAYS
    rule = approval_reminders.no_go_releases
    assert [r.due for r in rule(due, due - WINDOW)] == [due]
    assert list(rule(due - MIN, due - WINDOW)) == []


def test_a_release_that_is_not_no_go_is_not_reminded(planned_release, policy, go_no_go):
    go_no_go(planned_release())  # no candidate yet: PENDING, not NO-GO
    assert found(approval_reminders.no_go_releases) == []


def test_a_go_no_go_held_already_is_not_reminded(failing, go_no_go, manager):
    gate = go_no_go(failing().candidate.release)
    services.milestone_update(actor=manager, milestone=gate, done=True)
    assert found(approval_reminders.no_go_releases) == []


def test_a_muted_manager_gets_no_no_go_email(scan, failing, go_no_go, manager):
    preferences.set_mode(manager, NO_GO, "muted")
    go_no_go(failing().candidate.release)
    scan()
    assert [s for s in subjects("manager@example.com") if "NO-GO" in s] == []
    assert not Delivery.objects.filter(kind=NO_GO, recipient=manager).exists()


def test_a_release_fixed_before_the_reminder_goes_out_is_skipped(failing, go_no_go, check, manager):
    report = failing()
    go_no_go(report.candidate.release)
    now = timezone.now()
    scanning.collect(now)
    row = Delivery.objects.get(kind=NO_GO, recipient=manager)
    check(report.candidate, "integration-tests", "passed")  # now PENDING: unit-tests missing
    assert delivery.deliver(row.pk, now=now) == DeliveryState.SKIPPED
    row.refresh_from_db()
    assert row.last_error == "No longer applies."


def test_a_moved_go_no_go_skips_the_reminder_found_for_its_old_time(failing, go_no_go, manager):
    gate = go_no_go(failing().candidate.release)
    now = timezone.now()
    scanning.collect(now)
    row = Delivery.objects.get(kind=NO_GO, recipient=manager, channel=Channel.EMAIL)
    services.milestone_update(actor=manager, milestone=gate, at=gate.at + 2 * DAYS)
    assert delivery.deliver(row.pk, now=now) == DeliveryState.SKIPPED


def test_the_no_go_rule_costs_the_same_queries_for_one_or_many_releases(failing, go_no_go):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            found(approval_reminders.no_go_releases)
        return len(queries)

    go_no_go(failing().candidate.release)
    one = count()
    for _ in range(4):
        go_no_go(failing().candidate.release)
    assert len(found(approval_reminders.no_go_releases)) == 5
    assert count() == one
