"""Settings read from the environment; defaults give the embedded demo (SQLite under var/)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


SECRET_KEY = env_str("SECRET_KEY", "insecure-demo-key-change-me-in-production-0123456789")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_str("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in env_str("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "trial",
    "safety",
    "imaging",
    "lesions",
    "pathology",
    "exports",
    "accounts",
    "queries",
    "monitoring",
    "casebook",
    "kinetics",
    "mri",
]

MIDDLEWARE = [
    "trial.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "trial.audit_events.AuditRequestMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.IdleTimeoutMiddleware",
    "accounts.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "trial.middleware.LoginRequiredEverywhereMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "trial.context_processors.navigation",
                "accounts.context_processors.account_menu",
            ],
            # Labels instead of codes and one date format on every page (`label`, `when`, `day`, ...).
            "builtins": ["config.display"],
        },
    },
]

VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'demo.sqlite3'}", conn_max_age=0
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
LOGIN_LOCKOUT_FAILURES = env_int("LOGIN_LOCKOUT_FAILURES", 5)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15)
# A session unused this long is logged out (accounts/middleware.py); 0 switches the idle timeout off.
SESSION_IDLE_TIMEOUT_MINUTES = env_int("SESSION_IDLE_TIMEOUT_MINUTES", 30)
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3600)  # seconds a reset link stays valid
# TOTP second factor (django-otp): roles that must enrol a device ("admin" = superusers and staff).
OTP_REQUIRED_ROLES = [r.strip() for r in env_str("OTP_REQUIRED_ROLES", "").split(",") if r.strip()]
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "CD8-PET EDC")
# Reverse proxies whose X-Forwarded-For is believed (IPs or CIDRs); see trial/client_ip.py.
TRUSTED_PROXIES = [p.strip() for p in env_str("TRUSTED_PROXIES", "").split(",") if p.strip()]
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {_exc}") from None

LANGUAGE_CODE = "en-gb"
# One date format on every page: 2026-12-06, 2026-12-06 14:03 UTC (config/formats/en_GB/formats.py).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request otherwise
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
UPLOAD_TMP_DIR = Path(env_str("UPLOAD_TMP_DIR", str(VAR_DIR / "upload_tmp")))
FILE_UPLOAD_TEMP_DIR = None
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("UPLOAD_MAX_FILES", 2000)
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 2 * 1024**3)
UPLOAD_MAX_FILES = env_int("UPLOAD_MAX_FILES", 2000)
# A PET upload whose header contradicts the trial's records beyond these is blocked (not just warned) until
# a radiologist or data manager overrides it; `pet_suv` refuses contradicting options with the same limits.
PET_BLOCK_INJECTION_DAYS = float(env_str("PET_BLOCK_INJECTION_DAYS", "1"))
PET_BLOCK_WINDOW_TOLERANCE_H = float(env_str("PET_BLOCK_WINDOW_TOLERANCE_H", "12"))
PET_BLOCK_WEIGHT_PCT = float(env_str("PET_BLOCK_WEIGHT_PCT", "20"))

# Celery: with no broker configured (the demo), tasks run in-process. Celery still acquires a producer for an
# eager task; the in-memory transport's URL names a host so kombu does not warn "No hostname was supplied".
REDIS_URL = env_str("REDIS_URL", "")
EAGER_BROKER_URL = "memory://localhost/"
CELERY_BROKER_URL = REDIS_URL or EAGER_BROKER_URL
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "cd8pet-edc@localhost")
SPONSOR_SAFETY_EMAIL = env_str("SPONSOR_SAFETY_EMAIL", "drug.safety@sponsor.example")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "trial.api_auth.HashedTokenAuthentication",
    ],
    # Read-only tokens (and read-only roles) are refused on every unsafe method, on every endpoint.
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "exports.permissions.ReadOnlyTokenRefusesWrites",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.UserRateThrottle",
        "exports.permissions.TokenRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"user": env_str("API_THROTTLE_USER", "20000/hour")},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Every API list is a cursor page ({"next", "previous", "results"}; ?page_size=, ?cursor=), as the exports.
    "DEFAULT_PAGINATION_CLASS": "exports.pagination.IdCursorPagination",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CD8-PET Trial Data Manager API",
    # The sponsor workflow from token to files, with curl examples, shown on /api/v1/docs/.
    "DESCRIPTION": (BASE_DIR / "exports" / "api_workflow.md").read_text(encoding="utf-8"),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name per choice set, so every enum in the schema says what it is.
    "ENUM_NAME_OVERRIDES": {
        "RelatednessEnum": "safety.models.Relatedness",
        "DatePrecisionEnum": "safety.models.DatePrecision",
        "ParticipantStatusEnum": "trial.models.ParticipantStatus",
        "VisitStatusEnum": "trial.models.VisitStatus",
        "ScanStatusEnum": "imaging.models.ScanStatus",
        "UploadStateEnum": "imaging.models.UploadState",
        "MeasurementStateEnum": "lesions.models.MeasurementState",
        "NonTargetStateEnum": "lesions.models.NonTargetState",
        "JobStatusEnum": "lesions.models.JobStatus",
        "ExportJobStatusEnum": "exports.models.ExportJob.Status",
        "LockKindEnum": "monitoring.models.LockKind",
        "QueryMessageKindEnum": "queries.models.MessageKind",
    },
    # Error responses (400/401/403/404/409/429) documented once for every operation (config/openapi.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi.document_error_responses",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "trial.logging.RequestIdFilter"}},
    "formatters": {"kv": {"()": "trial.logging.KeyValueFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "kv", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
LOGIN_URL_PATH = "/accounts/login/"
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_DEFAULT_QUEUE", "celery")
# Static files are served from the finders too, so tests and the demo need no collectstatic step.
WHITENOISE_USE_FINDERS = True
# Scan-to-biopsy matching: same period, nearest date, within this many days.
PATHOLOGY_SCAN_MATCH_WINDOW_DAYS = env_int("PATHOLOGY_SCAN_MATCH_WINDOW_DAYS", 21)
# Idempotency keys and one-time form tokens (trial/idempotency.py): kept this long (at least 24 h), then
# purged by `purge_idempotency_keys` (every 6 h on beat); a retry waits this long for an in-flight twin, then 409.
IDEMPOTENCY_KEY_TTL_HOURS = env_int("IDEMPOTENCY_KEY_TTL_HOURS", 48)
IDEMPOTENCY_LOCK_TIMEOUT_SECONDS = env_int("IDEMPOTENCY_LOCK_TIMEOUT_SECONDS", 10)

# --- Deployment profile (deploy) ---------------------------------------------------------------------
# DJANGO_PROFILE=production: HTTPS-only cookies, HSTS, SSL redirect and no demo keys (refuses to start).
DJANGO_PROFILE = env_str("DJANGO_PROFILE", "development")
PRODUCTION = DJANGO_PROFILE == "production"
if DJANGO_PROFILE not in {"development", "production"}:
    raise ImproperlyConfigured(
        f"DJANGO_PROFILE must be 'development' or 'production', not {DJANGO_PROFILE!r}"
    )
if PRODUCTION and not env_str("SECRET_KEY"):
    raise ImproperlyConfigured("SECRET_KEY must be set in the production profile (DJANGO_PROFILE=production)")
# Key of the DICOM UID pseudonyms (imaging.services.common.uid_key): separate from SECRET_KEY, so rotating
# the session key never changes the pseudonyms. Outside production a demo value is derived.
DICOM_PSEUDONYM_KEY = env_str("DICOM_PSEUDONYM_KEY")
if PRODUCTION and (not DICOM_PSEUDONYM_KEY or DICOM_PSEUDONYM_KEY == SECRET_KEY):
    raise ImproperlyConfigured(
        "DICOM_PSEUDONYM_KEY must be set, and differ from SECRET_KEY, in the production profile"
    )
DICOM_PSEUDONYM_KEY = DICOM_PSEUDONYM_KEY or SECRET_KEY  # demo: pseudonyms stay those stored so far
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]  # the load balancer's plain-HTTP probe
    # Only behind a TLS-terminating proxy that sets it, e.g. "HTTP_X_FORWARDED_PROTO,https".
    if env_str("SECURE_PROXY_SSL_HEADER"):
        _header, _, _value = env_str("SECURE_PROXY_SSL_HEADER").partition(",")
        SECURE_PROXY_SSL_HEADER = (_header.strip(), _value.strip() or "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Every profile: pages and API responses are never cached (config/middleware.py), and a CSP with no
# inline or eval'd script (scripts live in /static; inline style attributes are allowed).
MIDDLEWARE.insert(
    MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1, "config.middleware.NoStoreMiddleware"
)
MIDDLEWARE.append("csp.middleware.CSPMiddleware")
INSTALLED_APPS.append("csp")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],  # the nonce only for drf-spectacular's ReDoc page
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Worker faults (deploy) --------------------------------------------------------------------------
# A message a dead worker never acknowledged is handed out again after the visibility timeout, so it must
# exceed every hard time limit below (else a live task is delivered twice). Limits: (soft, hard) seconds.
# Workers look for such messages every CELERY_UNACKED_RESTORE_SECONDS (kombu's default would be ~100 s).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 600),
    "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_SECONDS", 10),
    "unacked_restore_throttle": 1,
}
TASK_TIME_LIMITS = {
    "imaging.tasks.process_series_upload": (
        env_int("PET_TASK_SOFT_LIMIT", 240),
        env_int("PET_TASK_HARD_LIMIT", 300),
    ),
    "lesions.tasks.fit_curve": (60, 90),
    "lesions.tasks.fit_voxelwise": (240, 300),
    "mri.tasks.make_maps": (480, 540),
    "lesions.tasks.analyse_mask": (240, 300),
    "exports.tasks.run_bulk_export": (480, 540),
    "safety.tasks.send_sae_notification": (60, 90),
}
CELERY_TASK_ANNOTATIONS = {
    name: {"soft_time_limit": soft, "time_limit": hard} for name, (soft, hard) in TASK_TIME_LIMITS.items()
}
# Beat re-queues work left in "processing"/"running" with no progress for this long (a lost message), at
# most WORKER_MAX_ATTEMPTS runs in all; then it is marked failed.
WORKER_STUCK_AFTER_SECONDS = env_int("WORKER_STUCK_AFTER_SECONDS", 900)
WORKER_STUCK_CHECK_SECONDS = env_int("WORKER_STUCK_CHECK_SECONDS", 300)
WORKER_MAX_ATTEMPTS = env_int("WORKER_MAX_ATTEMPTS", 3)
PET_PROCESSING_TEST_DELAY_SECONDS = float(env_str("PET_PROCESSING_TEST_DELAY_SECONDS", "0"))  # tests only

# --- Bad input, error shape, shared throttles, bulk export limits (badinput) -----------------------------
# Query parameters with NUL bytes or undecodable text are refused (400) before any view (trial/query_guard.py).
MIDDLEWARE.insert(
    MIDDLEWARE.index("trial.middleware.RequestIdMiddleware") + 1, "trial.query_guard.QueryGuardMiddleware"
)
# Every API error is RFC 9457 problem details (trial/api_errors.py). Token first: a bad or revoked token is a
# 401 with "WWW-Authenticate: Token" on every route (DRF takes the header from the first authenticator).
REST_FRAMEWORK["EXCEPTION_HANDLER"] = "trial.api_errors.problem_exception_handler"
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = [
    "trial.api_auth.HashedTokenAuthentication",
    "rest_framework.authentication.SessionAuthentication",
]
# Throttle counts live in the cache: Redis when REDIS_URL is set (shared by every web process), else locmem.
CACHES = {
    "default": (
        {"BACKEND": "trial.cache.PrefixedRedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "cd8pet"}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# Bulk exports per user: at most this many queued or running, and this many started per hour (else 429).
EXPORT_MAX_RUNNING_PER_USER = env_int("EXPORT_MAX_RUNNING_PER_USER", 1)
EXPORT_MAX_STARTED_PER_HOUR = env_int("EXPORT_MAX_STARTED_PER_HOUR", 10)
