"""Pieces every app's viewsets share: running a service, the lookup patterns, the methods
offered, and the error answers the schema declares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError
from drf_spectacular.utils import OpenApiResponse

from relcal.errors import Conflict

ID = r"[0-9]+"
SLUG = r"[-a-zA-Z0-9_]+"
# Writes read as a verb each: PATCH changes fields, POST actions do the rest; no full PUT.
NO_PUT = ["get", "post", "patch", "delete", "head", "options"]

ERRORS = {
    400: OpenApiResponse(description="Invalid input; the body names each field."),
    403: OpenApiResponse(description="Not allowed for this user."),
}
NOT_FOUND = {404: OpenApiResponse(description="No such object.")}
# Reads only some roles may make (the sign-offs, the audit trail).
ROLE_ONLY = {403: OpenApiResponse(description="This user's role may not read it.")}
WRITE_ERRORS = {**ERRORS, **NOT_FOUND}
# Endpoints that take a re-entered password (relcal.lockout).
LOCKED = {
    429: OpenApiResponse(
        description="Too many wrong passwords: account or address locked; see Retry-After."
    )
}


def call_service(service: Callable[..., Any], **kwargs: Any) -> Any:
    """Run a service; a unique key taken by a concurrent request in the meantime is a 409."""
    try:
        return service(**kwargs)
    except IntegrityError as exc:
        raise Conflict("Another change got there first; reload and try again.") from exc
