"""The admin site, with the hooks through which an app adds to the admin of another without
reaching into its registry:

- ``add_index_panel(template, context)``: a panel on top of the admin index (approvals: "My
  pending sign-offs"); ``context(request)`` returns the template's context, or None to leave
  the panel out for this user;
- ``add_landing(function)``: ``function(request)`` returns a URL to send a user to instead of
  the index (approvers who only sign land on their pending list), or None; ``?all`` shows the
  index anyway;
- ``add_menu(function)``: ``function(request)`` returns the whole menu (an app list as the
  sidebar and index render it: ``menu_app`` builds one) for a user whose admin is one job
  (approvers: their pending and earlier sign-offs), or None for the models they may use;
- ``add_fieldset(model, title, fields)``: read-only fields computed by another app, shown as a
  fieldset on ``model``'s change page (approvals adds "Sign-offs" to the release); the model's
  admin must be a ``service_admin.ExtensibleModelAdmin`` that declares ``fieldsets``.

Apps call these from their ``admin`` module (``admin.site.add_index_panel(...)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.db import models
from django.http import HttpRequest
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse

PanelContext = Callable[[HttpRequest], "dict | None"]
Landing = Callable[[HttpRequest], "str | None"]
Menu = Callable[[HttpRequest], "list[dict] | None"]


def menu_app(name: str, app_label: str, url: str, links: list[tuple[str, str]]) -> dict:
    """One app of an ``add_menu`` menu: ``links`` (title, URL) as view-only rows, shaped like
    the entries of Django's ``AdminSite.get_app_list`` so the admin's templates render them."""
    return {
        "name": name,
        "app_label": app_label,
        "app_url": url,
        "has_module_perms": True,
        "models": [
            {
                "name": title,
                "object_name": title,
                "admin_url": link,
                "add_url": None,
                "view_only": True,
                "perms": {"view": True},
            }
            for title, link in links
        ],
    }


@dataclass(frozen=True)
class IndexPanel:
    template_name: str
    context_function: PanelContext
    order: int


@dataclass(frozen=True)
class ExtraFieldset:
    title: str
    # Field name → function(obj) -> display value; decorate it with ``admin.display``.
    fields: dict[str, Callable] = field(default_factory=dict)
    description: str = ""


class RelcalAdminSite(admin.AdminSite):
    site_header = "Relcal administration"
    site_title = "Relcal"
    index_template = "relcal/admin/index.html"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        # Keyed, so that registering again (``ready`` run twice, a test) replaces.
        self._index_panels: dict[str, IndexPanel] = {}
        self._landings: dict[str, Landing] = {}
        self._menus: dict[str, Menu] = {}
        self._fieldsets: dict[type[models.Model], dict[str, ExtraFieldset]] = {}

    # --- Hooks --------------------------------------------------------------------------------

    def add_index_panel(
        self, template_name: str, context_function: PanelContext, *, order: int = 100
    ) -> None:
        self._index_panels[template_name] = IndexPanel(template_name, context_function, order)

    def add_landing(self, function: Landing) -> None:
        self._landings[f"{function.__module__}.{function.__qualname__}"] = function

    def add_menu(self, function: Menu) -> None:
        self._menus[f"{function.__module__}.{function.__qualname__}"] = function

    def add_fieldset(
        self,
        model: type[models.Model],
        title: str,
        fields: dict[str, Callable],
        *,
        description: str = "",
    ) -> None:
        self._fieldsets.setdefault(model, {})[title] = ExtraFieldset(title, fields, description)

    def extra_fieldsets(self, model: type[models.Model]) -> list[ExtraFieldset]:
        return list(self._fieldsets.get(model, {}).values())

    # --- The index ----------------------------------------------------------------------------

    def get_app_list(self, request, app_label=None):
        for function in self._menus.values():
            menu = function(request)
            if menu is not None:
                return [app for app in menu if app_label is None or app["app_label"] == app_label]
        return super().get_app_list(request, app_label)

    def login(self, request, extra_context=None):
        """With company sign-in, one login page for everything: the admin's own form has no
        "Sign in with …" button. Its POST stays, for break-glass administrators' scripts."""
        if request.method == "GET" and settings.RELCAL_OIDC_ISSUER:
            return redirect_to_login(request.GET.get("next") or reverse("admin:index"))
        return super().login(request, extra_context)

    def index(self, request, extra_context=None):
        if "all" not in request.GET:
            for landing in self._landings.values():
                url = landing(request)
                if url:
                    return redirect(url)
        panels = []
        for panel in sorted(self._index_panels.values(), key=lambda p: (p.order, p.template_name)):
            context = panel.context_function(request)
            if context is not None:
                panels.append(render_to_string(panel.template_name, context, request))
        return super().index(request, {**(extra_context or {}), "index_panels": panels})
