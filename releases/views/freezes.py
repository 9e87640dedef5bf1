"""The freeze windows page: list, create and delete freeze windows."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from relcal.forms import add_service_errors

from .. import permissions as perms
from .. import selectors, services
from ..forms import (
    FreezeWindowForm,
)
from ..models import (
    FreezeWindow,
)
from .pages import GET_OR_POST, form_status


@login_required
@GET_OR_POST
def freeze_list(request: HttpRequest) -> HttpResponse:
    can_manage = perms.can_manage_freezes(request.user)
    form = None
    if request.method == "POST":
        perms.require(can_manage, "Only release managers can set freezes.")
        form = FreezeWindowForm(request.POST)
        if form.is_valid():
            try:
                freeze = services.freeze_window_create(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"Freeze window “{freeze.name}” created.")
                return redirect("releases:freezes")
    elif can_manage:
        form = FreezeWindowForm()
    now = timezone.now()
    freezes = selectors.visible_freeze_windows(request.user).filter(end__gt=now).order_by("start")
    return render(
        request,
        "releases/freeze_list.html",
        {"freezes": freezes, "now": now, "form": form, "can_manage": can_manage},
        status=form_status(form) if form is not None else 200,
    )


@login_required
@GET_OR_POST
def freeze_delete(request: HttpRequest, pk: int) -> HttpResponse:
    perms.require(perms.can_manage_freezes(request.user), "Only release managers can set freezes.")
    freeze = get_object_or_404(FreezeWindow, pk=pk)
    if request.method == "POST":
        services.freeze_window_delete(actor=request.user, freeze=freeze)
        messages.success(request, f"Freeze window “{freeze.name}” deleted.")
    return redirect("releases:freezes")
