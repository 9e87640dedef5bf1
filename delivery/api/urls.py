"""Routes of the delivery API, mounted under /api/v1/ (namespace ``api-v1``)."""

from __future__ import annotations

from relcal.api.routers import Router

from . import dora, incidents

router = Router()
router.register("incidents", incidents.IncidentViewSet, basename="incident")
router.register("incident-sources", incidents.IncidentSourceViewSet, basename="incident-source")
router.register("dora/metrics", dora.DoraMetricsViewSet, basename="dora-metrics")
urlpatterns = router.urls
