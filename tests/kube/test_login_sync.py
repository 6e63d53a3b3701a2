"""`pac-tui login` of a bound repository writes the new grant's token into its Secret at once:
the real CLI, the real OAuth provider (DOT) behind the fake GitLab (its login pages answered by a
scripted browser), the fake apiserver through the official client, the real token store."""

from __future__ import annotations

import asyncio
import io
import json
import webbrowser
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pac_tui import cli
from pac_tui.actions.login import login_and_sync
from pac_tui.core.clock import ManualClock, SystemClock
from pac_tui.core.errors import ClusterUnavailable
from pac_tui.kube.cluster import Clusters
from pac_tui.kube.sync import sync
from tests.kube.fake_apiserver import FakeApiServer
from tests.kube.pac import add_repository, bearer_works, bind, secret_value
from tests.providers.gitlab_api import FakeGitLab, Session, _authorize, login

PROJECT = "group/sub/project"


@pytest.fixture
def fake(gitlab: FakeGitLab) -> FakeGitLab:
    gitlab.reset()
    gitlab.add_project(PROJECT)
    return gitlab


async def bound_session(
    fake: FakeGitLab, apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path
) -> Session:
    """A first login whose token is already in the Secret (oauth mode)."""
    s = await login(fake, tmp_path / "data", project=PROJECT)
    s.repo = bind(s.repo, "oauth")
    add_repository(apiserver, "demo", f"{fake.url}/{PROJECT}", user="oauth2")
    clusters = Clusters(str(kubeconfig))
    try:
        assert (await sync(s.repo, s.store, s.clock, clusters)).action == "written"
    finally:
        clusters.close()
    return s


def write_config(s: Session, path: Path) -> None:
    app = s.repo.gitlab
    path.write_text(
        f'[gitlab.default]\nurl = "{app.url}"\nclient_id = "{app.client_id}"\n'
        f'client_secret = "{app.client_secret}"\n\n'
        f'[[repositories]]\nname = "demo"\nproject = "{PROJECT}"\n\n'
        '[repositories.kubernetes]\nnamespace = "ci"\nrepository = "demo"\nmode = "oauth"\n'
    )
    path.chmod(0o600)  # it holds the client secret: private, or pac-tui warns about it


async def pac_tui(
    fake: FakeGitLab, s: Session, kubeconfig: Path, tmp_path: Path, monkeypatch: Any, *argv: str
) -> tuple[int, str, str]:
    """Run the real `pac-tui` with a browser that signs in and presses Authorize."""
    config = tmp_path / "config.toml"
    write_config(s, config)
    provider = fake.provider
    monkeypatch.setenv("PAC_TUI_DATA_DIR", str(s.store.path.parent))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setattr(
        webbrowser, "open", lambda url: _authorize(url, provider.username, provider.password)
    )
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("sys.stderr", err)
    status = await asyncio.to_thread(cli.main, ["--config", str(config), *argv])
    return status, out.getvalue(), err.getvalue()


async def test_login_writes_the_new_token_into_the_secret(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = await bound_session(fake, apiserver, kubeconfig, tmp_path)
    before = s.tokens()
    assert secret_value(apiserver, "provider.token") == before.access_token

    status, out, err = await pac_tui(
        fake, s, kubeconfig, tmp_path, monkeypatch, "login", "demo", "--timeout", "60"
    )
    assert status == 0, err
    after = s.tokens()
    assert after.access_token != before.access_token
    assert secret_value(apiserver, "provider.token") == after.access_token
    assert secret_value(apiserver, "pac-tui.refresh-token") == after.refresh_token
    assert "demo: written, Secret ci/demo-gitlab" in out
    for value in (before.access_token, after.access_token, after.refresh_token):
        assert value not in out + err

    status, out, err = await pac_tui(fake, s, kubeconfig, tmp_path, monkeypatch, "status", "--json")
    (row,) = json.loads(out)
    assert row["cluster"]["synced"] is True and row["cluster"]["message"] is None


async def test_a_new_login_replaces_the_secret_whatever_the_clocks_say(
    fake: FakeGitLab, apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    """Issue times have one-second resolution and come from different clocks: a login on a
    laptop with no earlier record (another laptop, the dashboard of a new data directory) in the
    same second as the Secret's grant, or with a clock behind the refresher's, must still put
    the new grant in the Secret, never take the older one back."""
    s = await bound_session(fake, apiserver, kubeconfig, tmp_path)
    held = s.tokens()
    for n, behind in enumerate((timedelta(0), timedelta(minutes=10))):
        clock = ManualClock(held.issued_at - behind)
        laptop = await login(fake, tmp_path / f"laptop-{n}", project=PROJECT, clock=clock)
        laptop.repo = s.repo

        async def again(laptop: Session = laptop) -> Any:
            return laptop.store.get("demo")

        clusters = Clusters(str(kubeconfig))
        try:
            outcome = await login_and_sync(laptop.repo, laptop.store, clock, clusters, again)
        finally:
            clusters.close()
        fresh = laptop.tokens()
        assert fresh.access_token != held.access_token
        assert outcome.sync is not None and outcome.sync.action == "written"
        assert secret_value(apiserver, "provider.token") == fresh.access_token
        assert await bearer_works(s.repo.gitlab, fresh.access_token)
        held = fresh


async def test_cluster_down_during_login_keeps_the_login(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = await bound_session(fake, apiserver, kubeconfig, tmp_path)
    before = s.tokens()
    apiserver.stop()

    status, out, err = await pac_tui(
        fake, s, kubeconfig, tmp_path, monkeypatch, "login", "demo", "--timeout", "60"
    )
    assert status == 0, err
    assert "Logged in to" in out
    after = s.tokens()
    assert after.access_token != before.access_token  # stored locally all the same
    assert "pac-tui: warning: the login is stored, but the Secret was not updated" in err
    assert "cannot reach the cluster" in err and "pac-tui sync demo" in err
    assert after.access_token not in out + err

    status, out, _ = await pac_tui(fake, s, kubeconfig, tmp_path, monkeypatch, "status", "--json")
    (row,) = json.loads(out)
    assert row["state"] == "authorized"
    assert row["cluster"]["synced"] is False
    assert "cannot reach the cluster" in row["cluster"]["message"]

    apiserver.start()  # same port, same objects: still the old grant's token until a sync
    assert secret_value(apiserver, "provider.token") == before.access_token


async def test_login_and_sync_leaves_an_unbound_repository_alone(
    fake: FakeGitLab, tmp_path: Path
) -> None:
    """The use case never asks for a cluster when the repository is not bound."""
    s = await login(fake, tmp_path / "data", project=PROJECT)
    clock = ManualClock(datetime.now(UTC))

    class NoClusters:
        def get(self, context: str | None) -> Any:
            raise ClusterUnavailable("no cluster should be asked for")

    record = s.store.get("demo")
    assert record is not None

    async def again() -> Any:
        return record

    outcome = await login_and_sync(s.repo, s.store, clock, NoClusters(), again)  # type: ignore[arg-type]
    assert outcome.record is record and outcome.sync_line() is None and not outcome.bound


async def test_a_login_from_the_dashboard_writes_the_secret_too(
    fake: FakeGitLab, apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    from pac_tui.ui.screens.login import LoginScreen
    from tests.ui.conftest import make_app, make_context
    from tests.ui.test_dashboard import SIZE, screen_text, settle

    s = await bound_session(fake, apiserver, kubeconfig, tmp_path)
    before = s.tokens()
    provider = fake.provider
    app_ = s.repo.gitlab
    (tmp_path / "ui").mkdir()
    ctx = make_context(
        tmp_path / "ui",
        url=fake.url,
        config_text=(
            f'[gitlab.default]\nurl = "{{url}}"\nclient_id = "{app_.client_id}"\n'
            f'client_secret = "{app_.client_secret}"\n\n'
            f'[[repositories]]\nname = "demo"\nproject = "{PROJECT}"\n\n'
            '[repositories.kubernetes]\nnamespace = "ci"\nrepository = "demo"\nmode = "oauth"\n'
        ),
        open_browser=lambda url: _authorize(url, provider.username, provider.password),
    )
    ctx.clock = SystemClock()  # the grant in the Secret was issued by the system clock too
    ctx.kubeconfig = str(kubeconfig)
    ctx.auto_refresh = False
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        assert isinstance(app.screen, LoginScreen)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LoginScreen) and screen.result is not None
        tokens = ctx.store.get("demo").tokens  # type: ignore[union-attr]
        assert tokens is not None and tokens.access_token != before.access_token
        assert secret_value(apiserver, "provider.token") == tokens.access_token
        text = screen_text(app)
        assert "Logged in" in text and "demo: written, Secret ci/demo-gitlab" in text
        assert tokens.access_token not in text

        await pilot.press("enter")
        apiserver.stop()
        await pilot.press("l")
        await settle(pilot)
        text = screen_text(app)
        assert "Logged in" in text and "Secret was not updated" in text
        await pilot.press("enter")


async def test_revoke_of_a_bound_repository_warns_about_the_dead_token_in_the_secret(
    fake: FakeGitLab,
    apiserver: FakeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = await bound_session(fake, apiserver, kubeconfig, tmp_path)
    held = secret_value(apiserver, "provider.token")
    assert held and await bearer_works(s.repo.gitlab, held)

    status, out, err = await pac_tui(fake, s, kubeconfig, tmp_path, monkeypatch, "revoke", "demo")
    assert status == 0, err
    assert "revoked the access and refresh tokens" in out
    assert not await bearer_works(s.repo.gitlab, held)  # what the Secret holds is dead now
    assert "pac-tui: demo: warning: the Secret of PAC Repository ci/demo still holds" in err
    assert "pac-tui login demo" in err and held not in out + err

    status, out, err = await pac_tui(fake, s, kubeconfig, tmp_path, monkeypatch, "revoke", "demo")
    assert status == 0 and "nothing to revoke" in out and err == ""  # nothing revoked: no warning


async def test_login_in_project_token_mode_mints_once(
    fake: FakeGitLab, apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    """project-token mode: the first login mints the project token into the Secret; a second
    login finds it alive there, takes it back and mints no other."""
    add_repository(apiserver, "demo", f"{fake.url}/{PROJECT}")
    clusters = Clusters(str(kubeconfig))
    provider = fake.provider
    try:
        s = await login(fake, tmp_path / "data", project=PROJECT)
        s.repo = bind(s.repo, "project-token")

        async def again() -> Any:
            from pac_tui.oauth.login import login as oauth_login

            return await oauth_login(
                s.repo,
                s.store,
                s.clock,
                on_authorize_url=lambda url: None,
                open_browser=lambda url: _authorize(url, provider.username, provider.password),
                wait_seconds=60,
            )

        first = await login_and_sync(s.repo, s.store, s.clock, clusters, again)
        assert first.sync is not None and first.sync.action == "minted"
        token = secret_value(apiserver, "provider.token")
        assert token and token.startswith("glpat-")
        assert first.sync_line() == "demo: minted, Secret ci/demo-gitlab"

        second = await login_and_sync(s.repo, s.store, s.clock, clusters, again)
        # A new grant's record starts without the project token (oauth.login.store_grant); the
        # live one in the Secret is taken back, not replaced.
        assert second.sync is not None and second.sync.action == "adopted"
        record = s.store.get("demo")
        assert record is not None and record.project_token is not None
        assert record.project_token.token == token
        assert secret_value(apiserver, "provider.token") == token
        assert fake.count("POST", "/projects/{id}/access_tokens") == 1
    finally:
        clusters.close()


async def test_a_login_in_the_same_second_as_the_synced_grant_still_wins(
    fake: FakeGitLab, apiserver: FakeApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    """Generations are stored to the second, and a tie in the Secret counts as newer there: a new
    login within the second of the grant it replaces must still be written, not swapped back."""
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    add_repository(apiserver, "demo", f"{fake.url}/{PROJECT}", user="oauth2")
    clusters = Clusters(str(kubeconfig))
    provider = fake.provider
    try:
        s = await login(fake, tmp_path / "data", project=PROJECT, clock=clock)
        s.repo = bind(s.repo, "oauth")
        assert (await sync(s.repo, s.store, clock, clusters)).action == "written"
        before = s.tokens()

        async def again() -> Any:
            from pac_tui.oauth.login import login as oauth_login

            return await oauth_login(
                s.repo,
                s.store,
                clock,  # the same second
                on_authorize_url=lambda url: None,
                open_browser=lambda url: _authorize(url, provider.username, provider.password),
                wait_seconds=60,
            )

        outcome = await login_and_sync(s.repo, s.store, clock, clusters, again)
        assert outcome.sync is not None and outcome.sync.action == "written"
        after = s.tokens()
        assert after.access_token != before.access_token
        assert secret_value(apiserver, "provider.token") == after.access_token
    finally:
        clusters.close()
