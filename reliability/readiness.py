"""The error-budget gate (registered in ``ReliabilityConfig.ready`` through ``releases.gates``)
and the SRE overrides that let one release through it (a waiver source).

Per release, the SLOs of the services it touches (``selectors.services_touched``), each read
with the policy of the team owning the service (``reliability.policy``):

- spent (state exhausted, or an error-budget freeze still open because the budget is not back
  above the at-risk threshold) under a "block" policy, and the scope is not only fixes and
  security items (an empty scope is not): FAIL, naming the service, the SLO and the budget left;
- spent, but the scope is only fixes and security items, or the policy only warns: PASS, saying
  so;
- no data: PENDING ("not treated as healthy");
- at risk: PASS with the budget left.

It is a deployment gate (``deployment=True``): it stops ``deploying`` (and the deploy check of
CI), not ``approved``. What approvers sign is the release's content; an error budget moves by
the minute and may well be back by the deployment window, so it is judged when the release is
about to go live, as the freeze windows and the environment booking are.

Bulk: a fixed number of queries whatever the number of releases. Names of services of private
teams are hidden from a viewer who may not see the team.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, F, Max, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Round

from relcal.times import fmt
from releases import gates
from releases.gates import Context, GateResult, failed, passed, pending
from releases.models import Release, ScopeItem, ScopeKind
from releases.selectors import visible_teams

from . import wording
from .models import SLO, BudgetFreeze, BudgetOverride, ErrorBudgetPolicy, Service, SLOState
from .permissions import sees_every_service
from .policy import Policy, policies_for
from .selectors import services_touched

GATE = "error_budget"
LABEL = "Error budget"
SHIPS_ANYWAY = frozenset({ScopeKind.FIX, ScopeKind.SECURITY})
SHOWN = (SLOState.EXHAUSTED, SLOState.AT_RISK)  # the states whose figures the reasons show


@dataclass
class Budgets:
    """What the gate reads for a set of releases (loaded once, shared by the gate, the release
    panel and the overrides)."""

    touched: dict[int, list[Service]]
    slos: dict[int, list[SLO]]  # service id → its SLOs, each with ``frozen_since``
    policies: dict[int, Policy]  # team id → policy
    kinds: dict[int, set[str]]  # release id → the kinds of its scope items
    hidden: set[int]  # ids of the teams whose services' names the viewer may not read

    def name(self, service: Service) -> str:
        return wording.HIDDEN_SERVICE if service.team_id in self.hidden else service.name

    def fix_only(self, release_id: int) -> bool:
        kinds = self.kinds.get(release_id, set())
        return bool(kinds) and kinds <= SHIPS_ANYWAY


def hidden_teams(user, team_ids: set[int]) -> set[int]:
    """The ids among ``team_ids`` of the teams whose services' names ``user`` may not read."""
    if user is None or not team_ids or sees_every_service(user):
        return set()
    seen = set(visible_teams(user).filter(pk__in=team_ids).values_list("pk", flat=True))
    return team_ids - seen


def load(releases: Sequence[Release], user=None) -> Budgets:
    """Six queries at most, whatever the number of releases."""
    ids = [release.pk for release in releases]
    touched = services_touched(ids)
    services = {service.pk: service for found in touched.values() for service in found}
    open_since = BudgetFreeze.objects.filter(slo=OuterRef("pk"), ended_at__isnull=True).values(
        "started_at"
    )[:1]
    slos: dict[int, list[SLO]] = defaultdict(list)
    if services:
        for slo in SLO.objects.filter(service_id__in=services).annotate(
            frozen_since=Subquery(open_since)
        ):
            slo.service = services[slo.service_id]
            slos[slo.service_id].append(slo)
    team_ids = {service.team_id for service in services.values()}
    kinds: dict[int, set[str]] = defaultdict(set)
    for release_id, kind in ScopeItem.objects.filter(release_id__in=ids).values_list(
        "release_id", "kind"
    ):
        kinds[release_id].add(kind)
    return Budgets(
        touched=touched,
        slos=slos,
        policies=policies_for(team_ids) if team_ids else {},
        kinds=kinds,
        hidden=hidden_teams(user, team_ids),
    )


def service_link(service: Service, budgets: Budgets) -> str:
    return "" if service.team_id in budgets.hidden else service.get_absolute_url()


def spent(slo: SLO) -> bool:
    """Whether the release policy treats the SLO's budget as spent: exhausted, or its
    error-budget freeze still open (the budget not back above the at-risk threshold)."""
    return slo.state == SLOState.EXHAUSTED or getattr(slo, "frozen_since", None) is not None


def spent_text(slo: SLO, policy: Policy) -> str:
    if slo.state == SLOState.EXHAUSTED:
        return f"error budget exhausted ({wording.left(slo.budget_remaining)})"
    threshold = wording.percent(policy.at_risk_below)
    return (
        f"error budget recovering ({wording.left(slo.budget_remaining)}; the error-budget "
        f"freeze ends above {threshold})"
    )


def no_data_text(slo: SLO) -> str:
    since = slo.state_since or slo.evaluated_at
    source = wording.source_label(slo)
    when = f"since {fmt(since)}" if since else "yet"
    return f"no data from {source} {when}: not treated as healthy"


def result_for(release: Release, budgets: Budgets) -> GateResult:
    fails: list[str] = []
    waiting: list[str] = []
    notes: list[str] = []
    link = ""
    fix_only = budgets.fix_only(release.pk)
    count = 0
    for service in budgets.touched.get(release.pk, []):
        policy = budgets.policies[service.team_id]
        for slo in budgets.slos.get(service.pk, []):
            count += 1
            label = wording.slo_label(slo, budgets.name(service))
            if spent(slo):
                what = f"{label}: {spent_text(slo, policy)}"
                if not policy.blocks:
                    notes.append(f"{what}; the team's error-budget policy only warns")
                elif fix_only:
                    notes.append(f"{what}, but the scope is only fixes and security items")
                else:
                    fails.append(what)
                    link = link or service_link(service, budgets)
            elif slo.state == SLOState.NO_DATA:
                waiting.append(f"{label}: {no_data_text(slo)}")
                link = link or service_link(service, budgets)
            elif slo.state == SLOState.AT_RISK:
                notes.append(f"{label}: at risk: {wording.left(slo.budget_remaining)}")
    if fails:
        return failed("; ".join(fails + waiting), link)
    if waiting:
        return pending("; ".join(waiting + notes), link)
    if notes:
        return passed("; ".join(notes))
    if count:
        return passed(f"Every SLO of the touched services has budget left ({count}).")
    return passed("No SLOs on the touched services.")


def evaluate(releases: Sequence[Release], ctx: Context) -> dict[int, GateResult]:
    budgets = ctx.memo("reliability.budgets", lambda: load(releases, ctx.user))
    return {release.pk: result_for(release, budgets) for release in releases}


# --- The SRE overrides: a waiver source --------------------------------------------------------


def override_text(override: BudgetOverride) -> str:
    return f"overridden by {override.signer_name} on {fmt(override.signed_at)}: {override.reason}"


def overrides(releases: Sequence[Release], ctx: Context) -> dict[int, dict[str, str]]:
    """release id → {"error_budget": who overrode it, when and why} (the latest override)."""
    out: dict[int, dict[str, str]] = {}
    for override in BudgetOverride.objects.filter(
        release_id__in=[release.pk for release in releases]
    ).order_by("signed_at", "id"):
        out[override.release_id] = {GATE: override_text(override)}
    return out


# --- Fingerprints: what the answers above depend on, as a few aggregates -------------------------


def _moment(*moments):
    return max((moment for moment in moments if moment is not None), default=None)


def fingerprint(release_ids) -> tuple[tuple, object]:
    named = Service.releases.through.objects.filter(release_id__in=release_ids)
    teams = Release.objects.filter(pk__in=release_ids).values("team_id")
    services = Service.objects.filter(Q(pk__in=named.values("service_id")) | Q(team_id__in=teams))
    service_part = services.aggregate(
        count=Count("pk"), ids=Sum("pk"), teams=Sum("team_id"), moment=Max("updated_at")
    )
    links = named.aggregate(count=Count("pk"), ids=Sum("service_id"))
    slos = SLO.objects.filter(service__in=services.values("pk"))
    states = {f"state_{state}": Count("pk", filter=Q(state=state)) for state in SLOState.values}
    slo_part = slos.aggregate(
        count=Count("pk"),
        ids=Sum("pk"),
        since=Max("state_since"),
        moment=Max("updated_at"),
        # The figures the reasons show, in whole percent as they are shown.
        shown=Sum(Round(F("budget_remaining") * 100), filter=Q(state__in=SHOWN)),
        **states,
    )
    freezes = BudgetFreeze.objects.filter(slo__in=slos.values("pk")).aggregate(
        count=Count("pk"),
        open=Count("pk", filter=Q(ended_at__isnull=True)),
        started=Max("started_at"),
        ended=Max("ended_at"),
    )
    policies = ErrorBudgetPolicy.objects.filter(team__in=services.values("team_id")).aggregate(
        count=Count("pk"), ids=Sum("pk"), moment=Max("updated_at")
    )
    scope = ScopeItem.objects.filter(release_id__in=release_ids).aggregate(
        count=Count("pk"),
        others=Count("pk", filter=~Q(kind__in=SHIPS_ANYWAY)),
        moment=Max("updated_at"),
    )
    parts = tuple(
        tuple(part.values()) for part in (service_part, links, slo_part, freezes, policies, scope)
    )
    moment = _moment(
        service_part["moment"],
        slo_part["moment"],
        slo_part["since"],
        freezes["started"],
        freezes["ended"],
        policies["moment"],
        scope["moment"],
    )
    return parts, moment


def overrides_print(release_ids) -> tuple[tuple, object]:
    values = BudgetOverride.objects.filter(release_id__in=release_ids).aggregate(
        count=Count("pk"), newest=Max("pk"), moment=Max("signed_at")
    )
    return tuple(values.values()), values["moment"]


def register() -> None:
    gates.register_gate(
        GATE,
        LABEL,
        evaluate,
        deployment=True,
        order=65,
        fingerprint=fingerprint,
        waived_by="an SRE override (reason and password)",
    )
    gates.register_waivers("error_budget_override", overrides, fingerprint=overrides_print)
