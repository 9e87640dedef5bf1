"""Routes of the delivery API, mounted under /api/v1/ (namespace ``api-v1``)."""

from __future__ import annotations

from relcal.api.routers import Router

router = Router()
urlpatterns = router.urls
