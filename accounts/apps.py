from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "Accounts and company sign-in"

    def ready(self) -> None:
        from django.contrib import admin

        from . import admin as accounts_admin

        # Registers the configuration checks; keeps the zone in the session at sign-in.
        from . import checks, zones  # noqa: F401

        # The auth app registered the user admin before this runs (it is listed earlier).
        accounts_admin.install_user_action(admin.site)
