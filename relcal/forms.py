"""Form pieces every app's pages use: the browser's date pickers, model-borrowed fields, forms
with their own element ids, and a service's refusal shown on the form it came from."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from relcal.text import RefusesBidiControls, is_short


class DateTimeLocalInput(forms.DateTimeInput):
    """The browser's date-and-time picker; the value is read in the current time zone."""

    input_type = "datetime-local"

    def __init__(self, attrs: dict | None = None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict | None = None):
        super().__init__(attrs, format="%Y-%m-%d")


def model_field(model: type[models.Model], name: str, **overrides) -> forms.Field:
    """The form field a ModelForm would build for ``model.name``; a short text field (a name,
    title, version, slug) also refuses bidi control characters, as the API does (NUL characters
    Django's own CharField refuses already)."""
    field = model._meta.get_field(name).formfield(**overrides)
    if isinstance(field, forms.CharField) and is_short(
        field.max_length, multiline=isinstance(field.widget, forms.Textarea)
    ):
        field.validators.append(RefusesBidiControls(field.label))
    return field


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: on the field it names when the form has
    that field, otherwise at the top of the form (``add_error`` would raise on unknown keys)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


class PageForm(forms.Form):
    """A form whose element ids start with ``id_prefix``, so that several forms on one page
    (the release page has four) never share an id and every label points at its own field."""

    id_prefix = "id"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)
