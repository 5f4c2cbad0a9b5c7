from django import forms


class TokenIssueForm(forms.Form):
    username = forms.CharField(
        max_length=150, help_text="User the token acts as (their roles and sites apply)."
    )
    label = forms.CharField(max_length=100, required=False, help_text="What the token is for.")
    read_only = forms.BooleanField(
        required=False, initial=True, help_text="Sponsor and monitor tokens are always read-only."
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
