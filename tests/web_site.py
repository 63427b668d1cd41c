"""A database of alerts for the web tests (tests/test_web*.py): two sources recorded as
the daemon records them (router, judge, across), with a story, its update, a burst, an
Arabic line, a line carrying <script>, and a story a second source reported too."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from conftest import database_for, lines

from ticker.config import Config, parse_config
from ticker.poll import judge_for
from ticker.route import router
from ticker.store import Store

STRIP, CHANNEL = "strip", "telegram"
URL = {STRIP: "https://english.example/", CHANNEL: "https://t.me/s/Chan"}
START = (time.time() // 3600 - 6) * 3600  # six hours ago: the page's chart shows the day
STEP = 1200.0  # seconds between polls
OLD = "Local sources: Clashes near the border crossing overnight"
AMBUSH = "Israeli media: Major ambush in Gaza kills 5 Israeli troops, injures 14"
AMBUSH_UPDATED = "Israeli media: Major ambush in Gaza kills 6 Israeli troops, injures dozens"
BURST = (
    "Hamas: The delegation will arrive in Cairo tomorrow to continue the talks",
    "Hamas: We reject any proposal that does not end the war on our people",
)
ARABIC = "عاجل: غارة إسرائيلية على بلدة في جنوب لبنان"
SCRIPT = "Hacker: <script>document.title='owned'</script> and <img src=x onerror=alert(1)>"
ALSO = "Hamas: the delegation will arrive in Cairo tomorrow to continue the talks."
TOKEN = "s3cret-token-for-the-web-tests"


def web_config(tmp_path: Path, **web: Any) -> Config:
    """Two sources; channels "all" (everything) and "hamas" (Hamas's lines only)."""
    never = ["json://127.0.0.1:9/"]
    data: dict[str, Any] = {
        "ticker": {"database": str(database_for(tmp_path))},
        "source": [
            {"name": STRIP, "url": URL[STRIP], "selector": "li"},
            {"name": CHANNEL, "url": URL[CHANNEL], "kind": "telegram"},
        ],
        "channel": [
            {"name": "all", "urls": never},
            {"name": "hamas", "urls": never, "attributions": ["Hamas"]},
        ],
    }
    if web:
        data["web"] = web
    return parse_config(data, tmp_path / "config.toml")


class Site:
    """Both sources, recorded into the config's database at a test time."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.store = Store.open(config.settings.database)
        self.now = START
        self.pages: dict[str, list[str]] = {STRIP: [OLD], CHANNEL: [OLD]}
        for name in self.pages:  # the baselines: nothing alerts
            self.show(name)

    def show(self, name: str, *texts: str) -> None:
        """Source `name` puts `texts` (newest first) on top; ticker polls it."""
        self.now += STEP
        self.pages[name] = [*texts, *self.pages[name]]
        self.store.record_poll(
            name,
            URL[name],
            lines(*self.pages[name]),
            self.now,
            router(self.config.channels_for(name), lambda: self.now),
            judge=judge_for(self.config),
            across=self.config.dedupe.across_sources,
        )

    def fill(self) -> None:
        """The alerts every web test looks at, in this order: the ambush, its update, the
        burst (one poll, newest first on the page), the Arabic line, the <script> line,
        and the burst's first line again from the other source (also reported by)."""
        self.show(STRIP, AMBUSH)
        self.show(STRIP, AMBUSH_UPDATED)
        self.show(STRIP, *reversed(BURST))
        self.show(STRIP, ARABIC)
        self.show(STRIP, SCRIPT)
        self.show(CHANNEL, ALSO)

    def close(self) -> None:
        self.store.close()
