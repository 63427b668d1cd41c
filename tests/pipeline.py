"""The path from a recorded poll to a channel, wired as the daemon wires it (store, router,
outbox, AppriseSender) but driven by a test clock instead of the scheduler."""

from __future__ import annotations

import asyncio

from conftest import Clock, lines

from ticker.config import Config
from ticker.notify import AppriseSender
from ticker.outbox import Outbox, Shaping
from ticker.poll import judge_for
from ticker.route import Router, router
from ticker.store import Store

URL = "https://example.org/"


class Pipeline:
    """One source, "src", whose ticker the test writes; every channel of `config`."""

    def __init__(self, config: Config, clock: Clock) -> None:
        self.config, self.clock = config, clock
        self.store = Store.open(config.settings.database)
        sender = AppriseSender(config.channels)
        shaping = {c.name: Shaping.of(c, sender.limits(c.name)) for c in config.channels}
        self.outbox = Outbox(self.store, sender, shaping, clock)
        self.page: list[str] = ["baseline line"]
        self.store.record_poll("src", URL, lines(*self.page), clock(), self.route())

    def route(self) -> Router:
        return router(self.config.channels_for("src"), self.clock)

    def show(self, *texts: str) -> None:
        """The site puts `texts` (newest first) on top of its ticker; ticker polls it."""
        self.page = [*texts, *self.page][:500]
        self.store.record_poll(
            "src", URL, lines(*self.page), self.clock(), self.route(), judge=judge_for(self.config)
        )

    def drain(self) -> None:
        asyncio.run(self.outbox.drain())

    def close(self) -> None:
        self.store.close()
