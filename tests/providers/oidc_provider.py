"""panva's oidc-provider (npm) set up like GitLab's OAuth, run as a subprocess (oidc/server.mjs)."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx

from .base import OAuthApp

SERVER_DIR = pathlib.Path(__file__).parent / "oidc"
START_TIMEOUT = 60.0  # a cold start on a loaded CI machine; only bounds a failure


@dataclass
class OidcProvider:
    url: str
    confidential: OAuthApp
    public: OAuthApp
    username: str = "operator"
    password: str = "operator-password"
    name: str = "oidc-provider"
    access_token_lifetime: int = 7200
    _http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30), repr=False)

    def is_active(self, token: str) -> bool:
        return self._get("/test/active", token=token)["active"]

    def token_requests(self, grant_type: str) -> int:
        return self._get("/test/token-requests", grant_type=grant_type)["count"]

    def slow_downs(self) -> int:
        """How many device-flow polls were answered `slow_down` so far."""
        return self._get("/test/slow-downs")["count"]

    def _get(self, path: str, **params: str) -> dict:
        return self._http.get(self.url + path, params=params).raise_for_status().json()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _app_config(app: OAuthApp) -> dict:
    config = {"client_id": app.client_id, "redirect_uris": [app.redirect_uri]}
    if app.client_secret is not None:
        config["client_secret"] = app.client_secret
    return config


@contextlib.contextmanager
def start_oidc_provider(
    workdir: pathlib.Path, *, device_interval: int = 5, device_code_ttl: int = 600
) -> Iterator[OidcProvider]:
    """Run oidc/server.mjs on a free 127.0.0.1 port until exit; its output goes to `workdir`.

    `device_interval` / `device_code_ttl`: the device flow's polling interval and code lifetime."""
    workdir.mkdir(parents=True, exist_ok=True)
    stderr_path = workdir / "oidc-provider.err"
    for attempt in range(3):  # a free port can be taken before node listens: then another one
        port = _free_port()
        provider = OidcProvider(
            url=f"http://127.0.0.1:{port}",
            confidential=OAuthApp("pac-tui-confidential", "confidential-secret"),
            public=OAuthApp("pac-tui-public", None),
        )
        config = {
            "user": {"username": provider.username, "password": provider.password},
            "clients": [_app_config(provider.confidential), _app_config(provider.public)],
            "device": {"interval": device_interval, "ttl": device_code_ttl},
        }
        env = {**os.environ, "PORT": str(port), "PROVIDER_CONFIG": json.dumps(config)}
        out_path = workdir / "oidc-provider.out"
        with out_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
            process = subprocess.Popen(
                [shutil.which("node") or "node", "server.mjs"],
                cwd=SERVER_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
            )
        try:
            _wait_until_up(provider, process, stderr_path)
            break
        except RuntimeError:
            provider._http.close()
            if process.poll() is None:
                process.kill()
            process.wait()
            if attempt == 2 or "EADDRINUSE" not in stderr_path.read_text(errors="replace"):
                raise
    try:
        yield provider
    finally:
        provider._http.close()
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(provider: OidcProvider, process: subprocess.Popen, stderr: pathlib.Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            problem = f"exited with {process.returncode}"
            break
        with contextlib.suppress(httpx.TransportError):
            provider.token_requests("authorization_code")
            return
        time.sleep(0.05)
    else:
        problem = f"did not answer in {START_TIMEOUT} s"
    raise RuntimeError(f"oidc-provider {problem}:\n{stderr.read_text(errors='replace')}")
