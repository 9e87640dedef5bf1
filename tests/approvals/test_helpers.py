"""The helper other test suites use to pass the sign-off gate."""

from __future__ import annotations

from approvals.models import ApprovalRequirement

from .conftest import walk
from .helpers import approve


def test_approve_lets_a_release_through_the_gate(frozen, manager):
    ApprovalRequirement.objects.filter(role="product").update(count=2)
    release = walk(frozen(), manager, "testing")
    approve(release)
    assert walk(release, manager, "approved", "deploying", "released").state == "released"
