"""django-oauth-toolkit set up like GitLab's OAuth (Doorkeeper), started on 127.0.0.1 for tests.

The Django project lives in ``dot/gitlab_dot`` (see its settings for what mimics GitLab)::

    with start_dot_provider(tmp_path) as provider:
        provider.url, provider.confidential.client_secret, provider.is_active(token), ...
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .base import OAuthApp

PROJECT_DIR = Path(__file__).with_name("dot")
START_TIMEOUT = 60.0  # a cold start on a loaded CI machine; only bounds a failure


@dataclass
class DotProvider:
    """A running provider; satisfies `tests.providers.base.Provider`."""

    url: str
    confidential: OAuthApp
    public: OAuthApp
    username: str
    password: str
    access_token_lifetime: int
    log_path: Path  # the server's stdout and stderr
    name: str = field(default="django-oauth-toolkit")

    def is_active(self, token: str) -> bool:
        return bool(self._get("/test/active", token=token)["active"])

    def token_requests(self, grant_type: str) -> int:
        return int(self._get("/test/token-requests", grant_type=grant_type)["count"])

    def _get(self, path: str, **params: str) -> Any:
        response = httpx.get(f"{self.url}{path}", params=params, timeout=10, trust_env=False)
        response.raise_for_status()
        return response.json()


@contextmanager
def start_dot_provider(
    workdir: Path, *, access_token_lifetime: int = 7200, username: str = "alice"
) -> Iterator[DotProvider]:
    """Start a fresh provider (new database in `workdir`), yield it, stop it."""
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "dot.sqlite3"
    database.unlink(missing_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_DIR), os.getenv("PYTHONPATH")])),
        "DJANGO_SETTINGS_MODULE": "gitlab_dot.settings",
        "PAC_TUI_DOT_DB": str(database),
        "PAC_TUI_DOT_TOKEN_LIFETIME": str(access_token_lifetime),
        "PYTHONUNBUFFERED": "1",
    }
    # GitLab-like credentials: 64 hex digits for the uid, "gloas-" before the secret.
    confidential = OAuthApp(secrets.token_hex(32), f"gloas-{secrets.token_hex(32)}")
    public = OAuthApp(secrets.token_hex(32), None)
    password = f"pw-{secrets.token_hex(8)}"
    setup = ["--username", username, "--password", password, "--public-id", public.client_id]
    setup += ["--confidential-id", confidential.client_id]
    setup += ["--confidential-secret", str(confidential.client_secret)]
    _django(workdir, env, "pac_setup", *setup)
    log_path = workdir / "dot-server.log"
    process, url = _run_server(workdir, env, log_path)
    try:
        yield DotProvider(
            url=url,
            confidential=confidential,
            public=public,
            username=username,
            password=password,
            access_token_lifetime=access_token_lifetime,
            log_path=log_path,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _django(workdir: Path, env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"django {args[0]} failed:\n{done.stdout}{done.stderr}")


def _run_server(
    workdir: Path, env: dict[str, str], log_path: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """Start runserver on a free port (retrying if another process takes it first)."""
    output = ""
    for _attempt in range(3):
        address = f"127.0.0.1:{_free_port()}"
        command = ["runserver", address, "--noreload", "--skip-checks"]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "django", *command],
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        if _wait_until_up(process, f"http://{address}"):
            return process, f"http://{address}"
        output = log_path.read_text(errors="replace")
        if "already in use" not in output:
            break
    raise RuntimeError(f"django-oauth-toolkit provider did not start; its output:\n{output}")


def _wait_until_up(process: subprocess.Popen[bytes], url: str) -> bool:
    """True once the server answers; False if it exits or stays silent too long (then killed)."""
    deadline = time.monotonic() + START_TIMEOUT
    with httpx.Client(timeout=1, trust_env=False) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            try:
                client.get(f"{url}/test/token-requests")
            except httpx.TransportError:
                time.sleep(0.05)
            else:
                return True
    process.kill()
    process.wait()
    return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
