"""Account security: login lockout, password change and reset, idle timeout, TOTP second factor."""
