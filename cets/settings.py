"""CETS settings: one module, driven by environment variables (django-environ).

Defaults make the demo work on a fresh machine (SQLite, tasks in-process); production switches
by variables only: DATABASE_URL, REDIS_URL / CELERY_BROKER_URL, SECRET_KEY, DEBUG, ALLOWED_HOSTS.
"""

import sys
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

TESTING = "pytest" in sys.modules
DEBUG = env.bool("DEBUG", default=False)
# The demo key's "django-insecure-" prefix makes `check --deploy` refuse it (security.W009).
SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-cets-demo-key-change-me-" + "x" * 32)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_htmx",
    "crispy_forms",
    "crispy_bootstrap5",
    "rules.apps.AutodiscoverRulesConfig",
    "cets.common",
    "entities",
    "registry",
    "mrv",
    "allowances",
    "trading",
    "voluntary",
    "compliance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "cets.common.middleware.NulQueryStringMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "entities.authentication.TwoFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "cets.urls"
WSGI_APPLICATION = "cets.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cets.common.context.notifications",
            ],
        },
    },
]
# Forms render with Bootstrap 5 markup (Tabler styles it): `{% crispy form %}` / `|crispy`.
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Concurrent demo requests wait for SQLite's write lock instead of failing at once.
    # IMMEDIATE: a write transaction takes the lock at BEGIN, so a read-then-write (the audit chain
    # head, a balance) cannot interleave with another writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Row locks wait at most this long; then the request fails with 409 "busy, retry" (cets.common.locks).
LOCK_TIMEOUT_MS = env.int("LOCK_TIMEOUT_MS", default=5000)

AUTH_USER_MODEL = "entities.User"
AUTHENTICATION_BACKENDS = [
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Password guessing: after this many failures a username is locked out from that address for a while.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=900)

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = DEBUG or TESTING
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_STORAGE", default="django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Uploaded spreadsheets and reports: refuse anything larger at the door.
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
MAX_UPLOAD_BYTES = env.int("MAX_UPLOAD_BYTES", default=20 * 1024 * 1024)

REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
# Without a broker, tasks run in-process so the demo needs nothing but Python.
# Tests run tasks eagerly too, except the one that starts a real worker (tests/test_celery_worker.py).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=TESTING or not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or None)
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Jobs (cets.common.jobs): a running job touches its heartbeat this often; one silent for longer than
# JOB_STALE_AFTER_SECONDS lost its worker and is re-queued by the sweeper, failed after JOB_MAX_ATTEMPTS runs.
JOB_HEARTBEAT_SECONDS = env.float("JOB_HEARTBEAT_SECONDS", default=10)
JOB_STALE_AFTER_SECONDS = env.float("JOB_STALE_AFTER_SECONDS", default=120)
JOB_MAX_ATTEMPTS = env.int("JOB_MAX_ATTEMPTS", default=3)

# Throttles and the log-in lockout count here. With Redis down they degrade to a process-local cache
# (logged) instead of failing every request; short socket timeouts keep a dead Redis from stalling one.
CACHES = {
    "default": (
        {"BACKEND": "cets.common.cache.FallbackRedisCache", "LOCATION": REDIS_URL,
         "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}
        if REDIS_URL and not TESTING
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Regulators and exchange staff: only a token issued from, or a session verified by, their authenticator.
        "entities.authentication.OTPTokenAuthentication",
        "entities.authentication.OTPSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON parser refusing NUL characters (PostgreSQL cannot store them) with a 400 naming the field.
    "DEFAULT_PARSER_CLASSES": [
        "cets.common.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "cets.common.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="120/min"),
        "user": env.str("THROTTLE_USER", default="6000/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CETS API",
    "DESCRIPTION": "China's national carbon market: registry, MRV, allocation, trading, CCER, compliance.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets that share a field name get stable schema names (else spectacular names them by hash,
    # e.g. "StatusC98Enum", and the name changes whenever a choice does).
    "ENUM_NAME_OVERRIDES": {
        "EntityStatusEnum": "entities.models.KeyEntity.Status",
        "UnitStatusEnum": "entities.models.Unit.Status",
        "UnitCoolingEnum": "entities.models.Unit.Cooling",
        "OrganisationKindEnum": "entities.models.Organisation.Kind",
        "EntitiesSectorAllocationMethodEnum": "entities.models.Sector.AllocationMethod",
        "EntitiesSectorAllocationLevelEnum": "entities.models.Sector.AllocationLevel",
        "JobStatusEnum": "cets.common.models.Job.Status",
        # Every app's kind/status/state choices, named <App><Model><Field>Enum so a client can tell them apart.
        "RegistryInstrumentKindEnum": "registry.models.Instrument.Kind",
        "RegistryAccountKindEnum": "registry.models.Account.Kind",
        "RegistryAccountStatusEnum": "registry.models.Account.Status",
        "RegistryAccountRepresentativeStatusEnum": "registry.models.AccountRepresentative.Status",
        "RegistryReservationStatusEnum": "registry.models.Reservation.Status",
        "RegistryFreezeKindEnum": "registry.models.Freeze.Kind",
        "RegistryFreezeStatusEnum": "registry.models.Freeze.Status",
        "RegistryTransactionKindEnum": "registry.models.Transaction.Kind",
        "RegistryTransactionStatusEnum": "registry.models.Transaction.Status",
        "MrvQualityControlPlanStatusEnum": "mrv.models.QualityControlPlan.Status",
        "MrvMonthlySubmissionStatusEnum": "mrv.models.MonthlySubmission.Status",
        "MrvAnnualReportStatusEnum": "mrv.models.AnnualReport.Status",
        "MrvVerificationStatusEnum": "mrv.models.Verification.Status",
        "MrvVerificationFindingStatusEnum": "mrv.models.VerificationFinding.Status",
        "MrvEarlyWarningStatusEnum": "mrv.models.EarlyWarning.Status",
        "MrvReminderKindEnum": "mrv.models.Reminder.Kind",
        "MrvInformationRequestStatusEnum": "mrv.models.InformationRequest.Status",
        "MrvDeadlineExtensionStatusEnum": "mrv.models.DeadlineExtension.Status",
        "AllowancesAllocationPlanStatusEnum": "allowances.models.AllocationPlan.Status",
        "AllowancesAllocationPlanMethodEnum": "allowances.models.AllocationPlan.Method",
        "TradingMethodEnum": "trading.models.Method",
        "AllowancesAllocationPlanPeakFormulaEnum": "allowances.models.AllocationPlan.PeakFormula",
        "AllowancesBenchmarkRowKindEnum": "allowances.models.BenchmarkRow.Kind",
        "AllowancesAllocationRunKindEnum": "allowances.models.AllocationRun.Kind",
        "AllowancesAllocationRunStatusEnum": "allowances.models.AllocationRun.Status",
        "AllowancesEntityAllocationStatusEnum": "allowances.models.EntityAllocation.Status",
        "AllowancesObligationStatusEnum": "allowances.models.Obligation.Status",
        "AllowancesBorrowingApplicationStatusEnum": "allowances.models.BorrowingApplication.Status",
        "TradingParticipantKindEnum": "trading.models.Participant.Kind",
        "TradingCashAccountKindEnum": "trading.models.CashAccount.Kind",
        "TradingCashJournalKindEnum": "trading.models.CashJournal.Kind",
        "TradingOrderStatusEnum": "trading.models.Order.Status",
        "TradingBulkProposalStatusEnum": "trading.models.BulkProposal.Status",
        "TradingAuctionStatusEnum": "trading.models.Auction.Status",
        "TradingAuctionBidStatusEnum": "trading.models.AuctionBid.Status",
        "TradingAlertKindEnum": "trading.models.Alert.Kind",
        "TradingAlertStatusEnum": "trading.models.Alert.Status",
        "VoluntaryProjectStateEnum": "voluntary.models.Project.State",
        "VoluntaryDocumentKindEnum": "voluntary.models.Document.Kind",
        "VoluntaryMonitoringReportStateEnum": "voluntary.models.MonitoringReport.State",
        "VoluntaryCreditUseKindEnum": "voluntary.models.CreditUse.Kind",
        "ComplianceCycleStatusEnum": "compliance.models.ComplianceCycle.Status",
        "ComplianceObligationStatusEnum": "compliance.models.Obligation.Status",
        "ComplianceSurrenderStepKindEnum": "compliance.models.SurrenderStep.Kind",
        "ComplianceFlexibleMechanismKindEnum": "compliance.models.FlexibleMechanism.Kind",
        "ComplianceReliefDecisionStatusEnum": "compliance.models.ReliefDecision.Status",
        "CompliancePenaltyStatusEnum": "compliance.models.Penalty.Status",
    },
    # `check --deploy` checks the deployment's security; schema quality has its own test
    # (tests/test_api_schema.py), so a new endpoint's schema warning does not read as a security issue.
    "ENABLE_DJANGO_DEPLOY_CHECK": False,
}

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
    }
}

OTP_TOTP_ISSUER = "CETS"
# Regulators must present a TOTP code at /admin/; switchable only for local experiments.
ADMIN_REQUIRE_OTP = env.bool("ADMIN_REQUIRE_OTP", default=True)
# A four-eyes sign-off needs an authenticator code given at most this long ago (cets.common.stepup).
STEP_UP_SECONDS = env.int("STEP_UP_SECONDS", default=300)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HTTPS only unless DEBUG is on: a deployment that forgets a variable is secure, not open. Each stays
# overridable by its variable (the plain-HTTP benchmark turns them off; the test run, below, too).
_HTTPS_DEFAULT = not DEBUG
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_HTTPS_DEFAULT)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=_HTTPS_DEFAULT)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=_HTTPS_DEFAULT)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600 if _HTTPS_DEFAULT else 0)
# With HSTS on, the national system's domain and its subdomains are HTTPS-only and preloadable.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=SECURE_HSTS_SECONDS > 0)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=SECURE_HSTS_SECONDS > 0)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="cets@localhost")
# The address notification emails link to (the portal as its users reach it).
SITE_URL = env.str("SITE_URL", default="http://localhost:8000")

# Where the real-fleet data lives (never copied into the repository: CC BY-NC-SA).
SHARED_DIR = env.path("CETS_SHARED_DIR", default=str(BASE_DIR.parent / "shared"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}

if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Django's test client and live server speak plain HTTP (tests run with DEBUG off): no redirect to
    # HTTPS, no HSTS; tests/test_deploy_check.py proves the production defaults in a separate process.
    SECURE_SSL_REDIRECT = SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
    SECURE_HSTS_SECONDS = 0
    REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"anon": "100000/min", "user": "100000/min"}
