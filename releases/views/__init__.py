"""Release planning pages: thin over ``selectors`` for reads and ``services`` for writes.

Every write view checks permission before anything else, so a user without it gets 403 on GET
and POST alike; then it calls one service and turns the service's ``ValidationError`` into form
errors (status 400). Services are atomic, so a refused write stores nothing. Forms that live on
the release page post to their own URL and always answer with a redirect back to that page (post/
redirect/get), the errors of a refusal kept in the session for it (``refused``).

Split by subject: ``pages`` (the list, the release page, create, edit, delete, transition),
``plan`` (milestones, scope, dependencies on the release page), ``freezes``, ``readiness`` (the
go/no-go board).
"""

from __future__ import annotations

from .freezes import freeze_delete, freeze_list
from .pages import (
    release_create,
    release_delete,
    release_detail,
    release_edit,
    release_list,
    release_transition,
)
from .plan import (
    dependency_add,
    dependency_delete,
    milestone_add,
    milestone_delete,
    milestone_toggle,
    scope_item_add,
    scope_item_delete,
)
from .readiness import board

__all__ = [
    "board",
    "dependency_add",
    "dependency_delete",
    "freeze_delete",
    "freeze_list",
    "milestone_add",
    "milestone_delete",
    "milestone_toggle",
    "release_create",
    "release_delete",
    "release_detail",
    "release_edit",
    "release_list",
    "release_transition",
    "scope_item_add",
    "scope_item_delete",
]
