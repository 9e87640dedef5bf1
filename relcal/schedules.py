"""The periodic schedules, declared once here and synced into django-celery-beat (on migrate and
with ``manage.py sync_schedules``), so that operators see and adjust them in the admin.

Syncing creates what is missing and leaves what an operator changed (interval, enabled) alone;
``--reset`` puts the declared values back.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    every_seconds: int
    description: str


SCHEDULES = [
    Schedule(
        name="Reminders: scan for due reminders",
        task="relcal.scan_reminders",
        every_seconds=60,
        description="Creates the due reminders (milestones, sign-offs, bookings), expires "
        "overdue bookings and hands the deliveries to the workers.",
    ),
    Schedule(
        name="Reliability: evaluate SLOs",
        task="reliability.evaluate_slos",
        every_seconds=settings.RELCAL_SLO_EVALUATION_SECONDS,
        description="Reads every SLO's source (Prometheus or pushed measurements) and stores "
        "its SLI, error budget, burn rates, state and alert (RELCAL_SLO_EVALUATION_SECONDS).",
    ),
]


def sync(*, reset: bool = False) -> list[str]:
    """Create (or with ``reset`` restore) each declared schedule; returns the names touched."""
    touched = []
    for schedule in SCHEDULES:
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=schedule.every_seconds, period=IntervalSchedule.SECONDS
        )
        defaults = {
            "task": schedule.task,
            "interval": interval,
            "description": schedule.description,
            "enabled": True,
        }
        task, created = PeriodicTask.objects.get_or_create(name=schedule.name, defaults=defaults)
        if created:
            touched.append(schedule.name)
        elif reset or task.task != schedule.task:
            for field, value in defaults.items():
                setattr(task, field, value)
            task.save()
            touched.append(schedule.name)
    return touched


def sync_after_migrate(sender, **kwargs) -> None:
    """``post_migrate`` receiver: sync once per migrate, after django_celery_beat's tables exist."""
    if sender.name == "django_celery_beat":
        sync()
