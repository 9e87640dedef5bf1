"""Readiness verdicts on /metrics (``relcal.metrics``): each verdict answered to a deploy job
(the deploy check) or to a reader of the readiness API, by verdict."""

from __future__ import annotations

from relcal import metrics

from .gates import Verdict

# Where a verdict was answered: the deploy check (a pipeline asking before it deploys) or the
# readiness API (a person or a tool asking).
SOURCES = ("deploy_check", "readiness_api")

GATE_VERDICTS = metrics.counter(
    "relcal_gate_verdicts",
    "Readiness verdicts answered by the deploy check and the readiness API, by verdict.",
    ["verdict", "source"],
)


def register() -> None:
    # Every verdict from zero, so that rate() sees the first NO-GO of a fresh process.
    for verdict in Verdict:
        for source in SOURCES:
            GATE_VERDICTS.labels(verdict.value, source)


def verdict_answered(verdict: Verdict, *, source: str) -> None:
    GATE_VERDICTS.labels(Verdict(verdict).value, source).inc()
