"""Token-less onboarding: what `tkn pac create repo` does, with the operator's OAuth session
instead of a personal access token.

Three things are put in place, each reported as created / updated / unchanged:

1. the PAC `Repository` resource: `spec.url`, `git_provider.type: gitlab`, `git_provider.url` on a
   self-managed instance (anything but https://gitlab.com), the Secret references, and
   `user: oauth2` in oauth mode. The controller URL is recorded on it as the annotation
   `pac-tui.dev/controller-url`, where `pac-tui check` finds it again;
2. the Secret: the webhook secret first (kept when the Secret has one, else the config's
   `webhook_secret`, else a random one), then the provider token through `pac_tui.kube.sync`, the
   same code as `pac-tui sync`, so the two token modes live in one place;
3. the GitLab project hook posting push, tag push, merge request and note events to the controller
   URL, with the webhook secret as its token and SSL verification on; and, when pac-tui's receiver
   is in the path or the config has one, a signing token (`signing_token_for`), which only an
   instance with signed webhooks takes (the hook GitLab answers with says whether it did).

Everything is read first (the plan), then written (apply), so a refusal that can be seen up front
(project not found, role too low for the hook) stops the run before anything is written. A
`dry_run` only reads: it returns the YAML of the Secret (values REDACTED) and of the Repository,
and the hook it would create. When GitLab or the cluster cannot be reached, a dry run still returns
them, with a warning naming what could not be checked. A dry run never refreshes the OAuth token
(that would be a write at GitLab): a token GitLab refuses becomes a warning.

Where the binding comes from: the core takes a config `Repository` whose `[repositories.kubernetes]`
binding is set. `binding_for` merges command-line values into an existing binding (or makes one),
and `save_binding` writes it into the config file after a successful run (tomlkit: comments kept).

GitLab never shows a hook's token, so a hook that exists with the right URL and events counts as
unchanged when the webhook secret was kept; it is updated (token sent again) whenever the webhook
secret is new.

Modules: `binding` (the config side), `read` (what the cluster and GitLab hold), `wanted` (the
Repository resource and hook as they should be), `plan` (what a dry run reports), `manifests` (the
YAML shown), `apply` (the writes), `run` (`onboard` itself), `result` (`Item`, `OnboardResult`).
"""

from __future__ import annotations

from pac_tui.onboard.apply import MAX_ATTEMPTS
from pac_tui.onboard.binding import (
    binding_for,
    save_binding,
    save_signing_token,
    save_webhook_secret,
    signing_token_for,
)
from pac_tui.onboard.read import (
    ClusterView,
    GitLabView,
    ReadOnlyToken,
    read_cluster,
    read_gitlab,
    read_repository_object,
)
from pac_tui.onboard.result import (
    CREATED,
    NOT_CHECKED,
    REDACTED,
    UNCHANGED,
    UPDATED,
    WOULD_CREATE,
    WOULD_UPDATE,
    Item,
    OnboardResult,
)
from pac_tui.onboard.run import onboard
from pac_tui.onboard.wanted import (
    GITLAB_COM,
    OAUTH_USER,
    check_controller_url,
    hook_settings,
    wanted_spec,
)

__all__ = [
    "CREATED",
    "GITLAB_COM",
    "MAX_ATTEMPTS",
    "NOT_CHECKED",
    "OAUTH_USER",
    "REDACTED",
    "UNCHANGED",
    "UPDATED",
    "WOULD_CREATE",
    "WOULD_UPDATE",
    "ClusterView",
    "GitLabView",
    "Item",
    "OnboardResult",
    "ReadOnlyToken",
    "binding_for",
    "check_controller_url",
    "hook_settings",
    "onboard",
    "read_cluster",
    "read_gitlab",
    "read_repository_object",
    "save_binding",
    "save_signing_token",
    "save_webhook_secret",
    "signing_token_for",
    "wanted_spec",
]
