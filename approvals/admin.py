"""Approvals admin: sign-offs and the audit trail arrive with the Approvals issue."""
