"""Forward accepted deliveries to the PAC controller, without ever delaying the answer to GitLab.

`Relay.submit` only queues; a few worker tasks POST each body with the original headers PAC reads
(`forward_headers`: GitLab's own, the `X-Gitlab-Token` included since PAC checks it) and retry
with a backoff. Every status change goes to `on_status(delivery_id, text)`, which the journal
records. Status texts are built from status codes and exception names only, and are scrubbed of
every credential header's value anyway.

`replay` is the one-shot form used by `pac-tui events replay ID [--to URL]`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import httpx

from pac_tui.core.errors import ProviderUnavailable, UsageError
from pac_tui.webhooks.callbacks import MaybeAwaitable, run_callback
from pac_tui.webhooks.models import REDACTED, is_credential

log = logging.getLogger(__name__)

StatusCallback = Callable[[int | None, str], MaybeAwaitable]

# Headers that describe one hop, not the delivery: httpx sets its own. Content-Encoding goes too,
# because the receiver hands over the decoded body.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "content-encoding",
        "content-length",
        "host",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

DEFAULT_TIMEOUT = 10.0  # seconds for one POST; PAC answers quickly, it only queues work
CLOSE_GRACE = 2.0  # seconds close() waits for sends already on the wire


# What PAC reads of a delivery, and all the relay sends on: GitLab's own headers (X-Gitlab-Token
# among them: PAC checks it), the body's type, the sender, the retry key and the signature
# headers of signed webhooks. Anything else a sender adds (Authorization, Cookie...) stays here.
FORWARDED = frozenset(
    {
        "content-type",
        "idempotency-key",
        "user-agent",
        "webhook-id",
        "webhook-signature",
        "webhook-timestamp",
    }
)
FORWARDED_PREFIX = "x-gitlab-"


def forward_headers(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    """The headers to send on (`FORWARDED` and GitLab's own), names kept as given."""
    return [
        (name, value)
        for name, value in headers.items()
        if (lowered := name.lower()) in FORWARDED or lowered.startswith(FORWARDED_PREFIX)
    ]


def check_url(url: str) -> str:
    """Return `url` if it is an absolute http(s) URL, else raise a UsageError naming it."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UsageError(f"relay target {url!r} is not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(f"relay target {url!r} must be an http:// or https:// URL")
    return url


def shown_url(url: str) -> str:
    """The URL without any user:password part, for messages."""
    try:
        return str(httpx.URL(url).copy_with(userinfo=b""))
    except (httpx.InvalidURL, TypeError, ValueError):
        return url


def _secrets(headers: Mapping[str, str]) -> list[str]:
    return [
        value
        for name, value in headers.items()
        if is_credential(name) and value and value != REDACTED
    ]


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def _error_reason(exc: BaseException) -> str:
    detail = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {detail}" if detail else name


def _http_reason(response: httpx.Response) -> str:
    phrase = response.reason_phrase
    return f"HTTP {response.status_code} {phrase}" if phrase else f"HTTP {response.status_code}"


@dataclass
class _Job:
    delivery_id: int | None
    headers: dict[str, str]
    body: bytes
    attempts: int = 0
    last_reason: str = ""
    finished: bool = False  # a final status ("relayed", "failed") has been reported


def response_is_final(response: httpx.Response) -> bool:
    """A 4xx other than 408/429 will not change on retry (PAC refused the token or the URL)."""
    return 400 <= response.status_code < 500 and response.status_code not in (408, 429)


class Relay:
    """Queue deliveries and POST them to the PAC controller from a few worker tasks.

    Statuses reported through `on_status`: "relayed <code>", "retrying (attempt N): <reason>"
    (N is the attempt about to be made), "failed: <reason>", "dropped: relay queue full", and at
    close "dropped: relay stopped" / "failed: relay stopped; last error: <reason>".
    """

    def __init__(
        self,
        url: str,
        *,
        on_status: StatusCallback | None = None,
        backoff: Sequence[float] = (1, 2, 5, 15, 60),
        max_attempts: int = 6,
        client: httpx.AsyncClient | None = None,
        workers: int = 4,
        queue_size: int = 10_000,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.url = check_url(url)
        self._on_status = on_status
        self._backoff = tuple(float(d) for d in backoff) or (0.0,)
        self._max_attempts = max_attempts
        self._client = client
        self._own_client = client is None
        self._worker_count = workers
        self._timeout = timeout
        self._queue: asyncio.Queue[_Job] = asyncio.Queue(maxsize=queue_size)
        self._workers: list[asyncio.Task[None]] = []
        self._jobs: dict[asyncio.Task[None], _Job] = {}
        self._sending: set[asyncio.Task[None]] = set()
        self._callbacks: set[asyncio.Future[None]] = set()
        self._closed = False

    @property
    def pending(self) -> int:
        """Deliveries queued and not yet picked up by a worker."""
        return self._queue.qsize()

    async def start(self) -> None:
        if self._workers or self._closed:
            return
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        self._workers = [
            asyncio.create_task(self._work(), name=f"pac-tui relay worker {n}")
            for n in range(self._worker_count)
        ]

    def submit(self, delivery_id: int | None, headers: dict[str, str], body: bytes) -> None:
        """Queue one delivery; never waits. A full queue or a closed relay drops it (reported)."""
        if self._closed:
            self._report_soon(delivery_id, "dropped: relay stopped")
            return
        try:
            self._queue.put_nowait(_Job(delivery_id, dict(headers), bytes(body)))
        except asyncio.QueueFull:
            self._report_soon(delivery_id, "dropped: relay queue full")

    async def close(self) -> None:
        """Stop retrying, give sends already on the wire a moment, report what was left undone."""
        if self._closed:
            return
        self._closed = True
        idle = [task for task in self._workers if task not in self._sending]
        for task in idle:
            task.cancel()
        busy = [task for task in self._workers if task in self._sending]
        if busy:
            _, late = await asyncio.wait(busy, timeout=CLOSE_GRACE)
            for task in late:
                task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        for job in self._jobs.values():
            if not job.finished:
                job.finished = True
                text = "failed: relay stopped"
                if job.last_reason:
                    text += f"; last error: {job.last_reason}"
                await self._report(job, text)
        self._jobs.clear()
        while not self._queue.empty():
            job = self._queue.get_nowait()
            await self._report(job, "dropped: relay stopped")
        if self._callbacks:
            await asyncio.gather(*self._callbacks, return_exceptions=True)
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> Relay:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- workers -------------------------------------------------------------------------------

    async def _work(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        while not self._closed:
            job = await self._queue.get()
            self._jobs[task] = job
            try:
                await self._deliver(task, job)
            finally:
                if job.finished:
                    self._jobs.pop(task, None)
                self._queue.task_done()

    async def _deliver(self, task: asyncio.Task[None], job: _Job) -> None:
        assert self._client is not None
        secrets = _secrets(job.headers)
        outgoing = forward_headers(job.headers)
        while True:
            job.attempts += 1
            self._sending.add(task)
            final = False
            try:
                response = await self._client.post(self.url, content=job.body, headers=outgoing)
            except httpx.HTTPError as exc:
                reason = _error_reason(exc)
            else:
                if response.is_success:
                    job.finished = True
                    await self._report(job, f"relayed {response.status_code}")
                    return
                reason = _http_reason(response)
                final = response_is_final(response)
            finally:
                self._sending.discard(task)
            job.last_reason = _scrub(reason, secrets)
            if final or job.attempts >= self._max_attempts:
                job.finished = True
                await self._report(job, f"failed: {job.last_reason}")
                return
            if self._closed:
                return  # close() reports it as stopped
            await self._report(job, f"retrying (attempt {job.attempts + 1}): {job.last_reason}")
            await asyncio.sleep(self._delay(job.attempts))

    def _delay(self, failed_attempts: int) -> float:
        return self._backoff[min(failed_attempts, len(self._backoff)) - 1]

    # -- status reporting ----------------------------------------------------------------------

    async def _report(self, job: _Job, text: str) -> None:
        if self._on_status is None:
            return
        text = _scrub(text, _secrets(job.headers))
        try:
            await run_callback(self._on_status, job.delivery_id, text)
        except Exception:
            log.exception("relay status callback failed for delivery %s", job.delivery_id)

    def _report_soon(self, delivery_id: int | None, text: str) -> None:
        """Report from synchronous code: call now, and run an awaitable result in the background."""
        if self._on_status is None:
            return
        try:
            result = self._on_status(delivery_id, text)
        except Exception:
            log.exception("relay status callback failed for delivery %s", delivery_id)
            return
        if inspect.isawaitable(result):
            future = asyncio.ensure_future(result)
            self._callbacks.add(future)
            future.add_done_callback(self._callback_done)

    def _callback_done(self, future: asyncio.Future[None]) -> None:
        self._callbacks.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("relay status callback failed", exc_info=future.exception())


async def replay(
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    client: httpx.AsyncClient | None = None,
) -> int:
    """POST one delivery to `url` and return the HTTP status, whatever it is.

    Raises UsageError for a URL that is not http(s), ProviderUnavailable when nothing answers.
    Journaled headers hold "[redacted]" in place of the token: the caller puts the real
    webhook secret back before replaying to PAC.
    """
    check_url(url)
    outgoing = forward_headers(headers)
    owned = client is None
    http = client if client is not None else httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)
    try:
        response = await http.post(url, content=body, headers=outgoing)
    except httpx.HTTPError as exc:
        reason = _scrub(_error_reason(exc), _secrets(headers))
        raise ProviderUnavailable(
            f"could not deliver to {shown_url(url)}: {reason}. "
            "Check that the PAC controller is running and the URL is right."
        ) from None
    finally:
        if owned:
            with contextlib.suppress(Exception):
                await http.aclose()
    return response.status_code
