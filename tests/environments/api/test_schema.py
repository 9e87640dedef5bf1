"""The environments API in the OpenAPI schema: every endpoint, with examples of the CI flow."""

from __future__ import annotations

from django.core.management import call_command


def test_the_schema_lists_every_environments_endpoint_with_examples(as_user, outsider):
    response = as_user(outsider).get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/environments/",
        "/api/v1/environments/{slug}/",
        "/api/v1/environments/{slug}/acquire/",
        "/api/v1/environments/{slug}/availability/",
        "/api/v1/bookings/",
        "/api/v1/bookings/{id}/",
        "/api/v1/bookings/{id}/extend/",
        "/api/v1/bookings/{id}/release/",
        "/api/v1/bookings/{id}/cancel/",
        "/api/v1/waitlist/",
        "/api/v1/waitlist/{id}/withdraw/",
        "/api/v1/maintenance-windows/",
        "/api/v1/maintenance-windows/{id}/",
        "/api/v1/deployments/",
    ):
        assert path in paths, path
    acquire = paths["/api/v1/environments/{slug}/acquire/"]["post"]
    assert "bookings/{id}/release/" in acquire["description"]
    assert acquire["requestBody"]["content"]["application/json"]["examples"]
    conflict = acquire["responses"]["409"]["content"]["application/json"]["examples"]
    assert "until" in next(iter(conflict.values()))["value"]["detail"]
    assert "put" not in paths["/api/v1/environments/{slug}/"]
    assert (
        "examples"
        in paths["/api/v1/deployments/"]["post"]["requestBody"]["content"]["application/json"]
    )


def test_the_schema_validates_without_warnings(tmp_path, db):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
