"""Home (``/``): what needs the signed-in person now, gathered from the apps.

An app adds a section from its ``AppConfig.ready``::

    home.register_section("approvals/_home_signoffs.html", pending_signoffs, order=10)

``context(request)`` returns the section template's context, or None to leave the section out
(nothing to say to this person). Every item links to where it is acted on. A section must cost
a fixed number of queries and show a bounded number of items.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

SectionContext = Callable[[HttpRequest], "dict | None"]


@dataclass(frozen=True)
class Section:
    template_name: str
    context_function: SectionContext
    order: int


_sections: dict[str, Section] = {}


def register_section(
    template_name: str, context_function: SectionContext, order: int = 100
) -> None:
    _sections[template_name] = Section(template_name, context_function, order)


def sections() -> list[Section]:
    return sorted(_sections.values(), key=lambda section: (section.order, section.template_name))


@login_required
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    rendered = []
    for section in sections():
        context = section.context_function(request)
        if context is not None:
            rendered.append(render_to_string(section.template_name, context, request))
    return render(request, "relcal/home.html", {"sections": rendered, "current": "home"})
