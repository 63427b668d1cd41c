"""What running the whole suite on PostgreSQL (`--engine postgres`) found: SQL that SQLite
accepts and PostgreSQL reads differently. Each test runs on both engines (the `store`
fixture)."""

from __future__ import annotations

from conftest import Clock
from test_channels import add_alerts, statuses

from ticker.store import Store


def test_a_config_without_channels_cancels_every_pending_delivery(store: Store) -> None:
    """`ticker run`/`poll` with no [[channel]] left cancels what was pending for the
    channels that were: `channel NOT IN ()` is an error on PostgreSQL."""
    clock = Clock()
    add_alerts(store, clock, ["one"], ["mail", "pager"])
    assert store.cancel_deliveries([], clock()) == {"mail": 1, "pager": 1}
    assert statuses(store, "mail") == [("one", "cancelled", "channel removed")]
    assert statuses(store, "pager") == [("one", "cancelled", "channel removed")]
