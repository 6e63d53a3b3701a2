"""SVG snapshot of the dashboard beside a cluster (tests/ui/states.py): bound repositories in
both modes (one in sync, one whose cluster is unreachable), an unbound PAC Repository, last
PipelineRuns, and the token panel's Cluster part.

Update only in a commit of its own, after looking at the report:
    .venv/bin/python -m pytest tests/ui/test_cluster_snapshot.py --snapshot-update
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.ui import states


def test_dashboard_with_cluster(snap_compare: Any, tmp_path: Path) -> None:
    state = states.dashboard_with_cluster(tmp_path)
    assert snap_compare(state.app, terminal_size=states.SIZE, run_before=state.before)
