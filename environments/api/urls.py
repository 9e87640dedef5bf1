"""Routes of the environments API, mounted under /api/v1/ (namespace ``api-v1``)."""

from __future__ import annotations

from relcal.api.routers import Router

from . import deployment_views, views

router = Router()
router.register("environments", views.EnvironmentViewSet, basename="environment")
router.register("bookings", views.BookingViewSet, basename="booking")
router.register("waitlist", views.WaitlistViewSet, basename="waitlist-entry")
router.register(
    "maintenance-windows", views.MaintenanceWindowViewSet, basename="maintenance-window"
)
router.register("deployments", deployment_views.DeploymentViewSet, basename="deployment")
router.register("deploy-checks", views.DeployCheckViewSet, basename="deploy-check")
urlpatterns = router.urls
