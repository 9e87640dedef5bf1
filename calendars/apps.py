from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    """The calendar pages, the iCalendar feeds and their secret tokens, over the events the
    domain apps provide in their ``calendar`` modules. Its model keeps the ``relcal`` label
    (see ``calendars.models``)."""

    name = "calendars"
    verbose_name = "Calendars"

    def ready(self) -> None:
        from . import checks, freshness, sources  # noqa: F401 (checks: registers them)

        sources.discover()
        freshness.connect()
