"""A check report and a transition racing on PostgreSQL never let a release deploy on a
failed check: both lock the release row, so one waits for the other."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from approvals.models import CheckReport
from releases import services
from releases.models import ReleaseTransition
from tests.releases.test_concurrency import _run_together

from .conftest import walk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_failed_check_and_deploying_racing_never_deploy_on_the_failure(
    ready, check, manager, alice
):
    for _ in range(5):
        release = walk(ready(), manager, "approved")
        build = release.candidates.get()
        outcomes = _run_together(
            lambda build=build: check(build, "integration-tests", "failed", actor=alice),
            lambda release=release: services.release_transition(
                actor=manager, release=release, to_state="deploying"
            ),
        )
        release.refresh_from_db()
        report = CheckReport.objects.get(candidate=build, status="failed")
        assert isinstance(outcomes[0], CheckReport), outcomes
        if release.state == "deploying":
            step = ReleaseTransition.objects.get(release=release, to_state="deploying")
            assert step.at <= report.reported_at  # the failure came after the move
        else:
            assert release.state == "approved"
            assert isinstance(outcomes[1], ValidationError), outcomes
            assert "integration-tests failed" in str(outcomes[1])
