from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "releases"
    verbose_name = "Releases"

    def ready(self) -> None:
        from relcal import home as home_page

        from . import home, metrics, readiness

        # The readiness gates about the plan (prerequisites, blockers, rollback, freezes).
        readiness.register()
        # /metrics: the verdicts answered by the deploy check and the readiness API.
        metrics.register()
        # Home: the person's releases that are not GO this week, and freezes starting.
        home_page.register_section("releases/_home_blocked.html", home.blocked_releases, order=20)
        home_page.register_section("releases/_home_freezes.html", home.freezes_starting, order=50)
