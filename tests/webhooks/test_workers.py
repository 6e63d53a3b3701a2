"""`webhook serve --workers N` outlives its receiver processes (issue 16, item 6): real processes.

A receiver killed with SIGKILL is reaped (no zombie) and replaced, and deliveries go on being
acknowledged and journaled; one that keeps dying stops `webhook serve` with a non-zero status
and the reason; SIGTERM still stops it with 0.
"""

from __future__ import annotations

import io
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pac_tui.webhooks.journal import BatchWriter, JournalReader
from pac_tui.webhooks.multiproc.writer import Worker, Writer
from pac_tui.webhooks.service import journal_path
from tests.webhooks.conftest import CONFIG, SECRET, push_payload

GIVE_UP_S = 30.0  # how long a test waits for what must happen (never reached when it works)


class Group:
    """`pac-tui webhook serve --workers 2` in its own session, its stderr read line by line."""

    def __init__(self, root: Path) -> None:
        config = root / "config.toml"
        config.write_text(CONFIG)
        config.chmod(0o600)  # it holds the webhook secret: private, so no warning comes first
        self.data = root / "data"
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "pac_tui", "--config", str(config)),
                *("webhook", "serve", "--port", "0", "--quiet", "--workers", "2"),
            ],
            env={**os.environ, "PAC_TUI_DATA_DIR": str(self.data)},
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        match = re.search(r"(http://\S+/)", self.line())
        assert match, self.lines
        self.url = match.group(1)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line)
        self._queue.put("")

    def line(self) -> str:
        """The next line on stderr ("" at its end); fails the test after GIVE_UP_S."""
        try:
            line = self._queue.get(timeout=GIVE_UP_S)
        except queue.Empty:
            raise AssertionError(f"nothing more on stderr: {self.lines}") from None
        self.lines.append(line)
        return line

    def rest(self) -> str:
        """Everything left on stderr, once the process has exited."""
        lines = []
        while line := self.line():
            lines.append(line)
        return "".join(lines)

    def wait_for(self, pattern: str) -> re.Match[str]:
        while True:
            line = self.line()
            assert line, f"stderr ended without {pattern!r}: {self.lines}"
            match = re.search(pattern, line)
            if match:
                return match

    def workers(self) -> list[int]:
        """The receiver processes: the children of `webhook serve`."""
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == self.proc.pid:
                children.append(int(entry.name))
        return sorted(children)


def zombie_or_alive(pid: int) -> str | None:
    """The state letter of `pid` (Z: a zombie nobody reaped), None once it is gone."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


@pytest.fixture
def group(tmp_path: Path) -> Iterator[Group]:
    g = Group(tmp_path)
    yield g
    if g.proc.poll() is None:
        os.killpg(g.proc.pid, signal.SIGKILL)
        g.proc.wait()


def deliver(url: str, count: int, prefix: str) -> list[int]:
    """`count` valid deliveries, each on a new connection (so both listening sockets get some)."""
    ids = []
    body = json.dumps(push_payload()).encode()
    for n in range(count):
        headers = {
            "X-Gitlab-Event": "Push Hook",
            "X-Gitlab-Token": SECRET,
            "Idempotency-Key": f"{prefix}-{n}",
        }
        answer = httpx.post(url + "hooks/x", content=body, headers=headers, timeout=GIVE_UP_S)
        assert answer.status_code == 200, answer.text
        ids.append(answer.json()["id"])
    return ids


def test_a_killed_receiver_is_reaped_and_replaced(group: Group) -> None:
    deliver(group.url, 4, "before")
    first = group.workers()
    assert len(first) == 2, first
    victim = first[0]
    os.kill(victim, signal.SIGKILL)
    group.wait_for(rf"receiver process {victim} was killed by SIGKILL; starting another")
    replaced = int(group.wait_for(r"receiver process (\d+) started in its place").group(1))
    assert zombie_or_alive(victim) is None, "the killed receiver was reaped"
    assert sorted(group.workers()) == sorted([first[1], replaced])
    ids = deliver(group.url, 20, "after")
    reader = JournalReader(journal_path(group.data))
    stored = [reader.get(i) for i in ids]
    assert [d.idempotency_key for d in stored if d] == [f"after-{n}" for n in range(20)]
    group.proc.send_signal(signal.SIGTERM)
    assert group.proc.wait(timeout=GIVE_UP_S) == 0, group.lines
    assert all(zombie_or_alive(pid) is None for pid in [*first, replaced])


def test_a_receiver_that_keeps_dying_stops_serve_with_the_reason(group: Group) -> None:
    pid = group.workers()[0]
    for _ in range(4):  # the policy's 5th death in a row is the last
        os.kill(pid, signal.SIGKILL)
        group.wait_for(rf"receiver process {pid} was killed by SIGKILL; starting another")
        pid = int(group.wait_for(r"receiver process (\d+) started in its place").group(1))
    os.kill(pid, signal.SIGKILL)
    assert group.proc.wait(timeout=GIVE_UP_S) == 1
    rest = group.rest()
    assert f"receiver process {pid} was killed by SIGKILL, 5 times in a row: stopping" in rest
    deadline = time.monotonic() + GIVE_UP_S
    while group.workers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert group.workers() == [], "no receiver outlives webhook serve"


def test_a_journal_deleted_while_the_group_serves_gets_503(group: Group) -> None:
    deliver(group.url, 2, "before")
    journal_path(group.data).unlink()
    body = json.dumps(push_payload()).encode()
    headers = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET, "Idempotency-Key": "lost"}
    answer = httpx.post(group.url + "hooks/x", content=body, headers=headers, timeout=GIVE_UP_S)
    assert answer.status_code == 503, answer.text
    assert answer.json() == {"error": "the delivery could not be stored; retry later"}
    group.wait_for(r"was deleted or replaced while pac-tui was writing it")


def test_a_writer_that_fails_stops_the_group_with_1_and_the_reason(tmp_path: Path) -> None:
    """The writer of real receiver processes (here: ones that wait for it) cannot open the
    journal: it stops them, reaps them, and says why, with status 1."""
    path = tmp_path / "events.sqlite3"
    path.mkdir()  # not a file: the writer's open fails
    workers = []
    for index in range(2):
        mine, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:  # a stand-in receiver: waits until SIGTERM or the writer is gone
            try:
                mine.close()
                theirs.recv(1)
            finally:
                os._exit(0)
        theirs.close()
        workers.append(Worker(index, pid, mine))
    err = io.StringIO()
    code = Writer(BatchWriter(path), workers).run(lambda: None, err)
    assert code == 1
    assert f"the journal writer failed (the webhook journal {path} is not a file)" in err.getvalue()
    assert "stopping webhook serve" in err.getvalue()
    for worker in workers:
        with pytest.raises(ChildProcessError):
            os.waitpid(worker.pid, os.WNOHANG)  # already reaped
