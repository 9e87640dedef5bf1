from django.apps import AppConfig


class EnvironmentsConfig(AppConfig):
    name = "environments"
    verbose_name = "Environments"

    def ready(self) -> None:
        from relcal import home as home_page

        from . import home, readiness

        # The readiness gate of the deployment slot.
        readiness.register()
        # Home: the bookings of the person's teams today and tomorrow.
        home_page.register_section("environments/_home_bookings.html", home.team_bookings, order=40)
