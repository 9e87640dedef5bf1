"""One router style for every app's API.

Each app's ``<app>/api/urls.py`` builds a ``Router``, registers its viewsets and exports
``router`` and ``urlpatterns = router.urls``; the project mounts them all under ``/api/v1/`` and
serves one API root over them (``api_root_view``).
"""

from __future__ import annotations

from rest_framework.routers import DefaultRouter


class Router(DefaultRouter):
    """DRF's default routes (with ``.json`` format suffixes), without a root view of its own."""

    include_root_view = False


def api_root_view(*routers: DefaultRouter):
    """The browsable API root listing every route of ``routers``."""
    combined = DefaultRouter()
    for router in routers:
        combined.registry.extend(router.registry)
    return combined.get_api_root_view()
