"""Every write to the release domain, as one atomic function per action.

Admin, API, pages and tasks call these; they never save release rows themselves. Each service
checks permissions, validates (raising ``ValidationError`` keyed by field name, so every caller
can point at the field), writes, and rolls back entirely on any error. Split by subject:
``teams``, ``lifecycle`` (releases and their states), ``plan`` (milestones, scope and its
progress, dependencies), ``freezes``, ``policies`` (gate policies); ``_common`` holds what they
share.
"""

from __future__ import annotations

from .freezes import (
    FREEZE_FEED_FIELDS,
    FREEZE_FIELDS,
    freeze_window_create,
    freeze_window_delete,
    freeze_window_update,
    freeze_windows_hit,
)
from .lifecycle import (
    RELEASE_FEED_FIELDS,
    RELEASE_FIELDS,
    TRANSITIONS,
    allowed_transitions,
    release_create,
    release_delete,
    release_rollback_rehearsed,
    release_transition,
    release_update,
    transition_needs_reason,
)
from .plan import (
    MILESTONE_FIELDS,
    SCOPE_FIELDS,
    SCOPE_PROGRESS_FIELDS,
    dependency_create,
    dependency_delete,
    find_path,
    milestone_create,
    milestone_delete,
    milestone_update,
    scope_item_create,
    scope_item_delete,
    scope_item_set_progress,
    scope_item_update,
    scope_item_update_progress,
)
from .policies import (
    GATE_POLICY_FIELDS,
    gate_policy_create,
    gate_policy_delete,
    gate_policy_update,
)
from .teams import (
    TEAM_FIELDS,
    team_create,
    team_delete,
    team_set_members,
    team_update,
)

__all__ = [
    "FREEZE_FEED_FIELDS",
    "FREEZE_FIELDS",
    "GATE_POLICY_FIELDS",
    "MILESTONE_FIELDS",
    "RELEASE_FEED_FIELDS",
    "RELEASE_FIELDS",
    "SCOPE_FIELDS",
    "SCOPE_PROGRESS_FIELDS",
    "TEAM_FIELDS",
    "TRANSITIONS",
    "allowed_transitions",
    "dependency_create",
    "dependency_delete",
    "find_path",
    "freeze_window_create",
    "freeze_window_delete",
    "freeze_window_update",
    "freeze_windows_hit",
    "gate_policy_create",
    "gate_policy_delete",
    "gate_policy_update",
    "milestone_create",
    "milestone_delete",
    "milestone_update",
    "release_create",
    "release_delete",
    "release_rollback_rehearsed",
    "release_transition",
    "release_update",
    "scope_item_create",
    "scope_item_delete",
    "scope_item_set_progress",
    "scope_item_update",
    "scope_item_update_progress",
    "team_create",
    "team_delete",
    "team_set_members",
    "team_update",
    "transition_needs_reason",
]
