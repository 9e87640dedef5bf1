"""Routes of the approvals API, mounted under /api/v1/ (namespace ``api-v1``)."""

from __future__ import annotations

from .api import router

urlpatterns = router.urls
