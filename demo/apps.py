from django.apps import AppConfig


class DemoConfig(AppConfig):
    """``manage.py seed_demo``: demo data across every app (DESIGN.md "Demo data"). Its own app
    because it writes through every domain app's services, which ``releases`` may not import."""

    name = "demo"
    verbose_name = "Demo data"
