"""Server-sent events: new alerts pushed to every open page.

One loop per process looks at the database every POLL_EVERY seconds for alerts after the
last one it saw, renders each once, and offers the batch to every client's bounded queue.
A client too slow to keep up (its queue full) is disconnected: its browser reconnects with
Last-Event-ID and catches up from the database, so one stalled reader costs no memory and
holds up no one. The number of clients is capped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from ticker.store import AlertView
from ticker.tail import burst_ids
from ticker.web.page import article
from ticker.web.reader import Reader, alert_record

log = logging.getLogger(__name__)
POLL_EVERY = 0.5  # seconds between looks at the database for new alerts
MAX_CLIENTS = 200  # open event streams per process; more are answered 503
QUEUE_BATCHES = 64  # batches a client may fall behind before it is disconnected
BATCH = 500  # alerts read per look (a larger backlog takes several looks)
CATCH_UP = 500  # alerts at most sent to a reconnecting client from before it connected
KEEP_ALIVE = 15.0  # seconds of silence before a comment line keeps proxies from closing


@dataclass(frozen=True)
class Event:
    """One alert as an SSE event: its id and its data line (record and rendered HTML)."""

    id: int
    data: str

    def encode(self) -> bytes:
        """The event in the text/event-stream format."""
        return f"id: {self.id}\nevent: alert\ndata: {self.data}\n\n".encode()


def events_of(alerts: Sequence[AlertView]) -> list[Event]:
    """`alerts` (oldest first) as events: each carries its `ticker tail --json` record and
    the page's <article> for it (bursts grouped within the batch)."""
    groups = burst_ids(list(alerts))
    return [
        Event(
            alert.id,
            json.dumps(
                {
                    "alert": alert_record(alert, groups[alert.id]),
                    "html": article(alert, groups[alert.id]),
                },
                ensure_ascii=False,
            ),
        )
        for alert in alerts
    ]


@dataclass(eq=False)
class Client:
    """One open event stream: the batches waiting for it, and whether it fell behind."""

    queue: asyncio.Queue[list[Event]] = field(default_factory=lambda: asyncio.Queue(QUEUE_BATCHES))
    behind: bool = False


class Hub:
    """The shared loop and the open streams it feeds."""

    def __init__(
        self, reader: Reader, *, every: float = POLL_EVERY, max_clients: int = MAX_CLIENTS
    ) -> None:
        self.reader = reader
        self.every = every
        self.max_clients = max_clients
        self.clients: set[Client] = set()
        self.last_id = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self, *, polling: bool = True) -> None:
        """Start after the newest alert there is now, and the loop unless not `polling`
        (tests then call `look` themselves)."""
        self.last_id = await self.reader.last_id()
        if polling:
            self._task = asyncio.create_task(self._loop(), name="ticker-web-live")

    async def stop(self) -> None:
        """Stop the loop and end every stream."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for client in self.clients:
            client.behind = True
            with contextlib.suppress(asyncio.QueueFull):
                client.queue.put_nowait([])  # wakes the stream, which then ends

    async def _loop(self) -> None:
        failing = False
        while True:
            try:
                await self.look()
            except Exception as exc:  # a locked or busy database: look again next time
                if not failing:  # once per outage, not twice a second
                    log.warning("live updates: cannot read new alerts: %s", exc)
                failing = True
            else:
                if failing:
                    log.info("live updates: reading new alerts again")
                failing = False
            await asyncio.sleep(self.every)

    async def look(self) -> int:
        """Read the alerts after the last one seen and offer them to every client;
        returns how many there were."""
        alerts = await self.reader.alerts(BATCH, after=self.last_id, oldest=True)
        if not alerts:
            return 0
        self.last_id = alerts[-1].id
        batch = events_of(alerts)
        for client in self.clients:
            try:
                client.queue.put_nowait(batch)
            except asyncio.QueueFull:
                client.behind = True
        return len(alerts)

    def subscribe(self) -> Client | None:
        """A new client, or None when MAX_CLIENTS streams are open."""
        if len(self.clients) >= self.max_clients:
            return None
        client = Client()
        self.clients.add(client)
        return client

    async def stream(self, client: Client, after: int | None) -> AsyncIterator[bytes]:
        """The event stream of `client`: the alerts after id `after` (the newest CATCH_UP
        of them, from the database; None: none), then the new ones as the loop finds them
        (the client is subscribed before the database is read, so none falls between)."""
        try:
            yield b"retry: 2000\n\n"
            backlog = [] if after is None else await self.reader.alerts(CATCH_UP, after=after)
            sent = max([after or 0, *(alert.id for alert in backlog)])
            for event in events_of(backlog):
                yield event.encode()
            while not (client.behind and client.queue.empty()):
                try:
                    batch = await asyncio.wait_for(client.queue.get(), KEEP_ALIVE)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                fresh = [event for event in batch if event.id > sent]
                if fresh:
                    sent = fresh[-1].id
                    yield b"".join(event.encode() for event in fresh)
        finally:
            self.clients.discard(client)
