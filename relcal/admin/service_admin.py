"""Model admins whose every write goes through a service, with the signed-in user as the actor,
so that the admin obeys exactly the rules the API and the pages obey.

How a service's refusal becomes a form error: the admin saves the object and its inline rows in
one transaction. When a service raises ``ValidationError`` (or ``PermissionDenied``), we raise
``ServiceRefused`` naming the form or inline row it belongs to; the transaction rolls back, so
nothing is stored, and the page is processed once more with that error pinned on its form, which
the admin then shows like any other validation error. Validation therefore runs in one place,
the service, against the same data and in the same order as the real save.

To put a model in the admin over its services: subclass ``ServiceModelAdmin``, list the fields
the services take in ``service_fields`` and implement ``service_create``, ``service_update``
and ``service_delete``; inline rows the same way with ``ServiceInline``. Other apps add
fieldsets to it through the site (``RelcalAdminSite.add_fieldset``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import model_ngettext
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy

_ERRORS_ATTR = "_relcal_service_errors"
Refusal = ValidationError | PermissionDenied


class ServiceRefused(Exception):
    """A service refused a write; ``errors`` maps a form prefix (None: the main form) to it."""

    def __init__(self, key: str | None, error: Refusal) -> None:
        super().__init__(key, error)
        self.errors: dict[str | None, Refusal] = {key: error}

    @property
    def messages(self) -> list[str]:
        return [message for error in self.errors.values() for message in error_messages(error)]


def error_messages(error: Refusal) -> list[str]:
    if isinstance(error, PermissionDenied):
        return [str(error) or "You are not allowed to do this."]
    return list(error.messages)


def _pin_errors(form: forms.BaseForm, error: Refusal) -> None:
    if isinstance(error, PermissionDenied) or not hasattr(error, "error_dict"):
        form.add_error(None, error_messages(error))
        return
    for field, field_errors in error.error_dict.items():
        # Errors about fields the form does not edit (state, release, ...) go on top of it.
        target = field if field in form.fields and field != NON_FIELD_ERRORS else None
        form.add_error(target, field_errors)


class ServiceModelForm(forms.ModelForm):
    """A model form that shows the error a service raised for it on the previous attempt."""

    service_errors: dict[str | None, Refusal] = {}  # set per request, on a per-request class

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        error = self.service_errors.get(self.prefix)
        if error is not None:
            _pin_errors(self, error)
        return cleaned


class ServiceInlineFormSet(forms.BaseInlineFormSet):
    """Shows a refused deletion above the inline rows (a deleted row's own errors are hidden)."""

    service_errors: dict[str | None, Refusal] = {}

    def clean(self) -> None:
        super().clean()
        error = self.service_errors.get(self.prefix)
        if error is not None:
            raise ValidationError(error_messages(error))


def _refusals(request: HttpRequest) -> dict[str | None, Refusal]:
    return getattr(request, _ERRORS_ATTR, {})


class ServiceInline(admin.TabularInline):
    """An inline whose rows are created, changed and deleted by services (see ``save_formset``)."""

    form = ServiceModelForm
    formset = ServiceInlineFormSet
    extra = 0
    service_fields: tuple[str, ...] = ()

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # Both classes are created afresh for each request, so these attributes do not leak.
        formset.service_errors = formset.form.service_errors = _refusals(request)
        formset.service_inline = self
        return formset

    def can_edit(self, request: HttpRequest, parent: models.Model | None) -> bool:
        """Whether the user may change the rows of ``parent`` (None: a parent being added):
        by default, whoever may change the parent itself."""
        if parent is None:
            return True
        parent_admin = self.admin_site.get_model_admin(self.parent_model)
        return parent_admin.has_change_permission(request, parent)

    def has_add_permission(self, request, obj=None) -> bool:
        return super().has_add_permission(request, obj) and self.can_edit(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and self.can_edit(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and self.can_edit(request, obj)

    def service_create(
        self, request: HttpRequest, parent: models.Model, data: dict
    ) -> models.Model:
        raise NotImplementedError

    def service_update(self, request: HttpRequest, obj: models.Model, changes: dict) -> None:
        raise NotImplementedError

    def service_delete(self, request: HttpRequest, obj: models.Model) -> None:
        raise NotImplementedError


class ReadOnly:
    """Rows only services write: listed and read in the admin, never added, changed or
    deleted there."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnly, admin.ModelAdmin):
    """History kept by services: transitions, deliveries, deployments, the audit trail."""


class ReadOnlyInline(ReadOnly, admin.TabularInline):
    extra = 0
    can_delete = False


class ExtensibleModelAdmin(admin.ModelAdmin):
    """Shows the fieldsets other apps add through ``RelcalAdminSite.add_fieldset`` after its own
    (declared in ``fieldsets``), as read-only fields."""

    def _extra_fieldsets(self):
        return getattr(self.admin_site, "extra_fieldsets", lambda model: [])(self.model)

    def get_fieldsets(self, request, obj=None):
        extra = [
            (extra.title, {"fields": tuple(extra.fields), "description": extra.description})
            for extra in self._extra_fieldsets()
        ]
        return (*super().get_fieldsets(request, obj), *extra)

    def get_readonly_fields(self, request, obj=None):
        names = [name for extra in self._extra_fieldsets() for name in extra.fields]
        return (*super().get_readonly_fields(request, obj), *names)

    def __getattr__(self, name: str):
        # The admin looks up a read-only field's display function on the model admin.
        if not name.startswith("_"):
            for extra in self._extra_fieldsets():
                if name in extra.fields:
                    return extra.fields[name]
        raise AttributeError(name)


class ServiceModelAdmin(ExtensibleModelAdmin):
    """A model admin whose writes all go through services, refusals shown as form errors."""

    form = ServiceModelForm
    actions = ["delete_selected"]
    service_fields: tuple[str, ...] = ()

    def service_create(self, request: HttpRequest, data: dict) -> models.Model:
        raise NotImplementedError

    def service_update(self, request: HttpRequest, obj: models.Model, changes: dict) -> None:
        raise NotImplementedError

    def service_delete(self, request: HttpRequest, obj: models.Model) -> None:
        raise NotImplementedError

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.service_errors = _refusals(request)
        return form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method != "POST":
            return super().changeform_view(request, object_id, form_url, extra_context)
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            # Rolled back: nothing was stored. Go again, with the errors pinned on their forms.
            setattr(request, _ERRORS_ATTR, refused.errors)
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            # The error found no form to sit on (the data changed meanwhile): still store nothing.
            for message in refused.messages:
                self.message_user(request, message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change) -> None:
        try:
            if change:
                changes = {
                    name: form.cleaned_data[name]
                    for name in form.changed_data
                    if name in self.service_fields
                }
                if changes:
                    self.service_update(request, obj, changes)
            else:
                data = {
                    name: form.cleaned_data[name]
                    for name in self.service_fields
                    if name in form.cleaned_data
                }
                obj.pk = self.service_create(request, data).pk
        except (ValidationError, PermissionDenied) as error:
            raise ServiceRefused(None, error) from error
        # The admin goes on with ``obj`` (inlines, log entry, redirect): make it the stored row.
        obj._state.adding = False
        obj.refresh_from_db()

    def save_formset(self, request, form, formset, change) -> None:
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        inline: ServiceInline | None = getattr(formset, "service_inline", None)
        if inline is None:
            return  # a read-only inline: its rows cannot change here
        parent = form.instance
        deleted = set(formset.deleted_forms)
        # Deletions first, so that a row can be replaced by a new one in the same save.
        for row in formset.initial_forms:
            if row in deleted and row.instance.pk is not None:
                try:
                    inline.service_delete(request, row.instance)
                except (ValidationError, PermissionDenied) as error:
                    refusal = ValidationError(
                        [f"“{row.instance}” was not deleted: {m}" for m in error_messages(error)]
                    )
                    raise ServiceRefused(formset.prefix, refusal) from error
                formset.deleted_objects.append(row.instance)
        for row in formset.forms:
            if row in deleted or not row.has_changed():
                continue
            try:
                if row in formset.initial_forms:
                    changed = [name for name in row.changed_data if name in inline.service_fields]
                    inline.service_update(
                        request, row.instance, {name: row.cleaned_data[name] for name in changed}
                    )
                    formset.changed_objects.append((row.instance, changed))
                else:
                    data = {
                        name: row.cleaned_data[name]
                        for name in inline.service_fields
                        if name in row.cleaned_data
                    }
                    formset.new_objects.append(inline.service_create(request, parent, data))
            except (ValidationError, PermissionDenied) as error:
                raise ServiceRefused(row.prefix, error) from error

    def delete_model(self, request, obj) -> None:
        try:
            self.service_delete(request, obj)
        except (ValidationError, PermissionDenied) as error:
            raise ServiceRefused(None, error) from error

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceRefused as refused:
            for message in refused.messages:
                self.message_user(request, message, messages.ERROR)
            opts = self.opts
            return HttpResponseRedirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id])
            )

    def delete_queryset(self, request, queryset) -> int:
        """Delete each object through its service; report each refusal. Returns how many went."""
        deleted = 0
        for obj in queryset:
            try:
                with transaction.atomic():
                    self.log_deletions(request, [obj])
                    self.service_delete(request, obj)
            except (ValidationError, PermissionDenied) as error:
                message = " ".join(error_messages(error))
                self.message_user(request, f"{obj}: {message}", messages.ERROR)
            except Http404:  # deleted by a concurrent request: gone, as asked, but not by us
                self.message_user(request, f"{obj}: deleted meanwhile by someone else.")
            else:
                deleted += 1
        return deleted

    @admin.action(
        permissions=["delete"],
        description=gettext_lazy("Delete selected %(verbose_name_plural)s"),
    )
    def delete_selected(self, request, queryset):
        # Django's own action logs and counts every selected row as deleted; ours asks the
        # service for each one and reports only what it really deleted.
        if not request.POST.get("post"):
            return django_delete_selected(self, request, queryset)
        _objects, _counts, perms_needed, protected = self.get_deleted_objects(queryset, request)
        if protected:
            return django_delete_selected(self, request, queryset)
        if perms_needed:
            raise PermissionDenied
        count = self.delete_queryset(request, queryset)
        if count:
            self.message_user(
                request,
                f"Deleted {count} {model_ngettext(self.opts, count)}.",
                messages.SUCCESS,
            )
        return None
