"""The admin platform: ``sites.RelcalAdminSite`` (installed as the default admin site by
``apps.AdminConfig``, with hooks for apps to add index panels, a landing page and fieldsets)
and ``service_admin`` (model admins whose writes go through services).

Nothing is imported here: Django imports this package while it loads the apps.
"""
