"""Release readiness: the gates a release passes before it may go live, and its verdict.

A gate is registered once (``register_gate``) by the app that knows its facts, and evaluated
in bulk: ``evaluate(releases, ctx) -> {release id: GateResult}`` with a fixed number of queries
whatever the number of releases, so that the go/no-go board costs the same for 5 releases or
200. This app registers the gates about the plan (prerequisites, freeze windows, rollback
rehearsal, blocking scope items); ``approvals`` the checks of the current candidate and the
sign-offs, and the waivers; ``environments`` the deployment slot.

The verdict: GO when every gate passes (or a failing one is waived), NO-GO when one fails,
PENDING when none fails but one waits for something not reported yet. ``approved`` needs every
gate except those about the deployment itself; ``deploying`` needs GO
(``require_for_transition``, called by ``release_transition``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone

from .models import GatePolicy, Release, ReleaseState
from .selectors import sees_every_team, visible_release_q

# The states of a release on its way to go live: those the board and Home look at.
UPCOMING = (
    ReleaseState.PLANNED,
    ReleaseState.SCOPE_FROZEN,
    ReleaseState.TESTING,
    ReleaseState.APPROVED,
    ReleaseState.DEPLOYING,
)


class GateState(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    PENDING = "pending"
    WAIVED = "waived"

    @property
    def label(self) -> str:
        return {"pass": "Passed", "fail": "Failed", "pending": "Pending", "waived": "Waived"}[self]


class Verdict(StrEnum):
    GO = "GO"
    NO_GO = "NO-GO"
    PENDING = "PENDING"


@dataclass(frozen=True)
class GateResult:
    state: GateState
    reason: str  # one line for a person: why it blocks, or what it checked
    link: str = ""  # where to look (the failing check's run, the prerequisite's page)


def passed(reason: str, link: str = "") -> GateResult:
    return GateResult(GateState.PASS, reason, link)


def failed(reason: str, link: str = "") -> GateResult:
    return GateResult(GateState.FAIL, reason, link)


def pending(reason: str, link: str = "") -> GateResult:
    return GateResult(GateState.PENDING, reason, link)


@dataclass
class Context:
    """What every gate's evaluation shares: the moment, each release's gate policy, who is
    looking (``None``: nobody in particular; names are not hidden) and a memo for loads that
    several gates of one app need (``memo``)."""

    now: datetime
    policies: dict[int, GatePolicy]
    user: Any = None
    shared: dict[str, Any] = field(default_factory=dict)

    def memo(self, key: str, load: Callable[[], Any]) -> Any:
        if key not in self.shared:
            self.shared[key] = load()
        return self.shared[key]

    def visible(self, release_ids: Iterable[int]) -> set[int]:
        """Which of these releases the viewer may see (one query, remembered)."""
        ids = set(release_ids)
        if self.user is None or not ids or sees_every_team(self.user):
            return ids
        known = self.shared.setdefault("_visible", {})
        unknown = ids - known.keys()
        if unknown:
            seen = set(
                Release.objects.filter(pk__in=unknown)
                .filter(visible_release_q(self.user))
                .values_list("pk", flat=True)
            )
            known.update({pk: pk in seen for pk in unknown})
        return {pk for pk in ids if known[pk]}

    def release_name(self, release: Release) -> str:
        """The release's name, or "a release you cannot see" for a viewer who may not."""
        return (
            release.name if release.pk in self.visible([release.pk]) else "a release you cannot see"
        )


Evaluate = Callable[[Sequence[Release], Context], dict[int, GateResult]]
Waivers = Callable[[Sequence[Release], Context], dict[int, dict[str, str]]]
# ``fingerprint(release_ids)``, release_ids a queryset of ids: cheap aggregates over the rows the
# gate reads for those releases (counts, sums, the latest change), and the latest moment they
# changed (or None). Feeds answer a conditional request from it without evaluating a gate.
Fingerprint = Callable[[QuerySet], tuple[tuple, "datetime | None"]]


@dataclass(frozen=True)
class Gate:
    name: str
    label: str
    evaluate: Evaluate
    deployment: bool  # about the deployment itself: not needed to reach approved
    order: int
    fingerprint: Fingerprint | None = None
    # Who lets this gate pass instead of a change-advisory-board waiver ("an SRE override"),
    # or empty: the board may waive it.
    waived_by: str = ""

    @property
    def waivable(self) -> bool:
        return not self.waived_by


_gates: dict[str, Gate] = {}
_waiver_sources: dict[str, tuple[Waivers, Fingerprint | None]] = {}


def register_gate(
    name: str,
    label: str,
    evaluate: Evaluate,
    *,
    deployment: bool = False,
    order: int = 100,
    fingerprint: Fingerprint | None = None,
    waived_by: str = "",
) -> None:
    """Add a gate (again under the same name: replace it). ``evaluate`` must answer for every
    release it is given, in a fixed number of queries; ``fingerprint`` (see ``Fingerprint``)
    must change whenever an answer would. ``waived_by`` names who lets it pass instead of the
    change advisory board (whose waivers then do not apply to it)."""
    _gates[name] = Gate(name, label, evaluate, deployment, order, fingerprint, waived_by)


def register_waivers(name: str, source: Waivers, *, fingerprint: Fingerprint | None = None) -> None:
    """Add a source of waivers: ``source(releases, ctx)`` answers, per release id, the gates
    waived for it with who waived them and why (one line)."""
    _waiver_sources[name] = (source, fingerprint)


def fingerprint(release_ids: QuerySet) -> tuple[tuple, datetime | None]:
    """What the verdicts of these releases depend on, cheaply: every gate's and waiver source's
    fingerprint and the gate policies', without evaluating a gate (a few aggregate queries)."""
    policies = GatePolicy.objects.aggregate(
        count=Count("pk"), ids=Sum("pk"), updated=Max("updated_at")
    )
    parts: list = [tuple(policies.values())]
    moments = [policies["updated"]]
    prints = [gate.fingerprint for gate in gates()]
    prints += [print_ for _, print_ in _waiver_sources.values()]
    for print_ in prints:
        if print_ is not None:
            part, moment = print_(release_ids)
            parts.append(part)
            moments.append(moment)
    present = [moment for moment in moments if moment is not None]
    return tuple(parts), max(present, default=None)


def gates() -> list[Gate]:
    return sorted(_gates.values(), key=lambda gate: (gate.order, gate.name))


@dataclass(frozen=True)
class GateRow:
    gate: Gate
    result: GateResult
    waiver: str = ""  # who waived it and why, when a failing gate was waived

    @property
    def state(self) -> GateState:
        return GateState.WAIVED if self.waiver else self.result.state

    @property
    def ok(self) -> bool:
        return self.state in (GateState.PASS, GateState.WAIVED)


@dataclass(frozen=True)
class Readiness:
    release: Release
    rows: list[GateRow]

    @property
    def verdict(self) -> Verdict:
        return verdict_of(self.rows)

    def blocking(self, *, deployment: bool = True) -> list[GateRow]:
        """The rows that stop the release: all of them for deploying, those not about the
        deployment itself (``deployment=False``) for approved."""
        return [row for row in self.rows if not row.ok and (deployment or not row.gate.deployment)]

    def row(self, name: str) -> GateRow | None:
        return next((row for row in self.rows if row.gate.name == name), None)


def verdict_of(rows: Iterable[GateRow]) -> Verdict:
    states = {row.state for row in rows}
    if GateState.FAIL in states:
        return Verdict.NO_GO
    if GateState.PENDING in states:
        return Verdict.PENDING
    return Verdict.GO


def policies_for(releases: Sequence[Release]) -> dict[int, GatePolicy]:
    """Each release's gate policy: its team's, or the default (one query)."""
    team_ids = {release.team_id for release in releases}
    found = list(GatePolicy.objects.filter(Q(team_id__in=team_ids) | Q(is_default=True)))
    by_team = {policy.team_id: policy for policy in found if policy.team_id}
    default = next((policy for policy in found if policy.is_default), None) or GatePolicy(
        name="Default", is_default=True
    )
    return {release.pk: by_team.get(release.team_id, default) for release in releases}


def evaluate(
    releases: Sequence[Release], *, user=None, now: datetime | None = None
) -> dict[int, Readiness]:
    """Every gate of every release, waivers applied. A fixed number of queries: one for the
    policies, then what each gate and waiver source needs."""
    releases = list(releases)
    if not releases:
        return {}
    ctx = Context(now=now or timezone.now(), policies=policies_for(releases), user=user)
    results = {gate.name: gate.evaluate(releases, ctx) for gate in gates()}
    waived: dict[int, dict[str, str]] = {}
    for source, _ in _waiver_sources.values():
        for release_id, by_gate in source(releases, ctx).items():
            waived.setdefault(release_id, {}).update(by_gate)
    out = {}
    for release in releases:
        rows = []
        for gate in gates():
            result = results[gate.name][release.pk]
            waiver = ""
            if result.state == GateState.FAIL:
                waiver = waived.get(release.pk, {}).get(gate.name, "")
            rows.append(GateRow(gate, result, waiver))
        out[release.pk] = Readiness(release, rows)
    return out


def readiness(release: Release, *, user=None, now: datetime | None = None) -> Readiness:
    return evaluate([release], user=user, now=now)[release.pk]


GATED = {ReleaseState.APPROVED: False, ReleaseState.DEPLOYING: True}


def require_for_transition(release: Release, to_state: str, *, actor=None) -> None:
    """Refuse ``approved`` unless every gate not about the deployment passes, and ``deploying``
    unless the verdict is GO, naming each blocking gate and why."""
    if to_state not in GATED:
        return
    blocking = readiness(release, user=actor).blocking(deployment=GATED[to_state])
    if blocking:
        target = ReleaseState(to_state).label
        reasons = "; ".join(f"{row.gate.label}: {row.result.reason}" for row in blocking)
        raise ValidationError(
            {"to_state": f"{release.name} cannot move to {target} yet: {reasons}."}
        )
