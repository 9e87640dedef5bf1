"""How each person wants each kind of reminder: right away (the default, no row), in a daily
digest, or not at all."""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.db import transaction

from . import registry
from .models import NotificationMode, NotificationPreference

Mode = NotificationMode


def modes(user_ids: Iterable[int]) -> dict[tuple[int, str], str]:
    """(user id, kind) → mode, for the kinds these users changed from "right away"."""
    return {
        (user_id, kind): mode
        for user_id, kind, mode in NotificationPreference.objects.filter(
            user_id__in=set(user_ids)
        ).values_list("user_id", "kind", "mode")
    }


def set_mode(user, kind: str, mode: str) -> None:
    """Record how ``user`` wants ``kind``; right away is the default and keeps no row."""
    if mode == Mode.IMMEDIATE:
        NotificationPreference.objects.filter(user=user, kind=kind).delete()
    else:
        NotificationPreference.objects.update_or_create(
            user=user, kind=kind, defaults={"mode": mode}
        )


class PreferencesForm(forms.Form):
    """One choice per reminder kind; a kind missing from a submission keeps its setting."""

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        current = dict(user.notification_preferences.values_list("kind", "mode"))
        for name, kind in registry.kinds().items():
            self.fields[name] = forms.ChoiceField(
                label=kind.label,
                choices=NotificationMode.choices,
                initial=current.get(name, NotificationMode.IMMEDIATE),
                widget=forms.RadioSelect,
                required=False,
            )

    def save(self, user) -> int:
        changed = 0
        with transaction.atomic():
            for name in self.changed_data:
                if self.cleaned_data[name]:
                    set_mode(user, name, self.cleaned_data[name])
                    changed += 1
        return changed
