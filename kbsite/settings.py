"""Settings for CPU Migration KB: one module, driven by environment variables.

Defaults give a working local site (SQLite under var/, Celery tasks run in-process); production
sets DATABASE_URL, REDIS_URL, SECRET_KEY and ALLOWED_HOSTS. Bad values stop the process at start
with ImproperlyConfigured naming the variable. `.env.example` lists every variable.
"""

import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from kbsite.env import (
    env_bool,
    env_database,
    env_int,
    env_list,
    env_origins,
    env_redis_url,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Core -------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
if not ALLOWED_HOSTS and not DEBUG:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list at least one host when DEBUG is off")

CSRF_TRUSTED_ORIGINS = env_origins("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # kbsite is an app too, so its templates/, static/ and tasks.py are found like any other's.
    "kbsite",
    "cpus",
    # Compatibility (pair checks, pool pages, matrix runs, pre-flight, plans): its own app with
    # no models of its own (the rows it reads and writes are the catalog's, cpus/models.py).
    "cpus.compat",
    "migrations_log",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Bodies over CPUKB_MAX_REQUEST_BYTES: 413 from the headers alone, before anything is read.
    "kbsite.limits.RequestSizeLimitMiddleware",
    # NUL bytes, lone surrogates, JSON nested too deeply: 400, not 500 (kbsite/limits.py).
    "kbsite.limits.UnstorableInputMiddleware",
    # Content-Security-Policy on every answer, errors included (kbsite/csp.py).
    "kbsite.csp.ContentSecurityPolicyMiddleware",
    # PostgreSQL down: a 503 with a clear message instead of a 500 (the site recovers by itself).
    "kbsite.resilience.DatabaseUnavailableMiddleware",
    # whitenoise serves collected static files in production; runserver serves them in DEBUG.
    *([] if DEBUG else ["whitenoise.middleware.WhiteNoiseMiddleware"]),
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Anonymous page views and every HTML form write, counted in the shared cache.
    "kbsite.throttle.PageThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "kbsite.urls"
WSGI_APPLICATION = "kbsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------

DATABASES = {"default": env_database("DATABASE_URL", BASE_DIR / "var" / "cpukb.sqlite3")}
# Keep a worker's connection between requests (opening one costs PostgreSQL a fork and an
# authentication: it was most of an API request's time); 0 closes it after every request.
# The health check before each request's first query replaces a connection that died, e.g.
# after PostgreSQL restarted, so the site recovers without a restart.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# No statement may run away with a PostgreSQL backend (issue 19: one filter planned for minutes
# and grew a backend to 5.9 GB): PostgreSQL cancels any statement after this many milliseconds
# and the request answers 503 (kbsite/resilience.py). Celery workers use the worker value
# instead (kbsite/celery.py): longer, still well under the task time limit. 0 turns it off.
CPUKB_DB_STATEMENT_TIMEOUT_MS = env_int("CPUKB_DB_STATEMENT_TIMEOUT_MS", 15_000, minimum=0)
CPUKB_WORKER_STATEMENT_TIMEOUT_MS = env_int("CPUKB_WORKER_STATEMENT_TIMEOUT_MS", 120_000, minimum=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    # Appended to libpq options a DATABASE_URL may carry (?options=...); a later -c wins.
    _options["options"] = (
        f"{_options.get('options', '')} -c statement_timeout={CPUKB_DB_STATEMENT_TIMEOUT_MS}"
    ).strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Celery (the app itself is configured in kbsite/celery.py) -------------------------------

REDIS_URL = env_redis_url("REDIS_URL")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    # No broker configured: run every task in-process at .delay() time, and let its exceptions
    # reach the caller, so the embedded default works with nothing else running.
    CELERY_BROKER_URL = "memory://localhost/"
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True

# Redis gives an unacknowledged task (its worker died) to another worker after this many seconds.
# Five minutes: a dead worker's matrix tiles are redone within minutes (the sweeper, run by beat
# every minute, resumes a run idle for two). Every task is short and idempotent (a tile takes
# well under a second) and is killed at CPUKB_TASK_TIME_LIMIT, which must be shorter.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CPUKB_BROKER_VISIBILITY_TIMEOUT", 300, minimum=1)
}
# Verdicts of /api/compat/check remembered per web process (cpus/compat/api/checks.py); 0: none.
CPUKB_VERDICT_CACHE = env_int("CPUKB_VERDICT_CACHE", 1024)
# Most host references one synchronous pool baseline takes (POST /api/pools/baseline, /compat/).
CPUKB_MAX_POOL_REFS = env_int("CPUKB_MAX_POOL_REFS", 1000, minimum=2)
# Class pairs per matrix tile (one Celery task each): smaller tiles spread a run over more workers.
CPUKB_MATRIX_TILE_PAIRS = env_int("CPUKB_MATRIX_TILE_PAIRS", 4_000_000, minimum=1)
# Every task is short (a tile well under a second, a pool's preparation or a catalog re-decode
# seconds), so four minutes is ample; the hard limit stays below the visibility timeout, so a
# task still running is never handed to a second worker.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CPUKB_TASK_SOFT_TIME_LIMIT", 240, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CPUKB_TASK_TIME_LIMIT", 270, minimum=1)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    # The soft limit raises inside the task so it can clean up; it must come before the kill.
    raise ImproperlyConfigured(
        "CPUKB_TASK_TIME_LIMIT must be greater than CPUKB_TASK_SOFT_TIME_LIMIT"
    )
if CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "CPUKB_BROKER_VISIBILITY_TIMEOUT must be greater than CPUKB_TASK_TIME_LIMIT, or a task "
        "still running would be given to a second worker"
    )

# --- Shared cache (throttles, login lockout) -------------------------------------------------

# One cache for every process, so a limit holds for the site and not per gunicorn worker.
# kbsite.cache.PrefixedRedisCache clears only its own keys: the broker may share the database.
CPUKB_CACHE_URL = env_redis_url("CPUKB_CACHE_URL") or REDIS_URL
if CPUKB_CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "kbsite.cache.PrefixedRedisCache",
            "LOCATION": CPUKB_CACHE_URL,
            "KEY_PREFIX": "cpukb-cache",
            # Redis down: throttles give up in well under a second and let requests through.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    # The embedded default (one process, `make run`): the process's own memory is enough.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# /healthz?full=1 (components, worker names, errors) answers staff, the local machine and
# clients sending "Authorization: Bearer <this token>"; unset: no token is accepted.
CPUKB_HEALTH_TOKEN = env_str("CPUKB_HEALTH_TOKEN")

# --- Uploads ----------------------------------------------------------------------------------

# Drift webhooks (cpus/webhooks.py): POST timeout and whether a URL may point at a private,
# loopback or link-local address (off: a user's webhook cannot reach the server's own network).
CPUKB_WEBHOOK_TIMEOUT = env_int("CPUKB_WEBHOOK_TIMEOUT", 10, minimum=1)
CPUKB_WEBHOOK_ALLOW_PRIVATE = env_bool("CPUKB_WEBHOOK_ALLOW_PRIVATE", False)
# The one upload-size limit: the upload form, the API and the management commands pass it to the
# core's decode() (whose own 8 MiB default is only for callers without settings), so a larger
# value is honoured end to end and a smaller one refuses more.
CPUKB_MAX_UPLOAD_BYTES = env_int("CPUKB_MAX_UPLOAD_BYTES", 8 * 1024 * 1024, minimum=1024)
# A dump may arrive as a file or as pasted text in a form or JSON body: allow the dump plus room
# for the other fields, and keep files up to the limit in memory since they are read whole.
# Derived from the upload limit, so a request carrying a dump of the largest size is never
# refused by the request-size limit first.
UPLOAD_REQUEST_MARGIN = 256 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = CPUKB_MAX_UPLOAD_BYTES + UPLOAD_REQUEST_MARGIN
FILE_UPLOAD_MAX_MEMORY_SIZE = CPUKB_MAX_UPLOAD_BYTES
# Any request body above this is refused with 413 before it is read (kbsite/limits.py).
CPUKB_MAX_REQUEST_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE

# --- Static files -----------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            # Hashed, compressed names need `collectstatic` first (done at container start).
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security (strict when DEBUG is off; HTTPS-only parts are opt-in so plain-HTTP gunicorn on
# localhost keeps working) -------------------------------------------------------------------

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Health checks (the container's own, load balancers) poll over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", SECURE_SSL_REDIRECT)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", SECURE_SSL_REDIRECT)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
# Preload (hstspreload.org) is a separate commitment that is hard to undo: opt in explicitly.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    # Only behind a proxy that sets this header itself; otherwise clients could fake HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# --- Internationalisation ---------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- API --------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    # Token first: an unauthenticated API call then gets 401 with "WWW-Authenticate: Token".
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Reading the knowledge base is public; changing it needs an account.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    # LimitOffsetPagination with ?limit capped at 500 (kbsite/limits.py).
    "DEFAULT_PAGINATION_CLASS": "kbsite.limits.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["kbsite.filters.StrictFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "kbsite.api_errors.exception_handler",
    # ?format= is a filter of /api/reports/ (the dump format), not DRF's renderer switch.
    "URL_FORMAT_OVERRIDE": None,
    # Counted in the shared cache with the client identity of kbsite/throttle.py; the rates are
    # CPUKB_THROTTLE_RATES below (read at each request, so tests can override them).
    "DEFAULT_THROTTLE_CLASSES": [
        "kbsite.api.AnonReadThrottle",
        "kbsite.api.AnonWriteThrottle",
        "kbsite.api.UserWriteThrottle",
    ],
}

# --- Throttles (kbsite/throttle.py) ------------------------------------------------------------

# Proxies in front of the site that append the client's address to X-Forwarded-For: 0 (the
# default) trusts no header and counts REMOTE_ADDR; behind one nginx or Caddy, 1.
CPUKB_TRUSTED_PROXIES = env_int("CPUKB_TRUSTED_PROXIES", 0)
CPUKB_THROTTLE_RATES = {
    # API reads and page views per anonymous address (signed-in users are not limited).
    "anon_read": env_str("CPUKB_THROTTLE_ANON_READS", "600/min"),
    "anon_page": env_str("CPUKB_THROTTLE_ANON_PAGES", "300/min"),
    # Pages that compute per request (compatibility, matrix heatmaps, comparisons), anonymous.
    "anon_expensive": env_str("CPUKB_THROTTLE_ANON_EXPENSIVE", "60/min"),
    # Writes (API and HTML forms together) per anonymous address and per account.
    "anon_write": env_str("CPUKB_THROTTLE_ANON_WRITES", "60/hour"),
    "user_write": env_str("CPUKB_THROTTLE_USER_WRITES", "2000/hour"),
    # Sign-up and login form submissions per address (the lockout counts failures apart).
    "signup": env_str("CPUKB_THROTTLE_SIGNUPS", "10/hour"),
    "login": env_str("CPUKB_THROTTLE_LOGINS", "30/min"),
}
for _scope, _rate in CPUKB_THROTTLE_RATES.items():
    if not re.fullmatch(r"[1-9]\d*/(s|sec|m|min|h|hour|d|day)", _rate):
        _name = {
            "anon_page": "ANON_PAGES",
            "anon_expensive": "ANON_EXPENSIVE",
            "signup": "SIGNUPS",
            "login": "LOGINS",
        }.get(_scope, _scope.upper() + "S")
        raise ImproperlyConfigured(
            f"CPUKB_THROTTLE_{_name} must look like '60/hour' (number/s|m|h|d), not {_rate!r}"
        )

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "profile"
LOGOUT_REDIRECT_URL = "home"

# --- Accounts (kbsite/accounts.py, kbsite/lockout.py) -------------------------------------------

# Every password login is refused while its user name or address is locked out.
AUTHENTICATION_BACKENDS = ["kbsite.lockout.LockoutModelBackend"]
CPUKB_LOGIN_FAILURES = env_int("CPUKB_LOGIN_FAILURES", 5, minimum=1)
CPUKB_LOGIN_IP_FAILURES = env_int("CPUKB_LOGIN_IP_FAILURES", 20, minimum=1)
CPUKB_LOGIN_LOCKOUT_SECONDS = env_int("CPUKB_LOGIN_LOCKOUT_SECONDS", 60, minimum=1)
CPUKB_LOGIN_LOCKOUT_MAX_SECONDS = env_int("CPUKB_LOGIN_LOCKOUT_MAX_SECONDS", 3600, minimum=1)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("CPUKB_PASSWORD_MIN_LENGTH", 10, minimum=8)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Password reset by e-mail is offered only with a mail server; without one, the reset page says
# to ask an administrator.
EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    EMAIL_TIMEOUT = 10
    DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "webmaster@localhost")

SPECTACULAR_SETTINGS = {
    "TITLE": "CPU Migration KB API",
    "DESCRIPTION": "Can a VM live-migrate between hosts with different x86 CPUs?",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc come from the sidecar package and are served locally: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    # Two choice sets are both called "hypervisor": the ledger's (with Xen) and the engine's.
    "ENUM_NAME_OVERRIDES": {
        "LedgerHypervisorEnum": "migrations_log.models.Hypervisor",
        # The engine's list is the policy registry (cpus/cpuid/policies).
        "EngineHypervisorEnum": "cpus.cpuid.policies.HYPERVISORS",
        # The engine's answers (cpus/compat/api/schemas.py) name these sets from the core.
        "VerdictLevelEnum": "cpus.cpuid.levels.LEVELS",
        "SeverityEnum": "cpus.cpuid.compat.SEVERITIES",
        "AxisEnum": "cpus.cpuid.compat.AXES",
        "VocabularyEnum": "cpus.cpuid.vocabulary.VOCABULARIES",
        # The ledger's verdicts: the levels and "unpredictable" (no prediction).
        "LedgerVerdictEnum": "migrations_log.models.Verdict",
    },
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every operation documents its 4xx answers in the one error shape (kbsite/openapi.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "kbsite.openapi.document_error_responses",
        # Output serializers are closed: additionalProperties false (kbsite/output.py).
        "kbsite.output.close_output_components",
    ],
}

# --- Logging ----------------------------------------------------------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL={LOG_LEVEL!r} is not a logging level name")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Django's own console handler would print every django.* record a second time.
    "loggers": {"django": {"handlers": [], "level": LOG_LEVEL, "propagate": True}},
}
