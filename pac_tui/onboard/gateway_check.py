"""The readiness check's Gateway line: can unmodified PAC use this oauth-mode repository's token?

PAC sends its token as ``Private-Token``, which GitLab refuses for OAuth access tokens, so in oauth
mode PAC must reach GitLab through pac-tui's token gateway (`spec.git_provider.url`). The line is
✔ only when the Repository points at the configured gateway and, where the gateway can be reached
from here, ``GET /api/v4/user`` with the Secret's token sent as ``Private-Token`` (exactly what PAC
sends) succeeds through it. A gateway that only answers inside the cluster is reported as not
checked from here, which is not a failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from pac_tui.core.config import Repository, TokenMode
from pac_tui.gitlab.http import http_client, json_object

GATEWAY = "Gateway"
DEPLOY_HINT = (
    "deploy the gateway (deploy/gateway.yaml), then run: "
    "pac-tui onboard {name} --mode oauth --gateway-url URL"
)


@dataclass(frozen=True)
class GatewayProbe:
    """What the cluster side read for the Gateway line: where the Repository sends PAC's API
    calls, and the token PAC would send (never shown)."""

    provider_url: str | None
    token: str | None = field(default=None, repr=False)


def wants_gateway_line(repo: Repository) -> bool:
    binding = repo.kubernetes
    return binding is not None and binding.mode == TokenMode.OAUTH


async def gateway_line(
    repo: Repository,
    probe: GatewayProbe | None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[bool, str, str]:
    """(ok, detail, fix) of the Gateway line for a bound oauth-mode repository.

    `probe` is None when the Repository resource could not be read.
    """
    binding = repo.kubernetes
    assert binding is not None
    fix = DEPLOY_HINT.format(name=repo.name)
    if binding.gateway is None:
        return (
            False,
            "oauth mode without the token gateway: unmodified PAC sends the token as "
            "Private-Token, which GitLab refuses for OAuth tokens",
            fix,
        )
    if probe is None:
        return (
            False,
            "not checked: the Repository resource is missing",
            f"run: pac-tui onboard {repo.name}",
        )
    if (probe.provider_url or "").rstrip("/") != binding.gateway.rstrip("/"):
        where = probe.provider_url or "GitLab itself (no git_provider.url)"
        return (
            False,
            f"{binding.key} sends PAC's API calls to {where}, not to the gateway {binding.gateway}",
            f"run: pac-tui onboard {repo.name}",
        )
    if not probe.token:
        return (
            False,
            f"points at {binding.gateway}, but the Secret holds no token pac-tui wrote",
            f"run: pac-tui sync {repo.name}",
        )
    try:
        async with http_client(timeout=httpx.Timeout(5.0), transport=transport) as http:
            response = await http.get(
                f"{binding.gateway}/api/v4/user",
                headers={"PRIVATE-TOKEN": probe.token, "Accept": "application/json"},
            )
    except httpx.TransportError as exc:
        return (
            True,
            f"points at {binding.gateway}; not checked from here ({type(exc).__name__}): it "
            "may answer only inside the cluster",
            "",
        )
    body = json_object(response) or {}
    status = response.status_code
    if status == 200:
        who = body.get("username")
        as_whom = f" as {who}" if isinstance(who, str) and who else ""
        return (
            True,
            f"PAC's call works through {binding.gateway}: GET /api/v4/user with the Secret's "
            f"token as Private-Token{as_whom}",
            "",
        )
    if status in (502, 504) and isinstance(body.get("error"), str):
        said = f"{body['error']}: {body.get('detail')}" if body.get("detail") else body["error"]
        return (
            False,
            f"the gateway {binding.gateway} answered {status} ({said})",
            _refused(repo),
        )
    if status == 401:
        return (
            False,
            f"GitLab refused the Secret's token through {binding.gateway} (401)",
            _refused(repo),
        )
    return (
        False,
        f"PAC's call through {binding.gateway} answered HTTP {status}; is it pac-tui's gateway?",
        _refused(repo),
    )


def _refused(repo: Repository) -> str:
    return (
        f"check that the gateway's --upstream is {repo.gitlab.url}; then run: "
        f"pac-tui sync {repo.name}"
    )
