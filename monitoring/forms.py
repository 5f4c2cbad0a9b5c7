"""Forms of the monitoring pages (thin: the services apply every rule)."""

from __future__ import annotations

from django import forms

from monitoring.models import CasebookMeaning, LockKind, LockScope


class LockForm(forms.Form):
    scope = forms.ChoiceField(choices=LockScope.choices)
    kind = forms.ChoiceField(choices=LockKind.choices, initial=LockKind.LOCK)
    resource = forms.CharField(required=False, help_text="Export resource of a record, e.g. adverse-events.")
    object_id = forms.IntegerField(required=False, help_text="Record, participant or site id.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class ReleaseForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class CasebookSignForm(forms.Form):
    meaning = forms.ChoiceField(choices=CasebookMeaning.choices, widget=forms.RadioSelect)
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
