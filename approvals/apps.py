from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals and audit"

    def ready(self) -> None:
        from relcal import home as home_page
        from releases.panels import register_release_panel

        # The requirements snapshot, membership observers and the SQLite purge switch.
        from . import (
            home,
            receivers,  # noqa: F401
        )
        from .panels import readiness_panel_context, signoff_panel_context
        from .readiness import gates

        # The "Sign-offs" panel on the release page: releases renders it without importing us.
        register_release_panel("approvals/_readiness_panel.html", readiness_panel_context, order=5)
        register_release_panel("approvals/_release_panel.html", signoff_panel_context, order=10)
        # The readiness gates of the current candidate's checks and of the sign-offs, and waivers.
        gates.register()
        # Home: the sign-offs waiting for the person, failed checks on their teams' builds.
        home_page.register_section("approvals/_home_signoffs.html", home.pending_signoffs, order=10)
        home_page.register_section("approvals/_home_checks.html", home.failed_checks, order=30)
