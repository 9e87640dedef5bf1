"""Approvals API under /api/v1/: sign-offs (same rules as the admin, password every time),
what waits for me, where a release stands, and the audit trail for auditors.

- ``GET /api/v1/signoffs/``: auditors, superusers and release managers see all; approvers see
  their own. Each carries ``stale`` (signed an earlier version) and ``superseded``.
- ``POST /api/v1/signoffs/``: ``{"release", "role", "decision", "meaning", "comment",
  "password", "fingerprint"?}``; 201, or 400/403 naming the field and the rule.
- ``GET /api/v1/signoffs/pending/``: release × role waiting for the caller.
- ``GET /api/v1/approval-status/<release id>/``: requirements, what blocks, the fingerprint.
- ``GET /api/v1/audit-events/``: the trail (auditors, superusers, release managers).
"""
