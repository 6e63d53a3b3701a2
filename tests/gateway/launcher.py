"""Run the gateway as its own process, exactly as a user does:
``python -m tests.gateway.launcher --upstream URL --host 127.0.0.1 --port 0 [...]`` runs
``pac-tui gateway --upstream URL ...`` (the real CLI entry point), with an empty config file so
that no config on the machine running the tests is read.
"""

import os
import sys

from pac_tui.cli import main

if __name__ == "__main__":
    os.environ["PAC_TUI_CONFIG"] = os.devnull
    sys.exit(main(["gateway", *sys.argv[1:]]))
