"""The OpenAPI schema and the interactive docs."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command


def test_the_schema_lists_every_endpoint(api, outsider):
    response = api.as_user(outsider).get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/teams/",
        "/api/v1/teams/{slug}/",
        "/api/v1/releases/",
        "/api/v1/releases/{id}/",
        "/api/v1/releases/{id}/transition/",
        "/api/v1/releases/{id}/transitions/",
        "/api/v1/milestones/",
        "/api/v1/scope-items/",
        "/api/v1/dependencies/",
        "/api/v1/freeze-windows/",
    ):
        assert path in paths, path
    transition = paths["/api/v1/releases/{id}/transition/"]["post"]
    assert transition["requestBody"]["content"]["application/json"]["examples"]
    assert "put" not in paths["/api/v1/releases/{id}/"]


def test_the_schema_generates_without_warnings(tmp_path, db):
    out = tmp_path / "schema.yml"
    # --fail-on-warn makes any drf-spectacular warning (an unresolvable field, a name clash) fail.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    assert schema["info"]["title"] == "Relcal API"


def test_the_interactive_docs_load(api, outsider):
    response = api.as_user(outsider).get("/api/v1/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


@pytest.mark.parametrize("url", ["/api/v1/", "/api/v1/releases/"])
def test_the_browsable_api_renders(api, manager, make_release, url):
    make_release()
    response = api.as_user(manager).get(url, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
