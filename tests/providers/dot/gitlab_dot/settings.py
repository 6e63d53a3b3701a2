"""Settings that make django-oauth-toolkit behave like GitLab's OAuth (docs/ARCHITECTURE.md).

Environment:
- ``PAC_TUI_DOT_DB`` (required): path of the sqlite database, one per provider start.
- ``PAC_TUI_DOT_TOKEN_LIFETIME``: access-token lifetime in seconds (GitLab's default: 7200).
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = "pac-tui-tests-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "oauth2_provider",
    "gitlab_dot",
]
MIDDLEWARE = [
    "gitlab_dot.middleware.count_token_requests",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "gitlab_dot.urls"
APPEND_SLASH = False  # GitLab's paths have no trailing slash
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],  # before the app dirs: overrides DOT's authorize.html
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ]
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["PAC_TUI_DOT_DB"],
        # runserver is threaded: wait for the write lock instead of failing with "locked".
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
    }
}
# Tables straight from the models (migrate --run-syncdb), without replaying ~40 migrations.
MIGRATION_MODULES = {"auth": None, "contenttypes": None, "oauth2_provider": None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

# Sessions in signed cookies: no sessions table. A fast hasher: client secrets are hashed with
# it too, and PBKDF2 would cost ~0.3 s on every confidential token request.
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "/users/sign_in"  # GitLab's
LOGIN_REDIRECT_URL = "/"

OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": int(os.environ.get("PAC_TUI_DOT_TOKEN_LIFETIME", "7200")),
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 600,  # Doorkeeper's default
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "PKCE_REQUIRED": True,
    "REQUEST_APPROVAL_PROMPT": "force",
    "SCOPES": {
        "api": "Grants complete read/write access to the API, including all groups and projects.",
        "read_user": "Grants read-only access to your profile through the /user API endpoint.",
    },
    "DEFAULT_SCOPES": ["api"],
    "OAUTH2_VALIDATOR_CLASS": "gitlab_dot.validators.GitLabValidator",
    # The apps only have the authorization-code grant; refusing these keeps DOT quiet.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "ERROR"},
        "oauth2_provider": {"handlers": ["console"], "level": "WARNING"},
    },
}
