from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Account security"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from accounts import checks  # noqa: F401  (registers the settings check)
        from accounts.otp import mark_session_at_login

        user_logged_in.connect(mark_session_at_login, dispatch_uid="accounts_mark_session_at_login")
