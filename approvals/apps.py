from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals and audit"

    def ready(self) -> None:
        # The gate, the requirements snapshot, membership observers and the SQLite purge switch.
        from . import receivers  # noqa: F401
