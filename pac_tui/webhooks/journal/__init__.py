"""The durable journal of webhook deliveries (one SQLite file): its schema, reads and writers."""

from pac_tui.webhooks.journal.group_commit import (
    JOURNAL_NAME,
    MAX_BATCH,
    RELAY_STATUS_TIMEOUT_S,
    SCHEMA_VERSION,
    Appended,
    Journal,
)

__all__ = [
    "JOURNAL_NAME",
    "MAX_BATCH",
    "RELAY_STATUS_TIMEOUT_S",
    "SCHEMA_VERSION",
    "Appended",
    "Journal",
]
