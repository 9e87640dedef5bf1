"""Error-budget freezes: Relcal puts a freeze window on the calendar of a service's team when one
of its SLOs spends its error budget, and ends it when the budget is back above the at-risk
threshold (not merely above zero), as the team's error-budget policy says.

Run after every evaluation of an SLO (``receivers``, on ``slo_evaluated``). The window is
``FreezeWindow(origin=ERROR_BUDGET)``: the calendars, feeds and Home show it as any freeze, but
the manual freeze rules (``freeze_windows_hit``, the "Freeze windows" gate) leave it alone; the
error-budget gate (``reliability.readiness``) decides which releases it stops. Its end is an
upper bound (now + the SLO's window), moved to the moment of recovery when the budget is back,
with the window's SEQUENCE raised so that calendar clients update the event. A freeze still
open at its end (the budget still spent a whole window later) is extended by another window.

Relcal is the actor (none): the audit trail reads "system".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from relcal import audit
from releases.models import FreezeOrigin, FreezeWindow

from . import wording
from .models import SLO, BudgetFreeze, SLOState
from .policy import Policy, policy_for

NAME_PREFIX = "Error budget spent: "


def freeze_name(slo: SLO) -> str:
    return f"{NAME_PREFIX}{slo.service.name} {slo.name}"[:200]


def freeze_reason(slo: SLO, policy: Policy) -> str:
    figures = [wording.left(slo.budget_remaining)]
    if slo.sli is not None:
        figures.append(f"SLI {slo.sli * 100:.3f}% over {slo.window_days} days")
    lines = [
        f"{wording.slo_label(slo)} has spent its error budget ({', '.join(figures)}).",
    ]
    threshold = wording.percent(policy.at_risk_below)
    if policy.blocks:
        lines.append(
            "Only releases whose scope is fixes and security items may go live until more "
            f"than {threshold} of the budget is back; an SRE may override the gate for one "
            "release."
        )
    else:
        lines.append(
            f"The team's policy only warns: releases may go live. The freeze ends when more "
            f"than {threshold} of the budget is back."
        )
    return "\n".join(lines)[:2000]


def _start(slo: SLO, policy: Policy, now: datetime) -> BudgetFreeze:
    freeze = FreezeWindow(
        name=freeze_name(slo),
        reason=freeze_reason(slo, policy),
        start=now,
        end=now + timedelta(days=slo.window_days),
        team_id=slo.service.team_id,
        origin=FreezeOrigin.ERROR_BUDGET,
    )
    freeze.full_clean()
    freeze.save()
    budget_freeze = BudgetFreeze.objects.create(slo=slo, freeze=freeze, started_at=now)
    audit.record(
        actor=None,
        action="budget_freeze.start",
        obj=freeze,
        after={
            **audit.values(freeze, ("name", "reason", "start", "end", "team", "origin")),
            "slo": slo.pk,
            "budget_remaining": slo.budget_remaining,
        },
    )
    return budget_freeze


def _extend(budget_freeze: BudgetFreeze, slo: SLO, now: datetime) -> None:
    freeze = budget_freeze.freeze
    before = audit.values(freeze, ("end",))
    freeze.end = now + timedelta(days=slo.window_days)
    freeze.sequence += 1
    freeze.save(update_fields=["end", "sequence", "updated_at"])
    audit.record_change(None, "budget_freeze.extend", freeze, before, ("end",))


def _end(budget_freeze: BudgetFreeze, slo: SLO, now: datetime) -> None:
    freeze = budget_freeze.freeze
    before = audit.values(freeze, ("end",))
    # Half-open [start, end): a freeze ended at the moment it started would be empty.
    freeze.end = max(now, freeze.start + timedelta(seconds=1))
    freeze.sequence += 1
    freeze.save(update_fields=["end", "sequence", "updated_at"])
    budget_freeze.ended_at = now
    budget_freeze.save(update_fields=["ended_at"])
    audit.record(
        actor=None,
        action="budget_freeze.end",
        obj=freeze,
        before=before,
        after={
            "end": audit.jsonable(freeze.end),
            "slo": slo.pk,
            "budget_remaining": slo.budget_remaining,
        },
    )


def end_with_slos(slos, *, actor, now: datetime) -> int:
    """End the open error-budget freezes of SLOs being removed (nothing would lift them later);
    answers how many ended. The caller holds the transaction."""
    ended = 0
    for budget_freeze in (
        # Each freeze with its window, all locked before the first event below (relcal.db).
        BudgetFreeze.objects.select_for_update(of=("self", "freeze"))
        .select_related("freeze", "slo")
        .filter(slo__in=slos, ended_at__isnull=True)
    ):
        freeze = budget_freeze.freeze
        before = audit.values(freeze, ("end",))
        freeze.end = max(now, freeze.start + timedelta(seconds=1))
        freeze.sequence += 1
        freeze.save(update_fields=["end", "sequence", "updated_at"])
        budget_freeze.ended_at = now
        budget_freeze.save(update_fields=["ended_at"])
        audit.record(
            actor=actor,
            action="budget_freeze.end",
            obj=freeze,
            before=before,
            after={
                "end": audit.jsonable(freeze.end),
                "slo": budget_freeze.slo_id,
                "why": "SLO removed",
            },
        )
        ended += 1
    return ended


@transaction.atomic
def budget_freeze_update(*, slo: SLO, now: datetime) -> tuple[str, BudgetFreeze | None]:
    """Open, extend or end the error-budget freeze of ``slo`` after an evaluation. Answers what
    happened ("started", "extended", "ended" or "") and the freeze concerned."""
    policy = policy_for(slo.service.team_id)
    current = (
        BudgetFreeze.objects.select_for_update(of=("self",))
        .select_related("freeze")
        .filter(slo=slo, ended_at__isnull=True)
        .first()
    )
    if slo.state == SLOState.EXHAUSTED and policy.freeze:
        if current is None:
            return "started", _start(slo, policy, now)
        if current.freeze.end <= now:
            _extend(current, slo, now)
            return "extended", current
        return "", current
    recovered = slo.budget_remaining is not None and slo.budget_remaining > policy.at_risk_below
    if current is not None and recovered and slo.state != SLOState.NO_DATA:
        _end(current, slo, now)
        return "ended", current
    return "", current
