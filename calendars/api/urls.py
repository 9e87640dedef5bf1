"""Routes of the feed-token API, mounted under /api/v1/ (namespace ``api-v1``)."""

from __future__ import annotations

from relcal.api.routers import Router

from . import views

router = Router()
router.register("feed-tokens", views.FeedTokenViewSet, basename="feed-token")
urlpatterns = router.urls
