"""The readiness gate about the deployment slot (registered in ``EnvironmentsConfig.ready``
through ``releases.gates``): when the team's gate policy asks for it, the release's team must
hold the policy's environment (``prod`` by default) for the whole deployment window."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Count, Max, Q, Sum

from relcal.times import fmt_window
from releases import gates
from releases.gates import Context, GateResult, passed, pending
from releases.models import Release

from .models import HOLDING, Booking


def _covered(bookings: list[Booking], start, end) -> bool:
    """Whether consecutive holding bookings cover ``[start, end)`` without a gap."""
    reached = start
    for booking in sorted(bookings, key=lambda b: b.start):
        if booking.start > reached:
            return False
        reached = max(reached, booking.end)
        if reached >= end:
            return True
    return reached >= end


def booked(releases: Sequence[Release], ctx: Context) -> dict[int, GateResult]:
    asking = [release for release in releases if ctx.policies[release.pk].require_booking]
    found: list[Booking] = []
    if asking:
        found = list(
            Booking.objects.filter(
                state__in=HOLDING,
                team_id__in={release.team_id for release in asking},
                environment__slug__in={ctx.policies[r.pk].booking_environment for r in asking},
                start__lt=max(release.window[1] for release in asking),
                end__gt=min(release.window[0] for release in asking),
            ).select_related("environment")
        )
    out = {}
    for release in releases:
        policy = ctx.policies[release.pk]
        if not policy.require_booking:
            out[release.pk] = passed("Not required by the gate policy.")
            continue
        start, end = release.window
        mine = [
            booking
            for booking in found
            if booking.team_id == release.team_id
            and booking.environment.slug == policy.booking_environment
            and booking.start < end
            and booking.end > start
        ]
        slot = fmt_window(start, end)
        if _covered(mine, start, end):
            out[release.pk] = passed(f"{policy.booking_environment} is booked for {slot}.")
        else:
            out[release.pk] = pending(
                f"{policy.booking_environment} is not booked by {release.team.name} for the "
                f"deployment window ({slot})"
            )
    return out


def booked_print(release_ids) -> tuple[tuple, object]:
    """The bookings of the teams of these releases: any change may change the answer."""
    teams = Release.objects.filter(pk__in=release_ids).values("team_id")
    values = Booking.objects.filter(team_id__in=teams).aggregate(
        count=Count("pk"),
        ids=Sum("pk"),
        holding=Count("pk", filter=Q(state__in=HOLDING)),
        moment=Max("updated_at"),
    )
    return tuple(values.values()), values["moment"]


def register() -> None:
    gates.register_gate(
        "booking", "Environment booked", booked, deployment=True, order=70, fingerprint=booked_print
    )
