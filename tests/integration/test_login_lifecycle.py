"""Login → status → refresh → revoke against two real providers, with real Chromium as $BROWSER."""

from __future__ import annotations

import json
import re
import socket
import time
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.integration.conftest import Harness


def test_login_refresh_revoke(harness: Harness) -> None:
    provider = harness.provider
    done = harness.run("login", "demo")
    assert done.returncode == 0, done.stderr
    assert "Logged in to" in done.stdout and "group/sub/project" in done.stdout
    page = harness.browser_page()
    assert page["status"] == 200 and "pac-tui is authorized" in page["text"]

    row = harness.status()
    assert row["state"] == "authorized"
    assert 7100 <= row["expires_in"] <= 7200
    assert row["scopes"] == ["api"]
    first = harness.tokens()
    assert provider.is_active(first["access_token"])
    assert oct(harness.store_path.stat().st_mode & 0o777) == "0o600"

    before = provider.token_requests("refresh_token")
    done = harness.run("refresh", "demo")
    assert done.returncode == 0, done.stderr
    assert "demo: refreshed" in done.stdout
    assert provider.token_requests("refresh_token") == before + 1
    second = harness.tokens()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert provider.is_active(second["access_token"])
    assert not provider.is_active(first["refresh_token"]), "the old refresh token must be dead"
    assert harness.status()["refreshed_at"] is not None

    done = harness.run("revoke", "demo")
    assert done.returncode == 0, done.stderr
    assert not provider.is_active(second["access_token"])
    assert not provider.is_active(second["refresh_token"])
    row = harness.status()
    assert row["state"] == "needs-login"
    assert "revoked" in row["message"]
    assert row["expires_in"] is None


def test_deny_fails_clearly_and_stores_nothing(harness: Harness) -> None:
    done = harness.run("login", "demo", consent="Deny")
    assert done.returncode == 1
    assert "denied" in done.stderr
    page = harness.browser_page()
    assert "Login not completed" in page["text"]
    assert not harness.store_path.exists()
    assert harness.status()["state"] == "needs-login"


def _authorize_url(stderr_line_source) -> str:
    for line in stderr_line_source:
        match = re.search(r"(http://\S+/oauth/authorize\?\S+)", line)
        if match:
            return match.group(1)
    raise AssertionError("the authorize URL was not printed")


def test_forged_state_gets_400_and_no_exchange(harness: Harness) -> None:
    from tests.providers.browser_driver import drive

    codes_before = harness.provider.token_requests("authorization_code")
    proc = harness.popen("login", "demo", "--no-browser", "--timeout", "60")
    assert proc.stderr is not None
    url = _authorize_url(proc.stderr)
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    redirect = query["redirect_uri"][0]
    assert urlsplit(redirect).hostname == "127.0.0.1"

    for params in ({"code": "forged", "state": "not-the-state"}, {"code": "forged"}):
        answer = httpx.get(redirect, params=params, timeout=30)
        assert answer.status_code == 400
        assert "Nothing was changed" in answer.text
    assert proc.poll() is None, "a forged answer must not end the wait"

    page = drive(url, harness.env())
    out, err = proc.communicate(timeout=60)
    harness.outputs += [out, err, json.dumps(page)]
    harness.remember_tokens()
    assert proc.returncode == 0, err
    assert harness.provider.token_requests("authorization_code") == codes_before + 1
    assert harness.status()["state"] == "authorized"


def test_timeout_ends_the_wait_and_closes_the_port(harness: Harness) -> None:
    proc = harness.popen("login", "demo", "--no-browser", "--timeout", "1")
    assert proc.stderr is not None
    redirect = parse_qs(urlsplit(_authorize_url(proc.stderr)).query)["redirect_uri"][0]
    out, err = proc.communicate(timeout=30)
    harness.outputs += [out, err]
    assert proc.returncode == 1
    assert "no answer from the browser within 1 s" in err
    assert not harness.store_path.exists()
    port = urlsplit(redirect).port
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the callback server must be closed"


def test_fixed_port_in_use(harness: Harness) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        harness.write_config(redirect_uri=f"http://127.0.0.1:{port}/callback")
        started = time.monotonic()
        done = harness.run("login", "demo")
    assert done.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use" in done.stderr
    # Far under the 180 s wait for a browser: the busy port is reported at once (a generous
    # bound, because a pac-tui process alone can take seconds to start on a loaded CI machine).
    assert time.monotonic() - started < 60
    assert not harness.browser_out.exists(), "no browser may open when the port is busy"
    assert not harness.store_path.exists()
