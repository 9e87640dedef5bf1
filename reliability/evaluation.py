"""Evaluating SLOs: read the source, compute the figures, store them, tell the receivers.

``evaluate(slo)`` reads the SLO's source first, outside any transaction (a Prometheus query may
take seconds; no transaction, and so no lock, is held across it), computes the figures
(``reliability.budget``), then in one short transaction re-reads the SLO row locked and stores:
the latest figures on the SLO (what pages, gates and the watch read), one ``SLOSnapshot`` (the
series the charts draw), and sends ``reliability.signals.slo_evaluated``.

- A source that fails (Prometheus down, slow, refusing the query, answering nothing) makes the
  SLO ``no data``, never healthy: ``last_error`` says why, ``query_failures`` counts up (it
  counts every failure since the SLO was created) and a warning is logged.
- A source that answers but had no events over the window is ``no data`` too, with
  ``last_error`` "no events in the window", without counting as a failure.
- An SLO deleted while its source was read is skipped; one whose definition (objective,
  window, source, server, expressions) changed meanwhile too: figures computed from the old
  definition are not stored, the next evaluation reads the new one. A result older than the
  one stored (two evaluations overlapping) is dropped.

``evaluate_all()`` evaluates every SLO (the Celery task ``reliability.evaluate_slos`` runs it
every ``RELCAL_SLO_EVALUATION_SECONDS``) with a fixed number of database queries per SLO; a
Prometheus server that did not answer for one SLO is not asked again in the same run (its SLOs
are ``no data`` with the same message), so a server that is down costs one timeout per run.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from contextlib import nullcontext
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Subquery
from django.utils import timezone

from calendars import freshness

from . import budget, prometheus, sources
from .models import SLO, SLISource, SLOSnapshot, SLOState
from .policy import policies_for, policy_for
from .readiness import SHOWN
from .signals import slo_evaluated

logger = logging.getLogger(__name__)

# Fields an evaluation reads: when one of them changed while the source was read, the figures
# belong to the old definition and are not stored.
DEFINITION = (
    "objective",
    "window_days",
    "source",
    "prometheus_url",
    "good_query",
    "total_query",
    "error_ratio_query",
)
STORED = (
    "state",
    "alert",
    "sli",
    "budget_remaining",
    "burn_rates",
    "evaluated_at",
    "state_since",
    "last_error",
    "query_failures",
)
# Snapshots are kept for the SLO's window and a day more; older ones are deleted this many at
# a time per evaluation, so that one evaluation never deletes an unbounded number of rows.
PRUNE_BATCH = 500


def evaluate(slo: SLO, *, now: datetime | None = None) -> SLO:
    """Evaluate one SLO now (or at ``now``); returns the SLO as stored (``slo`` unchanged when
    it was deleted meanwhile)."""
    now = now or timezone.now()
    at_risk_below = policy_for(slo.service.team_id).at_risk_below
    return _evaluate(slo, now=now, at_risk_below=at_risk_below, down={})


def evaluate_all(*, now: datetime | None = None) -> dict[str, int]:
    """Evaluate every SLO; returns how many ended in each state (``no_data``, ``healthy``, …),
    and ``skipped`` (deleted or redefined meanwhile) and ``failed`` (an unexpected error,
    logged) when there were any."""
    now = now or timezone.now()
    slos = list(SLO.objects.select_related("service").order_by("pk"))
    policies = policies_for({slo.service.team_id for slo in slos})
    down: dict[str, str] = {}
    counts: Counter[str] = Counter(dict.fromkeys(SLOState.values, 0))
    for slo in slos:
        try:
            stored = _evaluate(
                slo, now=now, at_risk_below=policies[slo.service.team_id].at_risk_below, down=down
            )
        except Exception:
            # One SLO's bug (or a receiver's) must not leave every other SLO unevaluated.
            logger.exception("Evaluating SLO %s (%s) failed", slo.pk, slo)
            counts["failed"] += 1
            continue
        counts[stored.state if stored.evaluated_at == now else "skipped"] += 1
    return dict(counts)


def read(slo: SLO, *, now: datetime, at_risk_below: float, down: dict[str, str]) -> budget.Figures:
    """The SLO's figures from its source (no database writes, no transaction). ``down`` maps
    servers that did not answer in this run to their message; it is updated."""
    server = prometheus.server_url(slo) if slo.source == SLISource.PROMETHEUS else ""
    if server in down:
        return budget.Figures.no_data(down[server], failed=True)
    try:
        readings = sources.windows_for(slo, now)
    except prometheus.SourceError as error:
        if isinstance(error, prometheus.Unreachable):
            down[server] = error.message
        logger.warning("SLO %s (%s) has no data: %s", slo.pk, slo, error.message)
        return budget.Figures.no_data(error.message, failed=True)
    return budget.figures(
        readings,
        objective=budget.objective_of(slo),
        window_days=slo.window_days,
        at_risk_below=at_risk_below,
    )


def _evaluate(slo: SLO, *, now: datetime, at_risk_below: float, down: dict[str, str]) -> SLO:
    figures = read(slo, now=now, at_risk_below=at_risk_below, down=down)
    with transaction.atomic():
        stored = SLO.objects.select_for_update().filter(pk=slo.pk).first()
        if stored is None or _definition(stored) != _definition(slo):
            return stored or slo
        if stored.evaluated_at is not None and stored.evaluated_at >= now:
            return stored
        if SLO.service.is_cached(slo):
            stored.service = slo.service  # the receivers read it: spare them a query
        previous_state = stored.state
        shown = _shown(stored)
        _apply(stored, figures, now)
        # Feeds show a go/no-go's verdict, whose error-budget gate reads the state and the budget
        # in whole percent: an evaluation that keeps both keeps every feed's remembered answer.
        quiet = freshness.unseen() if _shown(stored) == shown else nullcontext()
        with quiet:
            _store(stored, now)
        slo_evaluated.send(sender=SLO, slo=stored, previous_state=previous_state, now=now)
    return stored


def _shown(slo: SLO) -> tuple:
    """What of an SLO the readiness gate (and so a feed's go/no-go) shows: ``reliability.
    readiness.fingerprint`` reads the same. The budget is rounded both ways a database may round
    half a percent, so that a change either way counts."""
    budget_left = slo.budget_remaining
    if slo.state not in SHOWN or budget_left is None:
        return (slo.state, slo.state_since, None)
    percent = budget_left * 100
    return (slo.state, slo.state_since, round(percent), math.floor(percent + 0.5))


def _store(stored: SLO, now: datetime) -> None:
    stored.save(update_fields=STORED)
    SLOSnapshot.objects.create(
        slo=stored,
        at=now,
        state=stored.state,
        alert=stored.alert,
        sli=stored.sli,
        budget_remaining=stored.budget_remaining,
        burn_rates=stored.burn_rates,
    )
    _prune(stored, now)


def _definition(slo: SLO) -> tuple:
    # The objective as a Decimal: a caller may hold the SLO it just created with 99.9 or "99.9".
    return (Decimal(str(slo.objective)), *(getattr(slo, name) for name in DEFINITION[1:]))


def _apply(slo: SLO, figures: budget.Figures, now: datetime) -> None:
    if figures.state != slo.state or slo.state_since is None:
        slo.state_since = now
    slo.state = figures.state
    slo.alert = figures.alert
    slo.sli = figures.sli
    slo.budget_remaining = figures.budget_remaining
    slo.burn_rates = figures.burn_rates
    slo.evaluated_at = now
    slo.last_error = figures.reason
    if figures.failed:
        slo.query_failures += 1


def _prune(slo: SLO, now: datetime) -> None:
    cutoff = now - timedelta(days=slo.window_days + 1)
    old = SLOSnapshot.objects.filter(slo_id=slo.pk, at__lt=cutoff).order_by("at")
    SLOSnapshot.objects.filter(pk__in=Subquery(old.values("pk")[:PRUNE_BATCH])).delete()
