"""What a fuzzer or a confused script sends to the approvals API and exports: never a 500, and
nothing written."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

HUGE = 2**64 + 1


@pytest.fixture
def client(api, quinn, priya):
    return api.as_user(quinn)


@pytest.mark.parametrize(
    "url", ["/api/v1/signoffs/{}/", "/api/v1/approval-status/{}/", "/api/v1/audit-events/{}/"]
)
@pytest.mark.parametrize("pk", [HUGE, -1, 0, "abc", "1.5", "%00"])
def test_it_answers_404_for_a_hostile_id(client, url, pk):
    assert client.get(url.format(pk)).status_code == 404


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/signoffs/", {"release": "abc"}, "release"),
        ("/api/v1/signoffs/", {"role": "ceo"}, "role"),
        ("/api/v1/signoffs/", {"release": HUGE}, "release"),
        ("/api/v1/audit-events/", {"seq_after": "x"}, "seq_after"),
        ("/api/v1/audit-events/", {"since": "yesterday"}, "since"),
        ("/api/v1/audit-events/", {"release_id": "abc"}, "release_id"),
    ],
)
def test_it_answers_400_naming_a_bad_filter(client, url, params, field):
    response = client.get(url, params)
    assert response.status_code == 400, response.content
    assert field in response.data


@pytest.mark.parametrize("value", [HUGE, -HUGE, "1e400"])
def test_enormous_numbers_in_filters_never_answer_500(client, value):
    for params in ({"release_id": value}, {"seq_after": value}):
        assert client.get("/api/v1/audit-events/", params).status_code in (200, 400)


@pytest.mark.parametrize(
    "changes",
    [
        {"release": HUGE},
        {"release": "abc"},
        {"release": None},
        {"comment": "x" * 2_001},
        {"comment": "nul\x00byte"},
        {"password": 12345},
        {"role": ["product"]},
        {"meaning": ""},
    ],
)
def test_it_answers_400_for_hostile_sign_offs(api, priya, frozen, stored, changes):
    release = frozen()
    data = {
        "release": release.pk,
        "role": "product",
        "decision": "approve",
        "meaning": "approved_for_release",
        "password": PASSWORD,
        **changes,
    }
    before = stored()
    response = api.as_user(priya).post("/api/v1/signoffs/", data, format="json")
    assert response.status_code == 400, response.content
    assert stored() == before


@pytest.mark.parametrize("params", [{"start": "%00"}, {"end": "99999-01-01"}, {"start": "x"}])
def test_the_period_export_answers_400_for_hostile_dates(client, quinn, params):
    from django.test import Client

    browser = Client()
    browser.force_login(quinn)
    assert browser.get("/evidence/audit.csv", params).status_code == 400
