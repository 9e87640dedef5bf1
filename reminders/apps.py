from django.apps import AppConfig


class RemindersConfig(AppConfig):
    """Reminders by email, daily digest and team webhooks, for the kinds the domain apps
    register in their ``reminders`` modules. Its models keep the ``relcal`` label (see
    ``reminders.models``)."""

    name = "reminders"
    verbose_name = "Reminders"

    def ready(self) -> None:
        from . import metrics, registry, tasks  # noqa: F401  (tasks: registers the Celery tasks)

        registry.autodiscover()
        metrics.register()  # /metrics: the deliveries by kind and state
