from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    """``django.contrib.admin``, with ``RelcalAdminSite`` as ``admin.site``."""

    default_site = "relcal.admin.sites.RelcalAdminSite"
