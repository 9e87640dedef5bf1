"""Post/redirect/get for the release page's forms, refusals included.

A refused form used to be answered with the release page itself, from the POST: the address bar
kept the form's endpoint, a refresh posted again, and the page opened at the top with the error
far below. Now every answer to a POST is a redirect to the release page at the form's section.
A refusal travels in the session (what was typed and the errors, never a form object) and is
shown once: announced at the top (an error message, ``role="alert"``) and on the form itself,
where relcal.js puts the focus on the first field in error.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect

from ..models import Release

SESSION_KEY = "relcal_refused_form"


def refuse(
    request: HttpRequest,
    release: Release,
    *,
    form_key: str,
    form: forms.Form,
    anchor: str,
    what: str,
) -> HttpResponse:
    """Keep the refused ``form`` for the next view of ``release`` and send the user there;
    ``what`` starts the announcement ("The dependency was not added")."""
    data = {name: request.POST.getlist(name) for name in request.POST}
    data.pop("csrfmiddlewaretoken", None)
    request.session[SESSION_KEY] = {
        "release": release.pk,
        "form": form_key,
        "data": data,
        "errors": form.errors.get_json_data(),
    }
    problems = [error for errors in form.errors.values() for error in errors]
    messages.error(request, f"{what}: {' '.join(problems)}")
    return redirect(f"{release.get_absolute_url()}#{anchor}")


def take(request: HttpRequest, release: Release, builders: dict[str, Callable]) -> dict:
    """The refused form kept for ``release``, as ``{form_key: bound form with its errors}``, or
    nothing. ``builders[form_key](data)`` builds the form; the errors are the ones the POST got,
    not a new validation, since a service's refusal (a cycle, a frozen scope) is not the form's."""
    kept = request.session.get(SESSION_KEY)
    if not kept or kept.get("release") != release.pk or kept.get("form") not in builders:
        return {}
    del request.session[SESSION_KEY]
    data = QueryDict(mutable=True)
    for name, values in kept["data"].items():
        data.setlist(name, values)
    form = builders[kept["form"]](data)
    # Errors as the refusal had them: ``add_error`` needs the form cleaned, so start it empty.
    form._errors = ErrorDict(renderer=form.renderer)
    form.cleaned_data = {}
    for name, errors in kept["errors"].items():
        field = name if name in form.fields else None
        for error in errors:
            form.add_error(field, ValidationError(error["message"], code=error["code"] or None))
    return {kept["form"]: form}
