from django.apps import AppConfig


class EnvironmentsConfig(AppConfig):
    name = "environments"
    verbose_name = "Environments"

    def ready(self) -> None:
        from . import readiness

        # The readiness gate of the deployment slot.
        readiness.register()
