"""pac_tui.gateway stands alone: it imports nothing else from pac_tui (and no textual or
kubernetes), so it can be deployed and moved without the rest of the package."""

import subprocess
import sys


def test_the_gateway_imports_nothing_else_from_pac_tui() -> None:
    code = (
        "import sys, pac_tui.gateway.server, pac_tui.gateway.options\n"
        "mods = sorted(m for m in sys.modules if m.startswith('pac_tui'))\n"
        "other = [m for m in mods if m != 'pac_tui' and not m.startswith('pac_tui.gateway')]\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('textual', 'kubernetes')]\n"
        "print(other, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] []"
    assert out.stderr == ""
