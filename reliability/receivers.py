"""What the error-budget policy and the post-release watch do when they hear of an evaluation or
a finished deployment (connected in ``ReliabilityConfig.ready``).

Both signals are sent inside their sender's transaction. Each receiver runs in a savepoint and
logs its own failure rather than raising: a bug here must not lose an SLO's evaluation or a
deployment's finish. What changed is announced at once: a reminders scan is asked for after
commit (a freeze started or ended, a watch degraded), instead of within the minute.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from environments.signals import deployment_finished

from .freezes import budget_freeze_update
from .signals import slo_evaluated
from .watch import watch_slo, watch_start

log = logging.getLogger(__name__)


def _guarded(function: Callable[..., Any], default: Any, **kwargs: Any) -> Any:
    try:
        with transaction.atomic():
            return function(**kwargs)
    except Exception:
        log.exception("%s failed for %r; carrying on.", function.__name__, kwargs)
        return default


def scan_soon() -> None:
    from reminders import tasks  # services and receivers never import tasks at module level

    tasks.scan.delay()


def on_slo_evaluated(sender, slo, previous_state=None, now=None, **kwargs) -> None:
    now = now or timezone.now()
    changed, _ = _guarded(budget_freeze_update, ("", None), slo=slo, now=now)
    degraded = _guarded(watch_slo, [], slo=slo, now=now)
    if changed in ("started", "ended") or degraded:
        scan_soon()


def on_deployment_finished(sender, deployment, actor=None, **kwargs) -> None:
    _guarded(watch_start, None, deployment=deployment, actor=actor)


def connect() -> None:
    slo_evaluated.connect(on_slo_evaluated, dispatch_uid="reliability-budget-policy")
    deployment_finished.connect(on_deployment_finished, dispatch_uid="reliability-watch-start")
