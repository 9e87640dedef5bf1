"""Domain exceptions that belong to no single app."""

from __future__ import annotations

from typing import Any


class Conflict(Exception):
    """A write refused because it collides with what exists (answered as HTTP 409).

    ``message`` is one sentence for a person (who holds what, until when); ``details`` is the
    machine-readable part (the conflicting object, a suggested alternative) for API clients.
    """

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
