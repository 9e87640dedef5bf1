from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_schedules(sender, **kwargs) -> None:
    # Once per migrate, after django_celery_beat's tables exist.
    if sender.name == "django_celery_beat":
        from . import schedules

        schedules.sync()


class RelcalConfig(AppConfig):
    name = "relcal"
    verbose_name = "Relcal"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)

        post_migrate.connect(_sync_schedules, dispatch_uid="relcal-sync-schedules")

        from releases.signals import transitioned

        transitioned.connect(_scan_soon, dispatch_uid="relcal-scan-on-transition")


def _scan_soon(sender, **kwargs) -> None:
    # Watchers hear of a state change, and a frozen scope asks for sign-offs, right away: scan
    # after commit rather than within a minute.
    from . import notify

    notify.kick()
