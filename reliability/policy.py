"""The error-budget policy in force for a team: its own ``ErrorBudgetPolicy`` or the default
from settings (``RELCAL_ERROR_BUDGET_*``, Google's example policy)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

from .models import BudgetAction, ErrorBudgetPolicy


@dataclass(frozen=True)
class Policy:
    at_risk_below: float  # a fraction of the budget, e.g. 0.25
    when_exhausted: str  # BudgetAction: "block" or "warn"
    freeze: bool  # put an error-budget freeze on the calendar while the budget is spent
    own: bool  # the team's own policy, not the default

    @property
    def blocks(self) -> bool:
        return self.when_exhausted == BudgetAction.BLOCK


def default_policy() -> Policy:
    return Policy(
        at_risk_below=settings.RELCAL_ERROR_BUDGET_AT_RISK_BELOW / 100,
        when_exhausted=settings.RELCAL_ERROR_BUDGET_WHEN_EXHAUSTED,
        freeze=settings.RELCAL_ERROR_BUDGET_FREEZE,
        own=False,
    )


def _policy(row: ErrorBudgetPolicy) -> Policy:
    return Policy(float(row.at_risk_below) / 100, row.when_exhausted, row.freeze, own=True)


def policies_for(team_ids: Iterable[int]) -> dict[int, Policy]:
    """Each team's policy (one query)."""
    team_ids = set(team_ids)
    found = {
        row.team_id: _policy(row) for row in ErrorBudgetPolicy.objects.filter(team_id__in=team_ids)
    }
    default = default_policy()
    return {team_id: found.get(team_id, default) for team_id in team_ids}


def policy_for(team_id: int) -> Policy:
    return policies_for([team_id])[team_id]
