"""How approvals takes part in what other apps do, connected in ``ApprovalsConfig.ready``.

- The release lifecycle (``releases.signals``): the requirements snapshot when the scope
  freezes (and, for a release frozen before it had one, before the readiness gates run).
- Group membership and team membership (``m2m_changed``): each change writes one audit event,
  whichever path made it (Django's user admin, a shell, a seed command). A service that records
  a membership change itself wraps it in ``audit.recorded_by_caller``.
- SQLite connections get the function the append-only triggers ask before a purge (see
  ``approvals.triggers``).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.backends.signals import connection_created
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from relcal import audit
from releases.models import ReleaseState, Team
from releases.signals import transition_requested, transitioned

from . import services, triggers

# --- The release lifecycle ----------------------------------------------------------------------


@receiver(transition_requested, dispatch_uid="approvals-requirements-before-gates")
def ensure_requirements(sender, *, release, to_state, actor, **kwargs) -> None:
    # The sign-off gate reads the release's requirements: a release frozen before approvals
    # existed (or before its policy named roles) takes them now.
    services.ensure_requirements(actor=actor, release=release, to_state=to_state)


@receiver(transitioned, dispatch_uid="approvals-requirements")
def take_requirements(sender, *, release, from_state, to_state, actor, **kwargs) -> None:
    # Testing → scope frozen keeps the requirements; a scope frozen anew (from planned) may
    # have changed, and its policy with it.
    if to_state == ReleaseState.SCOPE_FROZEN and from_state != ReleaseState.TESTING:
        services.requirements_snapshot(actor=actor, release=release)


# --- Membership -----------------------------------------------------------------------------------

User = get_user_model()


def _names(model, pks) -> list[str]:
    if model is Group:
        return sorted(Group.objects.filter(pk__in=pks).values_list("name", flat=True))
    if model is Team:
        return sorted(Team.objects.filter(pk__in=pks).values_list("slug", flat=True))
    field = model.USERNAME_FIELD
    return sorted(model.objects.filter(pk__in=pks).values_list(field, flat=True))


def _current(instance, accessor: str) -> set:
    return set(getattr(instance, accessor).values_list("pk", flat=True))


# through model -> {reverse?: (accessor on the instance, name in the event)}
OBSERVED = {
    User.groups.through: {False: ("groups", "groups"), True: ("user_set", "users")},
    Team.members.through: {False: ("members", "members"), True: ("teams", "teams")},
}


def observe_membership(sender, *, instance, action, reverse, model, pk_set, **kwargs) -> None:
    if audit.observed_elsewhere(sender) or not action.startswith(("pre_", "post_")):
        return
    accessor, name = OBSERVED[sender][reverse]
    memo = f"_audit_{sender._meta.model_name}_{name}"
    if action.startswith("pre_"):
        setattr(instance, memo, _current(instance, accessor))
        return
    before = getattr(instance, memo, None)
    if before is None:
        return
    delattr(instance, memo)
    after = _current(instance, accessor)
    if before == after:
        return  # nothing changed (adding a member twice, removing a non-member)
    verb = action.removeprefix("post_")
    label = instance._meta.model_name
    audit.record(
        actor=None,  # the signed-in user of the request, if any
        action=f"{label}.{name}.{verb}",
        obj=instance,
        before={name: _names(model, before)},
        after={name: _names(model, after)},
    )


for _through in OBSERVED:
    m2m_changed.connect(
        observe_membership, sender=_through, dispatch_uid=f"audit-{_through._meta.label_lower}"
    )


# --- SQLite: the switch the append-only triggers ask ------------------------------------------


@receiver(connection_created, dispatch_uid="approvals-purge-switch")
def add_purge_switch(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        triggers.install_sqlite_switch(connection)
