"""The interactive API docs (Swagger UI) under the site's Content-Security-Policy."""

from __future__ import annotations

from drf_spectacular.views import SpectacularSwaggerSplitView


class SwaggerView(SpectacularSwaggerSplitView):
    """drf-spectacular's split view serves Swagger UI's start script as a file of its own
    (``?script``) instead of inline, and the template here takes the page's few style rules from
    a static file: the policy refuses inline scripts and styles, and the docs need neither."""

    template_name = "relcal/api/swagger_ui.html"
