from django.apps import AppConfig


class RelcalConfig(AppConfig):
    name = "relcal"
    verbose_name = "Relcal"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
