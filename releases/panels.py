"""Panels that other apps add to the release page, without ``releases`` importing them.

DESIGN.md lets ``approvals`` and ``environments`` import ``releases``, never the other way
round; so an app that has something to say on the release page registers a panel from its
``AppConfig.ready``::

    register_release_panel("approvals/_release_panel.html", signoff_panel_context, order=10)

The release page calls each context function with the request and the release it shows, and
renders the panel's template with ``release`` plus what the function returned. A function that
returns ``None`` leaves its panel out for that page view. Panels appear in ``order`` (lower
first). The page's query count is pinned by tests, so a context function must cost a constant
number of queries, however many rows the release has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from .models import Release

PanelContext = Callable[[HttpRequest, Release], "dict[str, Any] | None"]


@dataclass(frozen=True)
class ReleasePanel:
    template_name: str
    context_function: PanelContext
    order: int


# Keyed by template: registering again (``ready`` run twice, a test re-registering) replaces.
_panels: dict[str, ReleasePanel] = {}


def register_release_panel(
    template_name: str, context_function: PanelContext, order: int = 100
) -> None:
    _panels[template_name] = ReleasePanel(template_name, context_function, order)


def unregister_release_panel(template_name: str) -> None:
    _panels.pop(template_name, None)


def release_panels() -> list[ReleasePanel]:
    return sorted(_panels.values(), key=lambda panel: (panel.order, panel.template_name))


def render_release_panels(request: HttpRequest, release: Release) -> list[SafeString]:
    """Each registered panel's HTML for ``release``, in order, leaving out declined panels."""
    rendered = []
    for panel in release_panels():
        context = panel.context_function(request, release)
        if context is None:
            continue
        html = render_to_string(panel.template_name, {"release": release, **context}, request)
        rendered.append(html)
    return rendered
