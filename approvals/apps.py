from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals and audit"

    def ready(self) -> None:
        from releases.panels import register_release_panel

        # The requirements snapshot, membership observers and the SQLite purge switch.
        from . import receivers  # noqa: F401
        from .panels import readiness_panel_context, signoff_panel_context
        from .readiness import gates

        # The "Sign-offs" panel on the release page: releases renders it without importing us.
        register_release_panel("approvals/_readiness_panel.html", readiness_panel_context, order=5)
        register_release_panel("approvals/_release_panel.html", signoff_panel_context, order=10)
        # The readiness gates of the current candidate's checks and of the sign-offs, and waivers.
        gates.register()
