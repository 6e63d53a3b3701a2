"""`pac-tui onboard` and `pac-tui check`: connect a repository to PAC, and see if it is ready.

The `kubernetes` client is imported inside each command, so `pac-tui --help` never pays for it.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any

from pac_tui.cli.output import print_json
from pac_tui.core.config import TOKEN_MODES

if TYPE_CHECKING:
    from pac_tui.cli.context import Context
    from pac_tui.onboard import OnboardResult
    from pac_tui.onboard.check import Check


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "onboard",
        help="connect a repository to PAC without a personal access token: Secret, "
        "Repository resource and GitLab webhook",
    )
    p.add_argument("repo", metavar="NAME", help="repository name from the config")
    p.add_argument(
        "-n", "--namespace", help="namespace of the PAC Repository (default: the config's)"
    )
    p.add_argument(
        "--controller-url",
        metavar="URL",
        help="the PAC controller's URL, where GitLab sends the events (default: the one "
        "recorded by an earlier onboard)",
    )
    p.add_argument(
        "--mode",
        choices=TOKEN_MODES,
        help="what PAC gets: a project access token pac-tui mints and rotates (default, works "
        "with today's PAC), or the OAuth token itself (for a PAC that sends Bearer tokens)",
    )
    p.add_argument(
        "--gateway-url",
        metavar="URL",
        help="oauth mode through pac-tui's token gateway: the URL PAC reaches it at (set as "
        "spec.git_provider.url); implies --mode oauth",
    )
    p.add_argument("--repository", metavar="NAME", help="name of the Repository resource")
    p.add_argument("--context", help="kubeconfig context (default: the config's, or current)")
    p.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file (default $KUBECONFIG)")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="write nothing; print the YAML and the webhook it would create",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=cmd_onboard)

    p = sub.add_parser("check", help="is a repository ready for PAC? one line per check, ✔/✖")
    p.add_argument("repo", metavar="NAME", help="repository name from the config")
    p.add_argument("--controller-url", metavar="URL", help="the PAC controller's URL")
    p.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file (default $KUBECONFIG)")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(run=cmd_check)


def cmd_onboard(ctx: Context, args: argparse.Namespace) -> int:
    from dataclasses import replace

    from pac_tui.onboard import (
        binding_for,
        onboard,
        save_binding,
        save_signing_token,
        save_webhook_secret,
        signing_token_for,
    )

    repo = ctx.config.repository(args.repo)
    binding = binding_for(
        repo,
        namespace=args.namespace,
        mode=args.mode,
        context=args.context,
        repository=args.repository,
        gateway=args.gateway_url,
    )
    bound = replace(repo, kubernetes=binding)
    result = asyncio.run(
        onboard(
            bound,
            ctx.store,
            ctx.clock,
            ctx.clusters,
            controller_url=args.controller_url,
            dry_run=args.dry_run,
            signing_token=signing_token_for(ctx.config, repo),
        )
    )
    saved = recorded = signing = False
    if not args.dry_run and repo.kubernetes != binding:
        saved = save_binding(ctx.config_path, repo.name, binding)
    if result.webhook_secret is not None:  # pac-tui's receiver checks what PAC checks
        recorded = save_webhook_secret(ctx.config_path, repo.name, result.webhook_secret)
    if result.signing_token is not None:  # the hook signs: the receiver requires it from now on
        signing = save_signing_token(ctx.config_path, repo.name, result.signing_token)
    for warning in result.warnings:
        print(f"pac-tui: {repo.name}: warning: {warning}", file=ctx.err)
    if args.json:
        print_json(
            ctx.out,
            {
                **result.to_json(),
                "config_updated": saved or recorded or signing,
                "webhook_secret_recorded": recorded,
                "webhook_signing_token_recorded": signing,
            },
        )
        return 0
    _print_onboarding(ctx, result)
    if saved:
        where = f"[repositories.kubernetes] of {repo.name}"
        print(f"Config: {where} written to {ctx.config_path}", file=ctx.out)
    if recorded:
        print(
            f"Config: webhook_secret of {repo.name} written to {ctx.config_path} (pac-tui's "
            "receiver relays to PAC, so it checks deliveries against PAC's webhook secret)",
            file=ctx.out,
        )
    if signing:
        print(
            f"Config: webhook_signing_token of {repo.name} written to {ctx.config_path} (GitLab "
            "signs the hook's deliveries with it; pac-tui's receiver requires the signature)",
            file=ctx.out,
        )
    return 0


def _print_onboarding(ctx: Context, result: OnboardResult) -> None:
    width = max(len(f"{item.kind} {item.name}") for item in result.items)
    for item in result.items:
        label = f"{item.kind} {item.name}".ljust(width)
        detail = f"  ({item.detail})" if item.detail else ""
        print(f"{label}  {item.action}{detail}", file=ctx.out)
    if not result.dry_run:
        return
    print("\n# The PAC Repository resource", file=ctx.out)
    print(result.repository_yaml.rstrip(), file=ctx.out)
    print("---\n# The Secret (values are never shown)", file=ctx.out)
    print(result.secret_yaml.rstrip(), file=ctx.out)
    print("\n# The GitLab project webhook", file=ctx.out)
    for key, value in result.hook.items():
        shown = str(value).lower() if isinstance(value, bool) else value
        print(f"#   {key}: {shown}", file=ctx.out)


def cmd_check(ctx: Context, args: argparse.Namespace) -> int:
    from pac_tui.onboard.check import all_ok, run_checks

    repo = ctx.config.repository(args.repo)
    checks = asyncio.run(
        run_checks(
            repo,
            ctx.store,
            ctx.clock,
            ctx.clusters,
            controller_url=args.controller_url,
            relay_url=ctx.config.webhook.relay,
        )
    )
    if args.json:
        print_json(ctx.out, [check.to_json() for check in checks])
    else:
        print_checks(ctx, checks)
    return 0 if all_ok(checks) else 1


def print_checks(ctx: Context, checks: list[Check]) -> None:
    width = max(len(check.name) for check in checks)
    for check in checks:
        mark = "✔" if check.ok else "✖"
        print(f"{mark} {check.name.ljust(width)}  {check.detail}", file=ctx.out)
        if not check.ok and check.fix:
            print(f"  {' ' * width}  fix: {check.fix}", file=ctx.out)
