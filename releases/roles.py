"""The roles Relcal knows, as Django groups, and the permissions each starts with.

The data migration ``0002_roles`` creates them; operators can change the permissions in the admin
afterwards. ``override_freeze`` is deliberately in no role: a superuser grants it to someone.
"""

RELEASE_MANAGERS = "Release managers"
PRODUCT_APPROVERS = "Product approvers"
LEGAL_APPROVERS = "Legal approvers"
SECURITY_APPROVERS = "Security approvers"
TEAM_MEMBERS = "Team members"
AUDITORS = "Auditors"
# Created by approvals/migrations/0005: may waive a failing readiness gate.
CHANGE_ADVISORY_BOARD = "Change advisory board"

# The permissions each role starts with live in the migration that creates the groups
# (releases/migrations/0002_roles.py), so that they stay as they were when it ran.
ALL = [
    RELEASE_MANAGERS,
    PRODUCT_APPROVERS,
    LEGAL_APPROVERS,
    SECURITY_APPROVERS,
    TEAM_MEMBERS,
    AUDITORS,
]
