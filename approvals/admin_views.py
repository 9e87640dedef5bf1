"""The approvers' workbench in the admin: "My pending sign-offs" and the sign-off page.

The sign-off page shows exactly what is being approved (the snapshot whose fingerprint the
signature binds to), what changed since the approver last signed, and a form that needs their
password every time. The form posts the fingerprint it showed: if the release changed in the
meantime, the service refuses instead of binding the signature to something unseen.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from accounts import oidc, signatures
from releases.models import Release

from . import fingerprint as fp
from . import selectors, services
from .models import DEFAULT_MEANING, Decision, Meaning, Role


class SignOffForm(forms.Form):
    role = forms.ChoiceField(label="Signing as")
    decision = forms.ChoiceField(choices=Decision.choices, widget=forms.RadioSelect)
    meaning = forms.ChoiceField(
        choices=Meaning.choices, help_text="What your signature means, as recorded."
    )
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        required=False,
        max_length=2_000,
        help_text="Required when you reject.",
    )
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Re-enter it at every signing: it ties this signature to you.",
    )
    fingerprint = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, roles: list[str], provider: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(role, Role(role).label) for role in roles]
        if provider:
            # People who sign in through the company's provider sign by signing in there again.
            del self.fields["password"]


def _add_errors(form: forms.Form, error: ValidationError | PermissionDenied) -> None:
    if isinstance(error, PermissionDenied):
        form.add_error(None, str(error))
        return
    for field, messages_ in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages_)


def _context(request: HttpRequest, title: str, **extra) -> dict:
    return {**admin.site.each_context(request), "title": title, **extra}


PENDING_PAGE = 50


def pending_view(request: HttpRequest) -> HttpResponse:
    if not selectors.signing_group_ids(request.user):
        raise PermissionDenied("Only approvers have sign-offs to give.")
    # A page at a time (soonest go-live first): an approver of every release would otherwise
    # get one row per release awaiting sign-off.
    try:
        number = max(1, min(int(request.GET.get("page", "1")), 10_000))
    except ValueError:
        number = 1
    pending, more = selectors.pending_page(request.user, page=number, size=PENDING_PAGE)
    return TemplateResponse(
        request,
        "approvals/admin/pending.html",
        _context(
            request,
            "My pending sign-offs",
            pending=pending,
            page_number=number,
            previous_page=number - 1 if number > 1 else None,
            next_page=number + 1 if more else None,
        ),
    )


def _signable_roles(user, release: Release) -> list[str]:
    groups = selectors.signing_group_ids(user)
    return [r.role for r in release.approval_requirements.all() if r.group_id in groups]


def sign_view(request: HttpRequest, release_id: int) -> HttpResponse:
    release = get_object_or_404(selectors.with_approval_data(Release.objects.all()), pk=release_id)
    if not selectors.may_see_release(request.user, release):
        # A private release that does not (or no longer) await them: answered as if missing.
        raise Http404("No Release matches the given query.")
    roles = _signable_roles(request.user, release)
    if not roles:
        raise PermissionDenied("You sign for none of the roles this release needs.")
    status = selectors.approval_status(release)
    wanted = request.GET.get("role")
    role = wanted if wanted in roles else roles[0]
    initial = {
        "role": role,
        "decision": Decision.APPROVE,
        "meaning": DEFAULT_MEANING.get(role, Meaning.APPROVED_FOR_RELEASE),
        "fingerprint": status.fingerprint,
    }
    provider = signatures.signs_with_provider(request.user)
    returned = signatures.take_returned(request) if request.method == "GET" else None
    data = request.POST if request.method == "POST" else None
    if returned is not None:
        data = returned.data or None
    form = SignOffForm(data, roles=roles, initial=initial, provider=provider)
    signoff = None
    if returned is not None and returned.error:
        # Nothing was signed: say why, and keep what they chose when it is still there.
        if form.is_bound:
            form.is_valid()
            form.add_error(None, returned.error)
        else:
            messages.error(request, returned.error)
    elif form.is_bound and form.is_valid():
        try:
            if returned is None and provider:
                # Nothing is signed yet: the provider confirms the signer first, then the
                # browser comes back here with the form's content and a ticket.
                return signatures.begin(request, data=form.cleaned_data, return_to=request.path)
            signoff = services.signoff_record(
                actor=request.user,
                request=request,
                release=release,
                signing_ticket=returned.ticket if returned is not None else "",
                **form.cleaned_data,
            )
        except (ValidationError, PermissionDenied) as error:
            _add_errors(form, error)
        except oidc.ProviderError as error:
            form.add_error(None, str(error))
    if signoff is not None:
        verb = "approved" if signoff.decision == Decision.APPROVE else "rejected"
        messages.success(
            request,
            f"You {verb} {release.name} as {signoff.get_role_display()} "
            f"(fingerprint {signoff.fingerprint[:12]}…).",
        )
        return redirect("admin:approvals_signoff_pending")
    mine = [s for s in status.signoffs if s.signer_id == request.user.pk]
    earlier = next((s for s in reversed(mine) if s.stale), None)
    names = selectors.dependency_names(request.user, release)
    changes = fp.diff(earlier.snapshot, status.snapshot, names=names) if earlier else []
    context = _context(
        request,
        f"Sign off {release.name}",
        release=release,
        status=status,
        snapshot=status.snapshot,
        dependency_names=names,
        form=form,
        mine=mine,
        earlier=earlier,
        changes=changes,
        awaiting=release.state in selectors.AWAITING,
        pending_url=reverse("admin:approvals_signoff_pending"),
        signs_with_provider=provider,
    )
    status_code = 400 if form.is_bound and form.errors else 200
    return TemplateResponse(request, "approvals/admin/sign.html", context, status=status_code)
