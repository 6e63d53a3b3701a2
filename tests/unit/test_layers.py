"""The core never imports Textual (docs/ARCHITECTURE.md); headless commands start without it."""

import subprocess
import sys

CORE = [
    "pac_tui.cli",
    "pac_tui.core.config",
    "pac_tui.actions.status",
    "pac_tui.oauth.login",
    "pac_tui.oauth.refresh",
    "pac_tui.oauth.revoke",
    "pac_tui.stores.file_store",
    "pac_tui.cli.webhook",
    "pac_tui.webhooks.service",
]


def test_core_and_cli_do_not_import_textual_or_kubernetes() -> None:
    code = (
        "import sys, importlib\n"
        f"for m in {CORE!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'kubernetes'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    assert out.stderr == "", "importing the core must not print warnings"
