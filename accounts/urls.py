from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("oidc/login/", views.oidc_login, name="oidc-login"),
    path("oidc/callback/", views.oidc_callback, name="oidc-callback"),
    path("signing-ticket/", views.signing_ticket, name="signing-ticket"),
]
