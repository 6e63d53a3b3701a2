"""`pac-tui webhook serve`, `pac-tui events` and `pac-tui events replay` as a user runs them."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from pac_tui.webhooks.journal import BatchWriter, schema
from pac_tui.webhooks.models import Delivery
from tests.unit.test_journal import delivery as journal_delivery
from tests.webhooks.conftest import CONFIG, SECRET, fixture, push_payload

KEYS = {"id", "received_at", "repo", "kind", "verdict", "summary", "pac_event"}


def post(url: str, **kwargs: Any) -> httpx.Response:
    """A delivery to the served receiver process; httpx's 5 s default is short for a loaded CI."""
    return httpx.post(url, timeout=30, **kwargs)


class Served:
    def __init__(self, root: Path, *extra: str) -> None:
        self.config = root / "config.toml"
        self.config.write_text(CONFIG)
        self.config.chmod(0o600)  # it holds the webhook secret: private, or pac-tui warns
        self.data = root / "data"
        self.env = {**os.environ, "PAC_TUI_DATA_DIR": str(self.data)}
        self.proc = subprocess.Popen(
            self.cli("webhook", "serve", "--port", "0", *extra),
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stderr is not None
        match = re.search(r"(http://\S+/)", self.proc.stderr.readline())
        assert match
        self.url = match.group(1)

    def cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "pac_tui", "--config", str(self.config), *args]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.cli(*args), env=self.env, capture_output=True, text=True, timeout=30
        )


@pytest.fixture(params=["1", "2"], ids=["one-process", "two-workers"])
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Served]:
    """`webhook serve` in one process, and with two receiver processes and a writer."""
    s = Served(tmp_path, "--workers", request.param)
    yield s
    if s.proc.poll() is None:
        s.proc.send_signal(signal.SIGTERM)
        try:
            s.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            s.proc.kill()
            s.proc.wait()


class Capture(BaseHTTPRequestHandler):
    """A relay target / replay target that records what it gets and answers 202."""

    received: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def target() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Handler", (Capture,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()


def test_serve_events_filters_and_sigterm(served: Served) -> None:
    push = json.dumps(push_payload()).encode()
    good = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET}
    assert post(served.url, content=push, headers=good).status_code == 200
    mr = fixture("go-gitlab/webhooks/merge_request.json")
    assert post(served.url, content=mr, headers={"X-Gitlab-Event": "Merge Request Hook"}).is_success
    assert post(served.url, content=b"nope", headers=good).status_code == 400

    done = served.run("events", "--json")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["verdict"] for r in rows] == ["accepted", "unknown-repo", "malformed"]
    assert all(set(r) >= KEYS for r in rows)
    assert rows[0]["repo"] == "checked" and rows[0]["pac_event"] == "push"
    assert SECRET not in done.stdout

    assert len(served.run("events", "--json", "--repo", "checked").stdout.splitlines()) == 1
    kind = served.run("events", "--json", "--kind", "Merge Request Hook").stdout
    assert [json.loads(line)["kind"] for line in kind.splitlines()] == ["Merge Request Hook"]
    assert len(served.run("events", "--limit", "2").stdout.splitlines()) == 2
    assert served.run("events", "--repo", "nope").returncode == 2

    served.proc.send_signal(signal.SIGTERM)
    out, err = served.proc.communicate(timeout=20)
    assert served.proc.returncode == 0, err
    assert "accepted" in out and "Stopped" in err


def test_follow_prints_new_deliveries(served: Served) -> None:
    follower = subprocess.Popen(
        served.cli("events", "--follow", "--json"),
        env=served.env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        push = json.dumps(push_payload()).encode()
        headers = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET}
        post(served.url, content=push, headers=headers).raise_for_status()
        assert follower.stdout is not None
        line = follower.stdout.readline()
        assert json.loads(line)["verdict"] == "accepted"
    finally:
        follower.send_signal(signal.SIGINT)
        follower.wait(timeout=10)


def test_replay_restores_the_token_from_the_config(
    served: Served, target: tuple[str, list[tuple[dict[str, str], bytes]]]
) -> None:
    to, received = target
    push = json.dumps(push_payload()).encode()
    headers = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET}
    delivery_id = post(served.url, content=push, headers=headers).json()["id"]
    done = served.run("events", "replay", str(delivery_id), "--to", to)
    assert done.returncode == 0, done.stderr
    assert "HTTP 202" in done.stdout
    ((got_headers, got_body),) = received
    assert got_body == push
    assert got_headers["X-Gitlab-Token"] == SECRET
    assert got_headers["X-Gitlab-Event"] == "Push Hook"
    assert served.run("events", "replay", "999999", "--to", to).returncode == 2
    assert served.run("events", "replay", str(delivery_id)).returncode == 2  # where to?


@pytest.mark.parametrize("workers", ["1", "2"])
def test_relay_status_and_redeliveries_reach_the_journal(
    tmp_path: Path, target: tuple[str, list[tuple[dict[str, str], bytes]]], workers: str
) -> None:
    to, received = target
    s = Served(tmp_path, "--workers", workers, "--relay", to)
    try:
        push = json.dumps(push_payload()).encode()
        headers = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET}
        keyed = {**headers, "Idempotency-Key": "same-delivery"}
        # new connections each: with two receiver processes they land on either
        ids = {post(s.url, content=push, headers=keyed).json()["id"] for _ in range(6)}
        assert len(ids) == 1
        (delivery_id,) = ids
        deadline = time.monotonic() + 60  # each look is a pac-tui process: seconds on CI
        while time.monotonic() < deadline:
            rows = [json.loads(line) for line in s.run("events", "--json").stdout.splitlines()]
            if rows and rows[0]["relay_status"]:
                break
            time.sleep(0.2)
        assert len(rows) == 1 and rows[0]["id"] == delivery_id
        assert rows[0]["redeliveries"] == 5
        assert rows[0]["relay_status"] == "relayed 202"
        assert len(received) == 1
    finally:
        s.proc.send_signal(signal.SIGTERM)
        _, err = s.proc.communicate(timeout=20)
    assert s.proc.returncode == 0, err


def test_port_in_use_is_a_clear_error(served: Served) -> None:
    port = served.url.rsplit(":", 1)[1].strip("/")
    done = served.run("webhook", "serve", "--port", port)
    assert done.returncode == 1
    assert f"cannot listen for webhooks on 127.0.0.1:{port}" in done.stderr


def test_workers_must_be_positive(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    config.chmod(0o600)  # it holds the webhook secret: private, or pac-tui warns
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pac_tui", "--config", str(config), "webhook", "serve"),
            *("--port", "0", "--workers", "0"),
        ],
        env={**os.environ, "PAC_TUI_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "--workers must be at least 1" in done.stderr


def test_replay_never_lends_the_secret_to_a_delivery_that_was_not_accepted(
    served: Served, target: tuple[str, list[tuple[dict[str, str], bytes]]]
) -> None:
    to, received = target
    push = json.dumps(push_payload()).encode()
    forged = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "guessed"}
    rejected = post(served.url, content=push, headers=forged).json()
    malformed = post(served.url, content=b"{not json", headers=forged).json()
    assert (rejected["verdict"], malformed["verdict"]) == ("rejected", "malformed")
    for delivery in (rejected, malformed):
        refused = served.run("events", "replay", str(delivery["id"]), "--to", to)
        assert refused.returncode == 2 and "--force" in refused.stderr, refused.stderr
    assert received == [], "nothing goes out without --force"
    for delivery in (rejected, malformed):
        done = served.run("events", "replay", str(delivery["id"]), "--to", to, "--force")
        assert done.returncode == 0, done.stderr
    assert [body for _, body in received] == [push, b"{not json"]
    for headers, _ in received:
        assert "X-Gitlab-Token" not in headers, "as it came: the journal kept no token"
        assert SECRET not in json.dumps(headers)
        assert "[redacted]" not in json.dumps(headers)
        assert headers["X-Gitlab-Event"] == "Push Hook"


def test_header_bytes_that_are_not_utf8_are_stored_in_every_process_layout(
    served: Served,
) -> None:
    push = json.dumps(push_payload()).encode()
    headers = [(b"X-Gitlab-Event", b"Push \xff Hook"), (b"X-Gitlab-Token", SECRET.encode())]
    answer = post(served.url, content=push, headers=headers)
    assert answer.status_code == 200, answer.text
    good = post(served.url, content=push, headers={"X-Gitlab-Token": SECRET})
    assert good.status_code == 200, good.text
    done = served.run("events", "--json")
    assert done.returncode == 0, done.stderr
    kinds = [json.loads(line)["kind"] for line in done.stdout.splitlines()]
    assert "Push \ufffd Hook" in kinds


# What a terminal acts on: ESC (CSI, OSC), the other C0 controls, DEL, C1 (U+009B CSI, U+009D
# OSC), BiDi embeddings, overrides and isolates, zero-width characters, line separators.
CONTROLS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
NASTY = (
    "\x1b[31mred\x1b[0m \x1b]0;owned\x07 \x9b2J \u202egnp.exe\u202c \u2066x\u2069 nul\x00 "
    "\x9d8;;\x9c"
)


def test_events_prints_no_terminal_control_from_a_delivery(served: Served) -> None:
    """ESC/OSC/CSI sequences, C1 controls, BiDi overrides and a NUL in the headers and fields of
    deliveries (live ones, and one an older pac-tui stored raw) print as none of themselves."""
    push = push_payload()
    push["commits"][0]["message"] = NASTY
    push["user_name"] = NASTY
    headers = [
        (b"X-Gitlab-Event", "Push \u202e\u009b31m Hook".encode()),
        (b"X-Gitlab-Token", SECRET.encode()),
    ]
    answer = post(served.url, content=json.dumps(push).encode(), headers=headers)
    assert answer.status_code == 200, answer.text
    unknown = push_payload("evil/\u202eproject\x1b[2J")
    assert post(served.url, content=json.dumps(unknown).encode()).status_code == 200
    old = BatchWriter(served.data / "events.sqlite3")  # as an older version kept them: raw
    old.open()
    raw = Delivery(
        **{
            **journal_delivery(1, key="old").__dict__,
            "kind": f"Push {NASTY}",
            "summary": NASTY,
            "repo": None,
            "project": f"grp/{NASTY}",
            "relay_status": NASTY,
        }
    )
    old.write([(True, schema.encode(raw))])
    old.close()

    text = served.run("events")
    assert text.returncode == 0, text.stderr
    assert len(text.stdout.splitlines()) == 3
    assert not CONTROLS.search(text.stdout), ascii(text.stdout)
    assert "red" in text.stdout and "gnp.exe" in text.stdout, "the words are kept"

    as_json = served.run("events", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert not CONTROLS.search(as_json.stdout), ascii(as_json.stdout)
    rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert len(rows) == 3
    for row in rows:
        for value in row.values():
            assert not isinstance(value, str) or not CONTROLS.search(value), ascii(value)

    served.proc.send_signal(signal.SIGTERM)
    out, err = served.proc.communicate(timeout=20)
    assert served.proc.returncode == 0, err
    assert out.count("\n") == 2 and not CONTROLS.search(out), ascii(out)


def test_replay_json_says_where_what_came_back_and_whether_the_secret_went(
    served: Served, target: tuple[str, list[tuple[dict[str, str], bytes]]]
) -> None:
    to, received = target
    push = json.dumps(push_payload()).encode()
    good = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET}
    accepted = post(served.url, content=push, headers=good).json()["id"]
    with_password = to.replace("http://", "http://user:hunter2@")
    done = served.run("events", "replay", str(accepted), "--to", with_password, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "id": accepted,
        "to": to,
        "status": 202,
        "ok": True,
        "with_secret": True,
    }
    assert "hunter2" not in done.stdout
    assert len(received) == 1

    forged = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "forged"}
    rejected = post(served.url, content=push, headers=forged).json()["id"]
    done = served.run("events", "replay", str(rejected), "--to", served.url, "--force", "--json")
    assert done.returncode == 1, "not a 2xx"
    assert json.loads(done.stdout) == {
        "id": rejected,
        "to": served.url,
        "status": 401,
        "ok": False,
        "with_secret": False,
    }
