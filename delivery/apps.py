from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = "Delivery metrics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Each part wires itself here with a targeted edit: the change recorder (on
        # deployment_finished), the incident receivers, the pages' panels.
        from . import changes

        changes.connect()
        # The release page's "Delivery" panel (delivery/panels.py).
        from . import panels

        panels.connect()
