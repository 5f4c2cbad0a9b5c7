from django import forms

from exports.services import TOKEN_DAYS_DEFAULT, TOKEN_DAYS_MAX
from trial.models import TokenScope


class TokenIssueForm(forms.Form):
    username = forms.CharField(
        max_length=150, help_text="User the token acts as (their roles and sites apply)."
    )
    label = forms.CharField(max_length=100, required=False, help_text="What the token is for.")
    read_only = forms.BooleanField(
        required=False, initial=True, help_text="Sponsor and monitor tokens are always read-only."
    )
    expires_in_days = forms.IntegerField(
        min_value=1,
        max_value=TOKEN_DAYS_MAX,
        initial=TOKEN_DAYS_DEFAULT,
        label="Expires in (days)",
        help_text=f"The token stops working after this many days (1 to {TOKEN_DAYS_MAX}).",
    )
    scopes = forms.MultipleChoiceField(
        choices=TokenScope.choices,
        initial=TokenScope.values,
        widget=forms.CheckboxSelectMultiple,
        help_text="What the token may call; its user's roles and sites apply on top.",
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
