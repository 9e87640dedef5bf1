"""Request context for the audit trail: a request id and the client's address.

Every event recorded while a request is handled carries both, so that an auditor can tie a change
to one request in the web server's logs. A client (or a proxy) may send ``X-Request-ID``; a
sane value is kept, anything else is replaced by a fresh one. The id goes back in the response.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from relcal import audit

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR, or the last entry of the header a trusted proxy sets
    (``AUDIT_CLIENT_ADDRESS_HEADER``, e.g. X-Forwarded-For: the entry the proxy appended)."""
    header = getattr(settings, "AUDIT_CLIENT_ADDRESS_HEADER", "")
    if header:
        value = request.headers.get(header, "")
        if value.strip():
            return value.split(",")[-1].strip()[:45]
    return request.META.get("REMOTE_ADDR", "")[:45]


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        request.request_id = request_id
        with audit.origin(
            request_id=request_id, client_address=client_address(request), request=request
        ):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
