"""Readiness in the release evidence: every build (release candidate), its check reports and
waivers on the printable page and in the JSON and CSV downloads; auditors only, as the rest of
the evidence."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals.readiness import services as readiness
from tests.approvals import conftest as approval_fixtures
from tests.conftest import PASSWORD

RUN = "https://ci.example.com/run/7"
FLAKE = "Known flake in the sandbox, tracked in PAY-9."
# The auditor persona of tests/approvals.
quinn = approval_fixtures.quinn

EVIDENCE = ("approvals:evidence", "approvals:evidence-json", "approvals:evidence-csv")


@pytest.fixture
def built(ready, candidate, check, carol):
    """A GO release whose first build (rc.1) was superseded by rc.2, on which integration-tests
    failed and the change advisory board waived the required checks."""
    release = ready()
    second = candidate(release, version=f"{release.version}-rc.2")
    check(second, "unit-tests", summary="120 tests: 0 failed")
    check(second, "integration-tests", "failed", url=RUN, summary="12 tests: 2 failed")
    readiness.waiver_record(
        actor=carol, candidate=second, gate="checks", reason=FLAKE, password=PASSWORD
    )
    return release


def get(client, user, name: str, release):
    client.force_login(user)
    response = client.get(reverse(name, args=[release.pk]))
    assert response.status_code == 200
    return response


def csv_rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_evidence_page_lists_builds_checks_and_waivers(client, quinn, built):
    text = get(client, quinn, "approvals:evidence", built).content.decode()
    first, second = built.candidates.order_by("id")
    for build in (first, second):
        assert build.version in text
        assert build.commit_sha in text
        assert build.artifact_digest in text
    assert "superseded" in text and "<strong>current</strong>" in text
    assert "integration-tests" in text and "<strong>Failed</strong>" in text
    assert "12 tests: 2 failed" in text
    assert f'href="{RUN}"' in text
    assert FLAKE in text and "Carol Cab" in text and "Required checks" in text


def test_the_json_download_carries_each_build_with_its_checks_and_waivers(
    client,
    quinn,
    built,
    alice,
):
    data = json.loads(get(client, quinn, "approvals:evidence-json", built).content)
    first, second = data["candidates"]
    assert [first["current"], second["current"]] == [False, True]
    assert second["candidate"] == f"{built.version}-rc.2"
    assert second["artifact_digest"].startswith("sha256:")
    assert second["reported_by"] == "Alice" and second["reported_by_id"] == alice.pk
    assert second["reported_at"].endswith("Z")
    failed = second["checks"][-1]
    assert {k: failed[k] for k in ("check", "status", "summary", "url")} == {
        "check": "integration-tests",
        "status": "failed",
        "summary": "12 tests: 2 failed",
        "url": RUN,
    }
    assert [c["check"] for c in first["checks"]] == ["unit-tests", "integration-tests"]
    [waiver] = second["waivers"]
    assert waiver["gate"] == "checks" and waiver["reason"] == FLAKE
    assert waiver["signer_name"] == "Carol Cab" and waiver["signed_at"].endswith("Z")
    assert first["waivers"] == []


def test_the_csv_download_has_a_row_per_build_check_and_waiver(client, quinn, built):
    response = get(client, quinn, "approvals:evidence-csv", built)
    header = next(csv.reader(io.StringIO(response.content.decode())))
    assert len(header) == len(set(header))  # each column once
    rows = csv_rows(response)
    by_record = {}
    for row in rows:
        by_record.setdefault(row["record"], []).append(row)
    assert [r["current"] for r in by_record["candidate"]] == ["False", "True"]
    assert len(by_record["check"]) == 4
    failed = by_record["check"][-1]
    assert (failed["candidate"], failed["check"], failed["status"], failed["url"]) == (
        f"{built.version}-rc.2",
        "integration-tests",
        "failed",
        RUN,
    )
    [waiver] = by_record["waiver"]
    assert (waiver["gate"], waiver["reason"], waiver["signer_name"]) == (
        "checks",
        FLAKE,
        "Carol Cab",
    )
    # The records there were before keep their columns.
    assert len(by_record["signoff"]) == 3
    assert all(len(r["hash"]) == 64 for r in by_record["event"])


def test_csv_cells_that_a_spreadsheet_would_run_are_written_as_text(
    client,
    quinn,
    ready,
    check,
):
    release = ready()
    build = release.candidates.get()
    formula = '=HYPERLINK("https://evil.example.com","details")'
    check(build, "lint", "failed", summary=formula)
    rows = csv_rows(get(client, quinn, "approvals:evidence-csv", release))
    [lint] = [r for r in rows if r["record"] == "check" and r["check"] == "lint"]
    assert lint["summary"] == f"'{formula}"
    data = json.loads(get(client, quinn, "approvals:evidence-json", release).content)
    assert data["candidates"][0]["checks"][-1]["summary"] == formula  # JSON: verbatim


@pytest.mark.parametrize("name", EVIDENCE)
@pytest.mark.parametrize("persona", ["outsider", "alice", "carol"])
def test_outsiders_the_team_and_the_board_are_refused_build_evidence(
    client, built, request, persona, name
):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse(name, args=[built.pk])).status_code == 403


def test_release_managers_see_build_evidence(client, manager, built):
    rows = csv_rows(get(client, manager, "approvals:evidence-csv", built))
    assert {"candidate", "check", "waiver"} <= {r["record"] for r in rows}


def test_the_evidence_page_costs_the_same_queries_for_one_and_many_builds(
    client,
    quinn,
    ready,
    candidate,
    green,
):
    release = ready()
    client.force_login(quinn)
    url = reverse("approvals:evidence", args=[release.pk])

    def count() -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    one = count()
    for _ in range(4):
        green(candidate(release))
    assert count() == one
