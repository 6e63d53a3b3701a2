"""pac-tui's token gateway: lets unmodified Pipelines-as-Code use GitLab OAuth access tokens.

PAC builds its GitLab client with ``gitlab.NewClient(token, WithBaseURL(git_provider.url))``,
which sends the token as ``Private-Token``; GitLab takes an OAuth access token only as
``Authorization: Bearer`` (and personal, project and group access tokens either way). Pointed at
by ``spec.git_provider.url``, the gateway turns ``Private-Token`` (or a ``private_token`` query
parameter) into Bearer and forwards everything else, streamed and unchanged, to exactly one
GitLab. It holds no token and no state; ``/healthz`` and ``/metrics`` are its own.

This package imports nothing else from pac_tui, so it can run (and be deployed) on its own. Its
settings and options import nothing heavy (`pac-tui --help` builds the gateway's options); the
server lives in `server` (`serve`, `run`) and `app` (`build_app`).
"""

from .settings import GatewayConfigError, GatewaySettings

__all__ = ["GatewayConfigError", "GatewaySettings"]
