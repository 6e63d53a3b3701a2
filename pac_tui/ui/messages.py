"""The messages the feeds post to the dashboard, and what a feed is given to reach it.

A feed (`ui/feeds/`) does the work (in workers; blocking calls in threads) and posts one of these
when something happened; the screen handles them and is the only one that touches widgets. As
posting's `HttpResponseReceived` or harlequin's `QueriesExecuted`: data in, no widget references
out. `post_message` is thread-safe, but the feeds post from the app's loop anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message
from textual.notifications import SeverityLevel
from textual.worker import Worker

if TYPE_CHECKING:
    from pac_tui.actions.deliveries import DeliveriesReport
    from pac_tui.ui.feeds.cluster import ClusterView
    from pac_tui.webhooks.models import Delivery

Post = Callable[[Message], object]
"""How a feed reaches the screen: its `post_message`."""

RunWorker = Callable[..., Worker[Any]]
"""How a feed starts its work: the screen's `run_worker` (so leaving the screen cancels it)."""


@dataclass(frozen=True)
class Notice:
    """What `notify` shows: a feed decides the words, the screen shows them."""

    message: str
    title: str = ""
    severity: SeverityLevel = "information"
    timeout: float | None = None


class Notified(Message):
    """A feed has something to tell the user."""

    def __init__(self, notice: Notice) -> None:
        super().__init__()
        self.notice = notice


def tell(
    post: Post,
    message: str,
    *,
    title: str = "",
    severity: SeverityLevel = "information",
    timeout: float | None = None,
) -> None:
    """How a feed tells the user something: `notify`'s arguments, posted as `Notified`."""
    post(Notified(Notice(message, title, severity, timeout)))


class DeliveriesArrived(Message):
    """Webhook deliveries since the last flush, oldest first; `repos`: the rows whose Webhook
    cell they change (None: any row may have changed, as when the history is loaded)."""

    def __init__(self, deliveries: list[Delivery], repos: list[str] | None) -> None:
        super().__init__()
        self.deliveries = deliveries
        self.repos = repos


class HistoryLoaded(DeliveriesArrived):
    """The journal's recent deliveries, read at start."""


class WebhookStatus(Message):
    """The receiver's state changed (receiving, following the journal, smee …)."""

    def __init__(self, status: str) -> None:
        super().__init__()
        self.status = status


class DeliveryRead(Message):
    """A delivery the user opened, read back from the journal."""

    def __init__(self, delivery: Delivery) -> None:
        super().__init__()
        self.delivery = delivery


class ClusterDiscovered(Message):
    """A discovery round ended: the PAC Repository resources and the errors per context."""

    def __init__(self, view: ClusterView) -> None:
        super().__init__()
        self.view = view


class StoreWritten(Message):
    """A worker may have written the token store (its notices were posted before): re-read it."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name  # the repository


class SyncFinished(StoreWritten):
    """A Secret sync ended, well or not."""


class RevokeFinished(StoreWritten):
    """A revoke ended, well or not."""


class TimelineLoaded(Message):
    """A repository's deliveries timeline (`actions.deliveries`), or why it could not be read."""

    def __init__(self, report: DeliveriesReport | None, error: str | None = None) -> None:
        super().__init__()
        self.report = report
        self.error = error


class HookHealthArrived(Message):
    """GitLab said something new about the PAC hook of these repositories (`feeds.hooks`)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = names


class OffboardFinished(StoreWritten):
    """An offboarding ended, well or not (its notice was posted before)."""
