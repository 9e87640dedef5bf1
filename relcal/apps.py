from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RelcalConfig(AppConfig):
    """The project and its platform: settings, URLs, Celery, audit, admin site, API pieces.
    Imports no domain app."""

    name = "relcal"
    verbose_name = "Relcal"

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401  (registers the system checks)
            schedules,
        )
        from .api import schema  # noqa: F401  (registers the schema's field extension)

        post_migrate.connect(schedules.sync_after_migrate, dispatch_uid="relcal-sync-schedules")

        # Password guessing (django-axes): lockouts audited, unlocks through an audited action.
        from axes.signals import user_locked_out
        from django.contrib import admin

        from . import lockout

        user_locked_out.connect(lockout.on_locked_out, dispatch_uid="relcal-audit-lockout")
        lockout.install_admin(admin.site)
