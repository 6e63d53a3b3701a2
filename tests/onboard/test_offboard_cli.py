"""`pac-tui offboard` end to end: the real command, the fake GitLab in front of the real OAuth
provider, the fake apiserver through a kubeconfig."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest

from pac_tui import cli
from pac_tui.kube.repositories import PAC_GROUP
from tests.onboard.conftest import PROJECT, World
from tests.onboard.test_offboard import onboarded


class Terminal(io.StringIO):
    """A stdin that is a terminal, with the user's answer typed in."""

    def isatty(self) -> bool:
        return True


def write_config(world: World, path: Path) -> None:
    app = world.session.repo.gitlab
    path.write_text(
        f'[gitlab.default]\nurl = "{app.url}"\nclient_id = "{app.client_id}"\n'
        f'client_secret = "{app.client_secret}"\n\n'
        f'[[repositories]]\nname = "demo"\nproject = "{PROJECT}"\n\n'
        '[repositories.kubernetes]\ncontext = "kind-pac"\nnamespace = "ci"\n'
        'repository = "demo"\nmode = "project-token"\n'
    )


async def pac_tui(
    world: World, tmp_path: Path, monkeypatch: Any, *argv: str, stdin: io.StringIO | None = None
) -> tuple[int, str, str]:
    config = tmp_path / "config.toml"
    if not config.exists():
        write_config(world, config)
    monkeypatch.setenv("PAC_TUI_DATA_DIR", str(world.session.store.path.parent))
    monkeypatch.setenv("KUBECONFIG", str(world.kubeconfig))
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr("sys.stdin", stdin or io.StringIO(""))
    status = await asyncio.to_thread(cli.main, ["--config", str(config), *argv])
    return status, out.getvalue(), err.getvalue()


def secret_gone(world: World) -> bool:
    return world.apiserver.get_object("", "secrets", "ci", "demo-gitlab") is None


async def test_offboard_yes_json_then_again(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, values = await onboarded(world, "project-token")

    status, out, err = await pac_tui(
        world, tmp_path, monkeypatch, "offboard", "demo", "--yes", "--json"
    )

    assert status == 0, err
    document = json.loads(out)
    assert document["ok"] is True and document["next"] is None
    assert [s["state"] for s in document["steps"]][:6] == ["done"] * 6
    assert secret_gone(world) and world.project.hooks == {}
    for value in values.values():
        assert value not in out + err

    status, out, err = await pac_tui(world, tmp_path, monkeypatch, "offboard", "demo", "--yes")
    assert status == 0, err
    assert "nothing of pac-tui's was left to remove" in err
    assert "already absent" in out and "done" not in out


async def test_without_a_terminal_and_without_yes_it_refuses(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await onboarded(world, "project-token")

    status, out, err = await pac_tui(world, tmp_path, monkeypatch, "offboard", "demo")

    assert status == 2 and out == ""
    assert "--yes" in err and "--dry-run" in err
    assert world.apiserver.writes() == [] and world.gitlab.requests == {}


async def test_the_confirmation_shows_the_steps_and_no_keeps_everything(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await onboarded(world, "project-token")

    status, out, err = await pac_tui(
        world, tmp_path, monkeypatch, "offboard", "demo", stdin=Terminal("n\n")
    )

    assert status == 1 and "nothing was changed" in err and out == ""
    assert "delete hook #" in err and "carry out these steps? [y/N]" in err
    assert world.apiserver.writes() == [] and world.gitlab_writes() == 0

    status, _out, err = await pac_tui(
        world, tmp_path, monkeypatch, "offboard", "demo", stdin=Terminal("y\n")
    )
    assert status == 0, err
    assert secret_gone(world)


async def test_dry_run_prints_the_plan_and_writes_nothing(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, values = await onboarded(world, "project-token")

    status, out, err = await pac_tui(world, tmp_path, monkeypatch, "offboard", "demo", "--dry-run")

    assert status == 0, err
    assert out.splitlines()[0].split() == ["STEP", "TARGET", "STATE", "MESSAGE"]
    assert "planned" in out and "revoke project access token #" in out
    assert world.apiserver.writes() == [] and world.gitlab_writes() == 0
    for value in values.values():
        assert value not in out + err


async def test_a_failed_step_exits_1_with_the_command_to_run_next(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await onboarded(world, "project-token")
    world.apiserver.fail_next("DELETE", r"/secrets/demo-gitlab$", 503)

    status, out, err = await pac_tui(
        world, tmp_path, monkeypatch, "offboard", "demo", "--yes", "--delete-repository"
    )

    assert status == 1
    assert "failed" in out and "not done: an earlier step failed" in out
    assert "pac-tui: demo: secret failed:" in err
    assert "run pac-tui offboard demo --delete-repository" in err
    assert world.apiserver.get_object(PAC_GROUP, "repositories", "ci", "demo") is not None

    status, _out, err = await pac_tui(
        world, tmp_path, monkeypatch, "offboard", "demo", "--yes", "--delete-repository"
    )
    assert status == 0, err
    assert world.apiserver.get_object(PAC_GROUP, "repositories", "ci", "demo") is None


async def test_forget_removes_the_config_entry(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await onboarded(world, "project-token")

    status, _out, err = await pac_tui(
        world, tmp_path, monkeypatch, "offboard", "demo", "--yes", "--forget"
    )

    assert status == 0, err
    assert 'name = "demo"' not in (tmp_path / "config.toml").read_text()


async def test_revoke_of_a_bound_repository_points_to_offboard(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await onboarded(world, "project-token")

    status, _out, err = await pac_tui(world, tmp_path, monkeypatch, "revoke", "demo")

    assert status == 0, err
    assert "warning:" in err and "pac-tui offboard demo" in err


async def test_an_unbound_repository_is_refused_with_the_way_out(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(world, tmp_path / "config.toml")
    text = (tmp_path / "config.toml").read_text()
    (tmp_path / "config.toml").write_text(text.split("[repositories.kubernetes]")[0])

    status, out, err = await pac_tui(world, tmp_path, monkeypatch, "offboard", "demo", "--yes")

    assert status == 2 and out == ""
    assert "not bound to a PAC Repository" in err and "pac-tui revoke demo" in err
