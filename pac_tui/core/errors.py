"""The errors pac-tui reports to people. Each carries the exit status the CLI uses for it.

Messages are written for the operator: what went wrong, where, and what to do. None may contain a
token value; callers build them from names, URLs and provider error codes only.
"""

from __future__ import annotations

from pathlib import Path


class PacTuiError(Exception):
    """An operation failed in a way the user can act on (exit status 1)."""

    exit_code = 1


class UsageError(PacTuiError):
    """The command line asks for something that cannot be (exit status 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """The config file is broken; names the file, the key and the problem."""

    def __init__(self, path: Path | str | None, key: str | None, problem: str) -> None:
        self.path = path
        self.key = key
        self.problem = problem
        where = str(path) if path else "environment"
        super().__init__(f"{where}: {key}: {problem}" if key else f"{where}: {problem}")


class StoreError(PacTuiError):
    """The token store cannot be read or written; it is left as it was."""


class NeedsLogin(PacTuiError):
    """There is no usable grant for this repository: the user has to log in (again)."""


class ProviderUnavailable(PacTuiError):
    """The GitLab instance could not be reached or answered with a server error; retry later."""


class ProviderRejected(PacTuiError):
    """The GitLab instance refused the request (bad client credentials, bad request, …)."""


class LoginFailed(PacTuiError):
    """The browser login ended without a grant: denied, timed out, cancelled, or port busy."""


class ClusterUnavailable(PacTuiError):
    """The Kubernetes API server could not be reached; tokens stay local until it is back."""


class ClusterRefused(PacTuiError):
    """The cluster answered but refused: credentials (401), RBAC (403), a bad request."""
