"""Routes of the reliability API, mounted under /api/v1/ (namespace ``api-v1``)."""

from __future__ import annotations

from relcal.api.routers import Router

from . import overrides, views

router = Router()
router.register("services", views.ServiceViewSet, basename="service")
router.register("slos", views.SLOViewSet, basename="slo")
router.register(
    r"releases/(?P<release_pk>[0-9]+)/services",
    views.ReleaseServicesViewSet,
    basename="release-services",
)
router.register("budget-overrides", overrides.BudgetOverrideViewSet, basename="budget-override")
urlpatterns = router.urls
