from django.apps import AppConfig


class ReliabilityConfig(AppConfig):
    name = "reliability"
    verbose_name = "Reliability"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Each part wires itself in its own ``connect()``: the error-budget policy (gate,
        # freezes, overrides), the post-release watch, the pages' Home section and the metrics.
        from . import metrics, panels, readiness, receivers

        metrics.connect()
        # The error-budget gate and the SRE overrides (a waiver source); freezes and the
        # post-release watch on evaluations and finished deployments; the release panel, the
        # Home section and the release's evidence.
        readiness.register()
        receivers.connect()
        panels.connect()
