"""JSON nested deeper than Python's parser goes is a 400 naming the problem, on every JSON
endpoint and in JSON form fields, never a 500 (a 2 KB body of 1,000 nested arrays)."""

from __future__ import annotations

import pytest

from approvals.readiness import services as readiness
from calendars.models import FeedToken
from releases.models import Release

DEEP = "[" * 1000 + "]" * 1000


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("/api/v1/releases/", id="releases"),
        pytest.param("/api/v1/feed-tokens/", id="feed-tokens"),
        pytest.param("/api/v1/bookings/", id="bookings"),
        pytest.param("/api/v1/signoffs/", id="signoffs"),
        pytest.param("/api/v1/deploy-checks/", id="deploy-checks"),
    ],
)
def test_a_deeply_nested_body_is_a_400(api, admin, url):
    response = api.as_user(admin).post(url, DEEP, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"] == "JSON parse error - the document is nested too deeply."
    assert (Release.objects.count(), FeedToken.objects.count()) == (0, 0)


def test_a_deeply_nested_json_form_field_is_a_400(api, alice, make_release):
    build = readiness.candidate_report(
        actor=alice,
        release=make_release(),
        version="1.0-rc.1",
        commit_sha="9fceb02d0ae598e95dc970b74767f19372d61af8",
        artifact_digest="sha256:" + "ab12" * 16,
    )
    response = api.as_user(alice).post(
        f"/api/v1/candidates/{build.pk}/checks/",
        {"name": "unit-tests", "status": "passed", "details": DEEP},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["details"] == ["The JSON is nested too deeply."]
    assert build.checks.count() == 0
