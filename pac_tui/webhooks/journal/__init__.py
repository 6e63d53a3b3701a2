"""The durable journal of webhook deliveries (one SQLite file): its schema, reads and writers.

- schema.py: the SQL and the row format; file.py: the file, its connections, version, migration;
- reader.py: `JournalReader`, queries from any thread, opened without any writer;
- batch.py: `BatchWriter`, the write connection and one batch's transaction;
- writer.py: `JournalWriter`, what the receiver, relay and service need of a journal;
- group_commit.py: `GroupCommitWriter`, the writer of one process (a thread and a queue);
- process_writer.py: `ProcessWriter`, a receiver process's writer under `--workers N`;
- local.py: `Journal`, a reader and a group-commit writer over one batch writer.
"""

from pac_tui.webhooks.journal.batch import MAX_BATCH, Appended, BatchWriter
from pac_tui.webhooks.journal.file import SCHEMA_VERSION
from pac_tui.webhooks.journal.local import JOURNAL_NAME, Journal
from pac_tui.webhooks.journal.reader import JournalReader
from pac_tui.webhooks.journal.writer import RELAY_STATUS_TIMEOUT_S, JournalWriter

__all__ = [
    "JOURNAL_NAME",
    "MAX_BATCH",
    "RELAY_STATUS_TIMEOUT_S",
    "SCHEMA_VERSION",
    "Appended",
    "BatchWriter",
    "Journal",
    "JournalReader",
    "JournalWriter",
]
