from django.urls import path

from . import preferences, views

app_name = "accounts"

urlpatterns = [
    path("oidc/login/", views.oidc_login, name="oidc-login"),
    path("oidc/callback/", views.oidc_callback, name="oidc-callback"),
    path("signing-ticket/", views.signing_ticket, name="signing-ticket"),
    path("time-zone/browser/", preferences.browser_time_zone, name="browser-time-zone"),
]
