from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import api_tokens, feeds, profile, views

api_v1 = [
    path("", include("releases.api.urls")),
    path("", include(api_tokens.router.urls)),
    path("", include("approvals.api_urls")),
    path("", include("environments.api.urls")),
    path("schema/", SpectacularAPIView.as_view(api_version="1"), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-v1:schema"), name="docs"),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="releases:list", permanent=False), name="home"),
    path("releases/", include("releases.urls")),
    path("evidence/", include("approvals.urls")),
    path("environments/", include("environments.urls")),
    path("api/v1/", include((api_v1, "api-v1"))),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("calendar/", feeds.month_view, name="calendar"),
    path("calendar/agenda/", feeds.agenda_view, name="calendar-agenda"),
    path("calendar/subscribe/", feeds.subscribe, name="calendar-subscribe"),
    path("feeds/public.ics", feeds.public_feed, name="public-feed"),
    path("feeds/<slug:token>.ics", feeds.feed, name="feed"),
    path("profile/", profile.profile, name="profile"),
    path("profile/reminders/", profile.reminder_preferences, name="reminder-preferences"),
    path("profile/feeds/<int:pk>/rename/", profile.token_rename, name="feed-token-rename"),
    path("profile/feeds/<int:pk>/revoke/", profile.token_revoke, name="feed-token-revoke"),
]
