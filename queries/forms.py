"""Forms of the query pages: raise, answer (with an optional correction), close, reopen."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models

from queries.services import MAX_TEXT

TEXTAREA = forms.Textarea(attrs={"rows": 3})


class RaiseForm(forms.Form):
    text = forms.CharField(label="Question to the site", max_length=MAX_TEXT, widget=TEXTAREA)


class AnswerForm(forms.Form):
    text = forms.CharField(label="Answer", max_length=MAX_TEXT, widget=TEXTAREA)
    correct = forms.BooleanField(label="Correct the value in the same step", required=False)
    new_value = forms.CharField(label="Corrected value", required=False, max_length=MAX_TEXT)

    def __init__(
        self, *args: Any, field: models.Field | None = None, current: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if field is None:
            del self.fields["correct"]
            del self.fields["new_value"]
            return
        choices = list(field.flatchoices) if field.choices else None
        if isinstance(field, models.BooleanField):
            choices = [("true", "Yes"), ("false", "No")]
            current = "true" if current else "false"
        if choices:
            self.fields["new_value"] = forms.ChoiceField(
                label="Corrected value",
                required=False,
                choices=[("", "—"), *[(str(k), v) for k, v in choices]],
            )
        self.fields[
            "new_value"
        ].help_text = f"{field.verbose_name}; now {current if current not in (None, '') else '—'}"
        if not self.is_bound:
            self.initial["new_value"] = "" if current is None else str(current)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "correct" in self.fields and not data.get("correct"):
            data.pop("new_value", None)
        return data


class CloseForm(forms.Form):
    text = forms.CharField(label="Closing note", max_length=MAX_TEXT, required=False, widget=TEXTAREA)


class ReopenForm(forms.Form):
    text = forms.CharField(label="Why reopen", max_length=MAX_TEXT, widget=TEXTAREA)
