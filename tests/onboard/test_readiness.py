"""`pac-tui check`: every line both ✔ and ✖, and the commands end to end."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from pac_tui import cli
from pac_tui.kube.repositories import PAC_GROUP
from pac_tui.onboard import onboard
from pac_tui.onboard.check import ORDER, Check, order_for, run_checks
from pac_tui.stores.file_store import TokenStore
from tests.gateway.support import gateway
from tests.onboard.conftest import CONTROLLER, PROJECT, World
from tests.providers.gitlab_api import revoke_at_provider


async def onboarded(world: World, mode: str = "project-token") -> None:
    repo = world.bound(mode)
    await onboard(
        repo, world.session.store, world.session.clock, world.clusters, controller_url=CONTROLLER
    )


async def check(world: World, repo: Any = None, **kw: Any) -> dict[str, Check]:
    repo = repo or world.bound()
    record = world.session.store.get(world.session.repo.name)
    token = record.tokens.access_token if record and record.tokens else "never-shown"
    lines = await run_checks(repo, world.session.store, world.session.clock, world.clusters, **kw)
    assert [line.name for line in lines] == list(order_for(repo))
    for line in lines:
        assert line.ok or line.fix, f"{line.name}: a ✖ line without a fix"
        assert token not in f"{line.detail} {line.fix}"
    return {line.name: line for line in lines}


def failing(lines: dict[str, Check]) -> list[str]:
    return [name for name, line in lines.items() if not line.ok]


async def test_all_green_after_onboarding(world: World) -> None:
    await onboarded(world)
    lines = await check(world)

    assert failing(lines) == []
    assert "signed in as" in lines["Token"].detail
    assert "your role: Maintainer" in lines["Project"].detail
    assert lines[".tekton/"].detail == ".tekton/ present on main: 2 files"
    assert "Maintainer" in lines["Commit status"].detail
    assert CONTROLLER in lines["Webhook"].detail  # found through the recorded annotation
    assert "demo-gitlab:provider.token and demo-gitlab:webhook.secret" in lines["Secret"].detail
    assert f"{world.gitlab.url}/{PROJECT}" in lines["Repository"].detail


async def test_before_onboarding_the_cluster_and_hook_lines_fail(world: World) -> None:
    lines = await check(world)

    assert failing(lines) == ["Webhook", "Secret", "Repository", "Rotation"]
    assert "controller's URL is unknown" in lines["Webhook"].detail
    assert "--controller-url" in lines["Webhook"].fix
    assert "ci/demo does not exist" in lines["Repository"].detail
    assert lines["Repository"].fix == "run: pac-tui onboard demo"

    with_url = await check(world, controller_url=CONTROLLER)
    assert f"no webhook posts to {CONTROLLER}" in with_url["Webhook"].detail


async def test_not_logged_in(world: World, tmp_path: Path) -> None:
    empty = TokenStore(tmp_path / "empty")
    lines = await run_checks(world.bound(), empty, world.session.clock, world.clusters)
    by_name = {line.name: line for line in lines}
    assert not by_name["Token"].ok
    assert by_name["Token"].fix == "log in with: pac-tui login demo"
    assert by_name["Project"].detail.startswith("not checked")


async def test_401_revoked_token(world: World) -> None:
    revoke_at_provider(world.gitlab, world.session)
    lines = await check(world)
    assert not lines["Token"].ok and "pac-tui login demo" in lines["Token"].fix
    assert failing(lines)[:4] == ["Token", "Project", ".tekton/", "Commit status"]


async def test_403_insufficient_scope(world: World) -> None:
    world.gitlab.oauth_scopes = ("read_user",)
    lines = await check(world)
    assert not lines["Project"].ok
    assert "scope 'api'" in lines["Project"].detail
    assert '"api" in the scopes of [gitlab.default]' in lines["Project"].fix


async def test_404_project_not_found(world: World) -> None:
    repo = replace(world.bound(), project="group/missing")
    lines = await check(world, repo=repo)
    assert not lines["Project"].ok
    assert "not found" in lines["Project"].detail
    assert "project path" in lines["Project"].fix


async def test_no_tekton_directory(world: World) -> None:
    world.project.files = {"README.md"}
    lines = await check(world)
    assert not lines[".tekton/"].ok
    assert "no .tekton/*.yaml on main" in lines[".tekton/"].detail
    assert "tkn pac generate" in lines[".tekton/"].fix


async def test_empty_repository(world: World) -> None:
    world.project.default_branch = None
    lines = await check(world)
    assert not lines[".tekton/"].ok and "empty" in lines[".tekton/"].detail


async def test_a_reporter_cannot_set_commit_statuses_nor_see_hooks(world: World) -> None:
    await onboarded(world)
    world.project.access_level = 20
    lines = await check(world)
    assert failing(lines) == ["Commit status", "Webhook"]
    assert "Reporter cannot set commit statuses" in lines["Commit status"].detail
    assert "Maintainer needed" in lines["Webhook"].detail


async def test_a_hook_without_note_events(world: World) -> None:
    await onboarded(world)
    (hook,) = world.project.hooks.values()
    hook["note_events"] = False
    lines = await check(world)
    assert failing(lines) == ["Webhook"]
    assert "no note events" in lines["Webhook"].detail
    assert lines["Webhook"].fix == "run: pac-tui onboard demo"


async def test_a_secret_without_the_webhook_key(world: World) -> None:
    await onboarded(world)
    secret = world.apiserver.get_object("", "secrets", "ci", "demo-gitlab")
    assert secret is not None
    del secret["data"]["webhook.secret"]
    world.apiserver.put_object({"apiVersion": "v1", "kind": "Secret", **secret})
    lines = await check(world)
    assert failing(lines) == ["Secret"]
    assert "has no key webhook.secret" in lines["Secret"].detail


async def test_a_repository_without_a_webhook_secret_fails_as_pac_would(world: World) -> None:
    """PAC's GitLab Validate refuses every delivery when the Repository names no webhook secret
    (or it is empty): the Secret line fails, with the command that fixes it."""
    await onboarded(world)
    obj = world.apiserver.get_object(PAC_GROUP, "repositories", "ci", "demo")
    assert obj is not None
    del obj["spec"]["git_provider"]["webhook_secret"]
    world.apiserver.put_object({"apiVersion": f"{PAC_GROUP}/v1alpha1", "kind": "Repository", **obj})
    lines = await check(world)
    assert failing(lines) == ["Secret"]
    assert "names no git_provider.webhook_secret" in lines["Secret"].detail
    assert "PAC refuses every delivery" in lines["Secret"].detail
    assert lines["Secret"].fix.startswith("run: pac-tui onboard demo")
    assert "webhook secret" in lines["Secret"].fix

    await onboarded(world)  # puts it back
    assert failing(await check(world)) == []
    secret = world.apiserver.get_object("", "secrets", "ci", "demo-gitlab")
    assert secret is not None
    secret["data"]["webhook.secret"] = ""
    world.apiserver.put_object({"apiVersion": "v1", "kind": "Secret", **secret})
    lines = await check(world)
    assert failing(lines) == ["Secret"]
    assert "webhook.secret is empty, so PAC refuses every delivery" in lines["Secret"].detail


async def test_a_repository_for_another_url(world: World) -> None:
    await onboarded(world)
    obj = world.apiserver.get_object(PAC_GROUP, "repositories", "ci", "demo")
    assert obj is not None
    obj["spec"]["url"] = f"{world.gitlab.url}/group/other"
    world.apiserver.put_object(
        {"apiVersion": "pipelinesascode.tekton.dev/v1alpha1", "kind": "Repository", **obj}
    )
    lines = await check(world)
    assert failing(lines) == ["Repository"]
    assert "is for" in lines["Repository"].detail and "group/other" in lines["Repository"].detail


async def test_cluster_down_fails_its_lines_only(world: World) -> None:
    await onboarded(world)
    world.apiserver.stop()
    lines = await check(world, controller_url=CONTROLLER)
    assert failing(lines) == ["Secret", "Repository", "Rotation"]
    assert "cannot reach the cluster" in lines["Secret"].detail
    assert "kubectl --context kind-pac" in lines["Secret"].fix


async def test_gitlab_down_fails_its_lines_only(world: World) -> None:
    await onboarded(world)
    world.gitlab.outage = 503
    lines = await check(world)
    assert failing(lines) == ["Token", "Project", ".tekton/", "Commit status", "Webhook"]
    assert lines["Token"].fix == "try again when GitLab answers"


async def test_an_unbound_repository(world: World) -> None:
    lines = await check(world, repo=world.session.repo)
    assert "not bound" in lines["Secret"].detail
    assert "--namespace NS --controller-url URL" in lines["Repository"].fix


# ---- the commands -----------------------------------------------------------------------------


def write_config(world: World, path: Path, binding: str = "") -> None:
    app = world.session.repo.gitlab
    path.write_text(
        "# my pac-tui config\n"
        f'[gitlab.default]\nurl = "{app.url}"\nclient_id = "{app.client_id}"\n'
        f'client_secret = "{app.client_secret}"\n\n'
        f'[[repositories]]\nname = "demo"  # the one PAC builds\nproject = "{PROJECT}"\n{binding}'
    )
    path.chmod(0o600)  # it holds the client secret: private, or pac-tui warns about it


async def pac_tui(world: World, tmp_path: Path, monkeypatch: Any, *argv: str) -> tuple[int, str]:
    config = tmp_path / "config.toml"
    monkeypatch.setenv("PAC_TUI_DATA_DIR", str(world.session.store.path.parent))
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("sys.stderr", err)
    args = ["--config", str(config), *argv, "--kubeconfig", str(world.kubeconfig)]
    status = await asyncio.to_thread(cli.main, args)
    return status, out.getvalue() + err.getvalue()


async def test_onboard_and_check_commands(world: World, tmp_path: Path, monkeypatch: Any) -> None:
    config = tmp_path / "config.toml"
    write_config(world, config)
    assert world.session.store.path.parent.exists()

    status, text = await pac_tui(world, tmp_path, monkeypatch, "check", "demo")
    assert status == 1 and "✖ Secret" in text

    status, text = await pac_tui(
        world,
        tmp_path,
        monkeypatch,
        "onboard",
        "demo",
        "--namespace",
        "ci",
        "--controller-url",
        CONTROLLER,
        "--context",
        "kind-pac",
        "--mode",
        "oauth",
        "--dry-run",
    )
    assert status == 0, text
    assert "would create" in text and "provider.token: REDACTED" in text
    assert "[repositories.kubernetes]" not in config.read_text()  # a dry run writes nothing
    assert world.apiserver.writes() == []

    # oauth mode with the token gateway in front of the fake GitLab: check sends the Secret's token
    # as Private-Token through it, exactly as PAC does, and GitLab (OAuth token only as Bearer)
    # accepts it only because the gateway turned it into Bearer.
    async with gateway(world.gitlab.url) as gateway_url:
        status, text = await pac_tui(
            world,
            tmp_path,
            monkeypatch,
            "onboard",
            "demo",
            "--namespace",
            "ci",
            "--controller-url",
            CONTROLLER,
            "--context",
            "kind-pac",
            "--mode",
            "oauth",
            "--gateway-url",
            gateway_url,
        )
        assert status == 0, text
        assert "Repository ci/demo" in text and "created" in text
        saved = config.read_text()
        assert "# the one PAC builds" in saved and "# my pac-tui config" in saved
        assert '[repositories.kubernetes]\ncontext = "kind-pac"\nnamespace = "ci"' in saved
        assert f'gateway = "{gateway_url}"' in saved
        assert world.session.tokens().access_token not in text

        status, text = await pac_tui(world, tmp_path, monkeypatch, "onboard", "demo", "--json")
        assert status == 0, text
        report = json.loads(text)
        assert [item["action"] for item in report["items"]] == ["unchanged"] * 3
        assert report["config_updated"] is False

        status, text = await pac_tui(world, tmp_path, monkeypatch, "check", "demo", "--json")
        assert status == 0, text
        assert all(line["ok"] for line in json.loads(text))

        status, text = await pac_tui(world, tmp_path, monkeypatch, "check", "demo")
        assert status == 0 and text.count("✔") == len(ORDER) + 2  # Gateway, Rotation
        assert f"PAC's call works through {gateway_url}" in text
        for value in (world.session.tokens().access_token, world.session.tokens().refresh_token):
            assert value and value not in text


async def test_oauth_mode_without_the_gateway_fails_the_gateway_line(world: World) -> None:
    await onboarded(world, "oauth")
    lines = await check(world, repo=world.bound("oauth"))
    assert failing(lines) == ["Gateway"]
    assert "sends the token as Private-Token" in lines["Gateway"].detail
    assert "--gateway-url" in lines["Gateway"].fix


async def test_a_repository_that_bypasses_the_gateway_fails_the_gateway_line(world: World) -> None:
    await onboarded(world, "oauth")  # git_provider.url stays the instance's own
    repo = world.bound("oauth", gateway="http://pac-tui-gateway.pac-tui.svc")
    lines = await check(world, repo=repo)
    assert failing(lines) == ["Gateway"]
    assert "not to the gateway http://pac-tui-gateway.pac-tui.svc" in lines["Gateway"].detail
    assert lines["Gateway"].fix == "run: pac-tui onboard demo"


async def test_a_gateway_only_reachable_in_the_cluster_is_reported_not_checked(
    world: World,
) -> None:
    unreachable = "http://127.0.0.1:9"  # discard port: nothing listens, as for a cluster name
    repo = world.bound("oauth", gateway=unreachable)
    await onboard(
        repo, world.session.store, world.session.clock, world.clusters, controller_url=CONTROLLER
    )
    lines = await check(world, repo=repo)
    assert failing(lines) == []
    assert "not checked from here" in lines["Gateway"].detail


async def test_the_gateway_line_fails_when_the_gateway_forwards_elsewhere(world: World) -> None:
    async with gateway("http://127.0.0.1:9") as gateway_url:  # an upstream that is down
        repo = world.bound("oauth", gateway=gateway_url)
        await onboard(
            repo,
            world.session.store,
            world.session.clock,
            world.clusters,
            controller_url=CONTROLLER,
        )
        lines = await check(world, repo=repo)
    assert failing(lines) == ["Gateway"]
    assert (
        f"the gateway {gateway_url} answered 502 (upstream unreachable" in lines["Gateway"].detail
    )
    assert "--upstream" in lines["Gateway"].fix


async def test_onboard_records_the_webhook_secret_when_pac_tui_relays(
    world: World, tmp_path: Path, monkeypatch: Any
) -> None:
    """pac-tui's receiver relays to PAC: onboarding writes the webhook secret it gave PAC and the
    hook into the config, so the receiver accepts and refuses what PAC does."""
    from pac_tui.core.config import load_config
    from pac_tui.webhooks.receiver import Receiver

    config = tmp_path / "config.toml"
    write_config(world, config)
    config.write_text(
        config.read_text().replace(
            "[[repositories]]", f'[webhook]\nrelay = "{CONTROLLER}"\n\n[[repositories]]'
        )
    )
    argv = ("onboard", "demo", "-n", "ci", "--controller-url", CONTROLLER, "--context", "kind-pac")
    status, text = await pac_tui(world, tmp_path, monkeypatch, *argv)
    assert status == 0, text
    secret = world.apiserver.get_object("", "secrets", "ci", "demo-gitlab")
    assert secret is not None
    value = base64.b64decode(secret["data"]["webhook.secret"]).decode()
    assert value and value not in text
    assert "Config: webhook_secret of demo written to" in text
    assert "# my pac-tui config" in config.read_text()  # the rest of the file is kept
    repo = load_config(config).repository("demo")
    assert repo.webhook_secret == value and repo.kubernetes is not None

    status, text = await pac_tui(world, tmp_path, monkeypatch, *argv, "--json")
    assert status == 0, text
    assert json.loads(text)["webhook_secret_recorded"] is False  # already there: unchanged

    # The receiver now judges as PAC does: the hook's token is accepted, a push carries its event.
    from pac_tui.core.clock import SystemClock
    from pac_tui.webhooks.models import Verdict

    receiver = Receiver(load_config(config), None, SystemClock())  # type: ignore[arg-type]
    push = {"object_kind": "push", "project": {"path_with_namespace": PROJECT}, "commits": [{}]}
    push["total_commits_count"] = 1
    body = json.dumps(push).encode()
    judged = receiver.judge({"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": value}, body)
    assert judged.verdict is Verdict.ACCEPTED and judged.pac_event == "push"


async def test_onboard_leaves_the_webhook_secret_out_of_the_config_without_a_relay(
    world: World, tmp_path: Path, monkeypatch: Any
) -> None:
    config = tmp_path / "config.toml"
    write_config(world, config)
    argv = ("onboard", "demo", "-n", "ci", "--controller-url", CONTROLLER, "--context", "kind-pac")
    status, text = await pac_tui(world, tmp_path, monkeypatch, *argv, "--json")
    assert status == 0, text
    assert json.loads(text)["webhook_secret_recorded"] is False
    assert "webhook_secret" not in config.read_text()
