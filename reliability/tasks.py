"""Thin Celery tasks over the SLO evaluation (``reliability.evaluation``).

Transaction-aware like every task of the project (``relcal.celery.TransactionAwareTask``).
"""

from __future__ import annotations

from celery import shared_task

from . import evaluation


@shared_task(name="reliability.evaluate_slos")
def evaluate_slos() -> dict[str, int]:
    """Every ``RELCAL_SLO_EVALUATION_SECONDS`` (``relcal.schedules``): evaluate every SLO;
    returns how many ended in each state."""
    return evaluation.evaluate_all()
