"""The project's URL map: every app's pages and API, mounted once. (The one platform module
that names the domain apps: wiring them is its job.)"""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.urlpatterns import format_suffix_patterns

from accounts import views as account_views
from approvals.api.urls import router as approvals_api
from calendars.api.urls import router as calendars_api
from delivery.api.dora import GitLabProjectMetrics
from delivery.api.urls import router as delivery_api
from environments.api.urls import router as environments_api
from releases.api.urls import router as releases_api
from reliability.api.urls import router as reliability_api

from . import home, metrics, views
from .api.docs import SwaggerView
from .api.routers import api_root_view

API_ROUTERS = (
    releases_api,
    calendars_api,
    approvals_api,
    environments_api,
    reliability_api,
    delivery_api,
)

api_v1 = [
    *format_suffix_patterns([path("", api_root_view(*API_ROUTERS), name="api-root")]),
    *(url for router in API_ROUTERS for url in router.urls),
    path("schema/", SpectacularAPIView.as_view(api_version="1"), name="schema"),
    path("docs/", SwaggerView.as_view(url_name="api-v1:schema"), name="docs"),
]

urlpatterns = [
    path("", home.home, name="home"),
    path("releases/", include("releases.urls")),
    path("evidence/", include("approvals.urls")),
    path("readiness/", include("approvals.readiness.urls")),
    path("environments/", include("environments.urls")),
    path("reliability/", include("reliability.urls")),
    path("delivery/", include("delivery.urls")),
    path("api/v1/", include((api_v1, "api-v1"))),
    # GitLab's DORA metrics path, for dashboards built for it (a team's slug for the project).
    path(
        "api/v4/projects/<slug:project>/dora/metrics",
        GitLabProjectMetrics.as_view(),
        name="gitlab-dora-metrics",
    ),
    path("admin/", admin.site.urls),
    path("accounts/login/", account_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", account_views.logout, name="logout"),
    path("accounts/", include("accounts.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics.view, name="metrics"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("", include("calendars.urls")),
]
