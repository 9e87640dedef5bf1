from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "releases"
    verbose_name = "Releases"

    def ready(self) -> None:
        from . import readiness

        # The readiness gates about the plan (prerequisites, blockers, rollback, freezes).
        readiness.register()
