from django.apps import AppConfig


class EnvironmentsConfig(AppConfig):
    name = "environments"
    verbose_name = "Environments"

    def ready(self) -> None:
        from relcal import home as home_page
        from releases.panels import register_release_panel

        from . import home, metrics, readiness  # noqa: F401  (metrics: the booking conflicts)
        from .views.deployments import release_panel_context

        # The "Deployments" panel of the release page: its history across environments.
        register_release_panel(
            "environments/_release_deployments.html", release_panel_context, order=30
        )
        # The readiness gate of the deployment slot.
        readiness.register()
        # Home: the bookings of the person's teams today and tomorrow.
        home_page.register_section("environments/_home_bookings.html", home.team_bookings, order=40)
