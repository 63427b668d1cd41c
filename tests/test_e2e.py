"""End to end: `ticker run` as a subprocess against a loopback page server whose page changes
between requests and a real SMTP server (aiosmtpd). Everything stops by itself."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import database_dump, database_for, database_rows
from servers import PageServer, SmtpSink, free_port, ticker_page

pytestmark = pytest.mark.e2e

SOURCE = "almayadeen-en"
DEADLINE = 40.0  # seconds; every wait below is bounded by it


def write_config(tmp_path: Path, page_url: str, mail_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[ticker]
database = "{database_for(tmp_path, "ticker.db")}"
interval = 1

[[source]]
name = "{SOURCE}"
url = "{page_url}"
selector = ".breaking-news li"

[[channel]]
name = "mail"
urls = ["{mail_url}"]
""",
        encoding="utf-8",
    )
    return path


def ticker(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ticker", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
    )


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("STATE_DIRECTORY", None)
    return env


def start_daemon(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ticker", "--config", str(config), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
    )


def stop_daemon(daemon: subprocess.Popen[str]) -> str:
    daemon.send_signal(signal.SIGTERM)
    try:
        output, _ = daemon.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        daemon.kill()
        output, _ = daemon.communicate()
        pytest.fail(f"ticker run did not stop on SIGTERM:\n{output}")
    assert daemon.returncode == 0, output
    return output


def wait_until(condition: Callable[[], bool], daemon: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if daemon.poll() is not None:
            pytest.fail(f"ticker run exited early:\n{daemon.communicate()[0]}")
        if time.monotonic() > deadline:
            daemon.kill()
            pytest.fail(f"timed out; ticker said:\n{daemon.communicate()[0]}")
        time.sleep(0.1)


def tail_json(config: Path) -> list[dict[str, object]]:
    result = ticker(config, "tail", "--json", "-n", "50")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_exactly_the_new_lines_arrive_by_email_once_each(tmp_path: Path, seed_lines) -> None:
    old = seed_lines[:4]
    new1 = "Gaza Civil Defense spokesman: Crews recovered 3 bodies from under the rubble"
    new2 = "Hamas: The delegation arrived in Cairo for talks"
    new3 = "Al Mayadeen's correspondent: Israeli drone strikes a car near Tyre"
    script = [
        old,  # baseline: no alert
        old,  # nothing new
        [new1, *old],  # new1
        [new2, new1, *old[:3]],  # new2; old[3] scrolls off
        [old[3], new2, new1, *old[:2]],  # old[3] comes back: not new
        [new3, old[3], new2, new1, old[0]],  # new3
    ]
    with PageServer([ticker_page(p) for p in script]) as site, SmtpSink() as smtp:
        config = write_config(tmp_path, site.url, smtp.url)
        daemon = start_daemon(config)
        wait_until(lambda: site.requests >= len(script) + 2 and len(smtp.messages) >= 3, daemon)
        output = stop_daemon(daemon)

    bodies = smtp.bodies()
    assert len(bodies) == 3, (bodies, output)
    for text, body in zip([new1, new2, new3], bodies, strict=True):
        assert text.split(": ", 1)[1] in body
    subjects = [str(m["Subject"]) for m in smtp.messages]
    assert subjects == [f"{SOURCE}: {text}" for text in (new1, new2, new3)]  # they fit whole
    alerts = tail_json(config)
    assert [a["text"] for a in alerts] == [new1, new2, new3]
    assert all(a["deliveries"] == {"mail": "sent"} for a in alerts)
    assert all(str(a["first_seen"]).endswith("Z") for a in alerts)
    assert "stopped" in output


def test_alerts_wait_out_an_smtp_outage_and_a_restart(tmp_path: Path, seed_lines) -> None:
    old = seed_lines[:3]
    new = "Hamas: A ceasefire proposal was received"
    with PageServer([ticker_page(old), ticker_page([new, *old])]) as site, SmtpSink() as smtp:
        smtp.refusing = True
        config = write_config(tmp_path, site.url, smtp.url)
        daemon = start_daemon(config)
        wait_until(lambda: smtp.refused >= 1, daemon)
        stop_daemon(daemon)
        alerts = tail_json(config)
        assert [(a["text"], a["deliveries"]) for a in alerts] == [(new, {"mail": "pending"})]

        smtp.refusing = False  # the server is back; a new process delivers what is pending
        daemon = start_daemon(config)
        wait_until(lambda: len(smtp.messages) >= 1, daemon)
        stop_daemon(daemon)

    assert len(smtp.messages) == 1
    assert "A ceasefire proposal was received" in smtp.bodies()[0]
    assert tail_json(config)[0]["deliveries"] == {"mail": "sent"}


def test_poll_prints_new_lines_and_exits(tmp_path: Path, seed_lines) -> None:
    new = "Israeli media: Sirens sounded in the north"
    script = [seed_lines[:3], [new, *seed_lines[:3]]]
    with PageServer([ticker_page(p) for p in script]) as site, SmtpSink() as smtp:
        config = write_config(tmp_path, site.url, smtp.url)
        first = ticker(config, "poll")
        assert first.returncode == 0, first.stderr
        assert first.stdout == ""
        assert "baseline" in first.stderr
        second = ticker(config, "poll")
        assert second.returncode == 0, second.stderr
        assert second.stdout.splitlines()[0] == f"[{SOURCE}] {new}"
        assert len(smtp.messages) == 1
        dry = ticker(config, "poll", "--dry-run", "--source", SOURCE)
        assert dry.returncode == 0, dry.stderr
        assert "[Israeli media] Sirens sounded in the north" in dry.stdout
    # The dry run wrote nothing: still exactly one alert.
    assert len(tail_json(config)) == 1


def test_a_channel_password_never_reaches_logs_output_or_the_database(
    tmp_path: Path, seed_lines
) -> None:
    password = "S3cretPassw0rd"
    closed = free_port()  # nothing listens: every delivery fails with a connection error
    mail_url = (
        f"mailto://user:{password}@127.0.0.1:{closed}?from=ticker@example.com&to=reader@example.com"
    )
    script = [seed_lines[:2], ["Hamas: A new statement", *seed_lines[:2]]]
    with PageServer([ticker_page(p) for p in script]) as site:
        config = write_config(tmp_path, site.url, mail_url)
        results = [
            ticker(config, "poll"),
            ticker(config, "poll"),
            ticker(config, "config", "check"),
        ]
    results.append(ticker(config, "tail", "--json"))
    for result in results:
        assert password not in result.stdout + result.stderr
    assert "***" in results[2].stdout
    assert "retrying" in results[1].stderr  # the failure was logged, without the secret
    database = database_for(tmp_path, "ticker.db")
    assert database_rows(database, "SELECT last_error FROM deliveries") == [("connection refused",)]
    assert password not in database_dump(database)


def test_one_message_per_story_through_a_scripted_ticker(tmp_path: Path, seed_lines) -> None:
    correspondent, defense, hamas = seed_lines[:4], seed_lines[4:8], seed_lines[8:]
    typo = defense[2]  # "...providing cover undeer fire up to Salah al-Din Street"
    fixed = typo.replace("undeer", "under")
    ambush5 = "Israeli media: Major ambush in Gaza kills 5 Israeli troops, injures 14"
    ambush6 = "Israeli media: Major ambush in Gaza kills 6 Israeli troops, injures dozens"
    repost = correspondent[3].replace("Al Mayadeen's correspondent", "Our correspondent")
    b1, b2, b3 = hamas[1], hamas[0], defense[0]
    script = [
        [b3, b2, b1],  # baseline
        [typo, b3, b2, b1],  # a new line
        [ambush5, typo, b3, b2],  # a new line; b1 scrolls off
        [b1, ambush5, typo, b3],  # b1 comes back: not new
        [fixed, ambush5, b1, b3],  # the typo is fixed: an update
        [ambush6, fixed, b1, b3],  # the numbers change: an update
        [*correspondent, ambush6, fixed],  # a burst of four lines from one correspondent
        [repost, *correspondent[:3], ambush6, fixed],  # a cosmetic re-post: a duplicate
    ]
    with PageServer([ticker_page(p) for p in script]) as site, SmtpSink() as smtp:
        config = write_config(tmp_path, site.url, smtp.url)
        daemon = start_daemon(config)
        wait_until(lambda: site.requests >= len(script) + 2 and len(smtp.messages) >= 5, daemon)
        output = stop_daemon(daemon)

    subjects = [str(m["Subject"]) for m in smtp.messages]
    assert subjects == [
        f"{SOURCE}: Reality is that there is a very limited retreat of the vehicles, with the "
        "occupation\u2026",
        f"{SOURCE}: {ambush5}",
        "Update: Reality is that there is a very limited retreat of the vehicles, with the "
        "occupation forces\u2026",
        f"Update: {ambush6}",
        "Al Mayadeen's correspondent: The Lebanese Army is continuing its investigations and "
        "will\u2026 (+3 more)",
    ], output
    bodies = smtp.bodies()
    assert "Changed: undeer \u2192 under" in bodies[2]
    assert "Changed: 5 \u2192 6; 14 \u2192 dozens" in bodies[3]
    # The plain-text part is derived from ticker's HTML list: items are "- text".
    listed = [line for line in bodies[4].splitlines() if line.startswith("- ")]
    assert listed == ["- " + line.split(": ", 1)[1] for line in correspondent]
    alerts = tail_json(config)
    assert [a["kind"] for a in alerts] == ["new", "new", "update", "update", *["new"] * 4]
    assert alerts[2]["updates_id"] == alerts[0]["id"]
    assert alerts[3]["updates_id"] == alerts[1]["id"]
    assert len({a["group"] for a in alerts[4:]}) == 1
    assert "duplicate" in output  # the re-post was logged, never sent
