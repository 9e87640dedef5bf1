"""JUnit XML and SARIF uploads: counted by well-kept parsers, hostile files refused."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from approvals.models import CheckReport
from approvals.readiness import reports

JUNIT = b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="api" tests="3">
    <testcase name="lists releases"/>
    <testcase name="books staging"><failure message="409 expected">200</failure></testcase>
    <testcase name="slow one"><skipped/></testcase>
  </testsuite>
  <testsuite name="pages">
    <testcase name="home"/>
    <testcase name="board"><error message="boom"/></testcase>
  </testsuite>
</testsuites>
"""

SARIF = {
    "version": "2.1.0",
    "runs": [
        {
            "tool": {"driver": {"name": "semgrep"}},
            "results": [
                {"level": "error", "message": {"text": "SQL injection"}},
                {"level": "warning", "message": {"text": "weak hash"}},
                {"message": {"text": "no level: a warning"}},
                {"level": "note", "message": {"text": "style"}},
            ],
        }
    ],
}


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def post_file(api, user, candidate, kind, content, name="tests"):
    return api.as_user(user).post(
        f"/api/v1/candidates/{candidate.pk}/checks/",
        {"name": name, kind: upload(f"report.{kind}", content)},
        format="multipart",
    )


def test_a_junit_upload_gives_the_status_and_the_counts(api, alice, make_release, candidate):
    response = post_file(api, alice, candidate(make_release()), "junit", JUNIT)
    assert response.status_code == 201, response.json()
    report = CheckReport.objects.get()
    assert (report.status, report.source) == ("failed", "junit")
    assert report.details == {"junit": {"tests": 5, "failures": 1, "errors": 1, "skipped": 1}}
    assert report.summary == "5 tests: 1 failed, 1 errors, 1 skipped"


def test_a_junit_file_of_one_suite_that_passed(api, alice, make_release, candidate):
    suite = b'<testsuite name="unit"><testcase name="a"/><testcase name="b"/></testsuite>'
    response = post_file(api, alice, candidate(make_release()), "junit", suite)
    assert response.status_code == 201
    assert response.json()["status"] == "passed"
    assert response.json()["details"] == {
        "junit": {"tests": 2, "failures": 0, "errors": 0, "skipped": 0}
    }


def test_a_sarif_upload_counts_results_by_level(api, alice, make_release, candidate):
    content = json.dumps(SARIF).encode()
    response = post_file(api, alice, candidate(make_release()), "sarif", content, "security-scan")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["summary"]) == ("failed", "1 error, 2 warning, 1 note")
    assert body["details"] == {"sarif": {"error": 1, "warning": 2, "note": 1, "none": 0}}


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<testsuite name="&lol3;"><testcase name="x"/></testsuite>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE t [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<testsuite name="&secret;"><testcase name="x"/></testsuite>
"""


@pytest.mark.parametrize(
    ("kind", "content", "message"),
    [
        pytest.param("junit", BILLION_LAUGHS, "DTD or entities", id="junit-entity-expansion"),
        pytest.param("junit", EXTERNAL_ENTITY, "DTD or entities", id="junit-external-entity"),
        pytest.param("junit", b"<testsuite><testcase", "Not valid JUnit XML", id="junit-broken"),
        pytest.param("junit", b"<html><body/></html>", "Not JUnit XML", id="junit-wrong-root"),
        pytest.param("junit", b"   ", "empty", id="junit-empty"),
        pytest.param("sarif", b"{not json", "Not valid JSON", id="sarif-broken"),
        pytest.param("sarif", b"[1, 2]", 'no "runs" list', id="sarif-not-an-object"),
        pytest.param(
            "sarif",
            json.dumps({"runs": [{"results": [{"level": "fatal"}]}]}).encode(),
            "unknown level",
            id="sarif-unknown-level",
        ),
        pytest.param(
            "sarif", b"[" * 5_000 + b"]" * 5_000, "Not valid JSON", id="sarif-deeply-nested"
        ),
    ],
)
def test_hostile_or_malformed_files_are_refused(
    api, alice, make_release, candidate, kind, content, message
):
    response = post_file(api, alice, candidate(make_release()), kind, content)
    assert response.status_code == 400, response.content
    assert message in response.json()[kind][0]
    assert CheckReport.objects.count() == 0


def test_an_oversized_file_is_refused(api, alice, make_release, candidate, monkeypatch):
    monkeypatch.setattr(reports, "MAX_REPORT_BYTES", 1_000)
    response = post_file(api, alice, candidate(make_release()), "junit", b"<a/>" * 300)
    assert response.status_code == 400
    assert response.json()["junit"] == ["The file is larger than the 1,000 bytes limit."]
    assert CheckReport.objects.count() == 0


def test_one_file_at_a_time(api, alice, make_release, candidate):
    build = candidate(make_release())
    response = api.as_user(alice).post(
        f"/api/v1/candidates/{build.pk}/checks/",
        {"name": "x", "junit": upload("a.xml", JUNIT), "sarif": upload("b.sarif", b"{}")},
        format="multipart",
    )
    assert response.status_code == 400
    assert "sarif" in response.json()
