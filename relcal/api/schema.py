"""The OpenAPI schema tells the truth about every answer, not only the happy one.

Generated clients and the CI fuzz run (``.ci/fuzz``: schemathesis' status-code and response-schema
checks) trust the schema, so an answer it does not declare is a bug. Two pieces keep it honest
without repeating the same ``responses=`` on some 100 operations:

- ``add_error_responses``, a postprocessing hook, declares the error answers that follow from an
  operation's shape, whatever the view: 401 where credentials are needed, 403 on writes (roles,
  teams, and a session's CSRF check), 400 where a body or a filter is read, 404 where the path
  names an object or the list is paginated (``?page=`` past the end). Answers that depend on
  the domain (409 conflicts, 429 lockouts, 403 on reads a role may not make) stay next to their
  view with ``extend_schema(responses=…)``; a description given there wins.
- ``BlankURLField``: a read-only URL field that may be empty answers ``""``, which is no
  ``uri``, so its schema is "a URI or an empty string", like a writable one's.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension

WRITES = {"post", "put", "patch", "delete"}
PAGING = {"page", "page_size"}

UNAUTHENTICATED = "Authentication credentials were not provided or are not valid."
FORBIDDEN = (
    "Not allowed for this user (role or team), or a session-authenticated write without its "
    "CSRF token."
)
INVALID = "Invalid input; the body names each field (or filter) that is wrong."
NOT_FOUND = "No such object, or one this user may not see."
NO_PAGE = "No such page of the list (`?page=` past the end)."


def add_error_responses(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """Declare on every operation the error statuses its shape implies (see the module)."""
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in WRITES | {"get"}:
                continue
            for status, description in _implied_errors(method, operation):
                operation.setdefault("responses", {}).setdefault(
                    str(status), {"description": description}
                )
    return result


def _implied_errors(method: str, operation: dict[str, Any]) -> list[tuple[int, str]]:
    parameters = operation.get("parameters", [])
    implied = []
    # ``{}`` among the alternatives: the operation also answers without credentials.
    if {} not in operation.get("security", [{}]):
        implied.append((401, UNAUTHENTICATED))
        if method in WRITES:
            implied.append((403, FORBIDDEN))
    if "requestBody" in operation or any(
        p["in"] == "query" and p["name"] not in PAGING for p in parameters
    ):
        implied.append((400, INVALID))
    if any(p["in"] == "path" for p in parameters):
        implied.append((404, NOT_FOUND))
    elif any(p["in"] == "query" and p["name"] == "page" for p in parameters):
        implied.append((404, NO_PAGE))
    return implied


class BlankURLField(OpenApiSerializerFieldExtension):
    """A read-only URL field whose model field may be blank answers ``""``, which is no
    ``format: uri``: declare it as drf-spectacular declares a writable blank one (a URI, or an
    empty string)."""

    target_class = "rest_framework.fields.URLField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if self.target.read_only and _model_field_blank(self.target):
            uri = {"type": "string", "format": "uri"}
            if "maxLength" in schema:
                uri["maxLength"] = schema["maxLength"]
            schema = {"oneOf": [uri, {"type": "string", "maxLength": 0}]}
        return schema


def _model_field_blank(field: Any) -> bool:
    # A read-only model field loses ``allow_blank`` in DRF; the model still says it.
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    try:
        return model is not None and model._meta.get_field(field.source).blank
    except Exception:  # a source that is no model field (a property, a path)
        return False
