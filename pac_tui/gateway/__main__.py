"""``python -m pac_tui.gateway --upstream https://gitlab.com``."""

import sys

from .command import main

sys.exit(main())
