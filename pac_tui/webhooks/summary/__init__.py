"""One readable line per GitLab delivery, and what Pipelines-as-Code would make of it.

`summarize(event, payload)` takes the X-Gitlab-Event header ("" when absent) and any parsed JSON
value, and never raises. The line is built from the payload's own kind (`object_kind`, else
`event_name`), falling back to the header; a header that disagrees is shown as `[header: …]`.

The parts: describe.py (`summarize`, the payload's kind and project), lines.py (one describer per
payload kind), pac.py (what PAC would do: `Summary.pac_event`, PAC's ops-comment commands),
fields.py (reading untrusted payload fields as clean text).
"""

from pac_tui.webhooks.summary.describe import MAX_LINE, header_kind, project_of, summarize
from pac_tui.webhooks.summary.pac import note_command, pac_event_of

__all__ = ["MAX_LINE", "header_kind", "note_command", "pac_event_of", "project_of", "summarize"]
