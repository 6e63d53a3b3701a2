"""Run the gateway as its own process, exactly as ``pac-tui gateway`` would:
``python -m tests.gateway.launcher --upstream URL --host 127.0.0.1 --port 0 [...]``.

`pac_tui.gateway.command.main` parses argv into `GatewaySettings`, configures logging to stderr
and calls `pac_tui.gateway.run`; its return value is the exit status.
"""

import sys

from pac_tui.gateway.command import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
