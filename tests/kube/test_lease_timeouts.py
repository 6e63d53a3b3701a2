"""Every Lease call is bounded: against an apiserver that accepts connections and never answers,
an election step gives up within its renew deadline, and SIGTERM ends the refresher in seconds."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

from tests.kube.fake_apiserver import FakeApiServer
from tests.kube.refresher_setup import elector, free_port, refresher_command


def test_an_election_step_gives_up_within_its_deadline(
    apiserver: FakeApiServer, kubeconfig: Path
) -> None:
    candidate = elector(kubeconfig, "replica-a")  # renew deadline 2 s
    assert candidate.step()
    apiserver.silence()
    answers: list[bool] = []
    started = time.monotonic()
    step = threading.Thread(target=lambda: answers.append(candidate.step()), daemon=True)
    step.start()
    step.join(timeout=candidate.renew_deadline + 2)
    took = time.monotonic() - started
    assert not step.is_alive(), "the step was still blocked after its deadline"
    assert took <= candidate.renew_deadline + 0.5 and len(answers) == 1
    time.sleep(max(0.0, candidate.renew_deadline - took) + 0.1)
    assert not candidate.step() and not candidate.leading  # stopped acting in time
    apiserver.silence(False)
    assert candidate.step()  # back to normal once the apiserver answers


def test_sigterm_ends_the_refresher_on_a_silent_apiserver(
    apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    command, env = refresher_command(
        tmp_path,
        kubeconfig,
        None,
        "--identity",
        "pod-1",
        "--lease-duration",
        "3",
        "--renew-deadline",
        "2",
        "--retry-period",
        "1",
        "--metrics-address",
        "127.0.0.1",
        "--metrics-port",
        str(free_port()),
    )
    apiserver.silence()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60  # the process starts first: seconds on a loaded CI
        asked = lambda: any("/leases/" in r.path for r in apiserver.requests)  # noqa: E731
        while time.monotonic() < deadline and not asked():
            time.sleep(0.1)  # the first election step is under way, unanswered
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        _, err = process.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        process.kill()
        apiserver.silence(False)
    assert process.returncode == 0, err
    assert "refresher stopped" in err
    # Unbounded, the unanswered call would last the 30 s read timeout (or for ever); each Lease
    # call is bounded by a third of the 2 s renew deadline. Generous for a loaded CI.
    assert took < 15, f"SIGTERM took {took:.1f} s"
