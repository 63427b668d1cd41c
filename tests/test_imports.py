"""What a one-shot `ticker poll` (the README's cron mode) loads: only what its run needs. No
Apprise without a channel, no APScheduler, no sqlite-utils unless migrating, no parser library
of another kind, and no CA store unless an https request is made (issue 15, item 6 and "cron
mode costs too much"). Each command runs in its own process, which reports at its exit the
modules it imported and the CA certificate loads it made; nothing is timed."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from servers import PageServer, free_port, ticker_page

LINES = ["Hamas: a statement on the talks in Cairo", "Israeli media: sirens in the north"]
# Never needed by a poll of an html source with no channel, whatever it finds.
UNNEEDED = {"apprise", "apscheduler", "feedparser", "jmespath", "psycopg"}  # psycopg: SQLite
# Runs the `ticker` command given as arguments, then prints one PROBE line: its exit status,
# the top-level packages it imported, and each call that loaded CA certificates into a TLS
# context (ssl.create_default_context makes one of them; so does httpx's own default).
PROBE = """
import json, runpy, ssl, sys
loads = []
def counting(name):
    original = getattr(ssl.SSLContext, name)
    def counted(self, *args, **kwargs):
        loads.append(name)
        return original(self, *args, **kwargs)
    return counted
for name in ("load_verify_locations", "load_default_certs", "set_default_verify_paths"):
    setattr(ssl.SSLContext, name, counting(name))
sys.argv = ["ticker", *sys.argv[1:]]
try:
    runpy.run_module("ticker", run_name="__main__")
    code = 0
except SystemExit as exc:
    code = exc.code
tops = sorted({m.split(".")[0] for m in sys.modules})
print("PROBE " + json.dumps({"code": code, "modules": tops, "loads": loads}))
"""


@dataclass(frozen=True)
class Run:
    code: int
    modules: set[str]
    loads: list[str]
    stdout: str
    stderr: str


def ticker(*args: str, env: dict[str, str]) -> Run:
    """`ticker ARGS` in a new process, with what it loaded."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=60
    )
    out, _, probe = result.stdout.rpartition("PROBE ")
    assert probe, result.stderr
    report = json.loads(probe)
    return Run(report["code"], set(report["modules"]), report["loads"], out, result.stderr)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA(organization_name="ticker import tests")


@pytest.fixture
def env(tmp_path: Path, ca: trustme.CA) -> dict[str, str]:
    """This environment, with a CA file someone configured (SSL_CERT_FILE): the case in
    which ticker says which store it trusts, at INFO, when it uses it."""
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    unset = {"SSL_CERT_DIR", "TICKER_CONFIG", "STATE_DIRECTORY", "JOURNAL_STREAM"}
    return {
        **{k: v for k, v in os.environ.items() if k not in unset},
        "SSL_CERT_FILE": str(pem),
    }


@pytest.fixture
def http_site() -> Iterator[PageServer]:
    with PageServer([ticker_page(LINES)]) as site:
        yield site


def config_for(tmp_path: Path, url: str, channel: str = "") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[ticker]\ndatabase = "{tmp_path / "ticker.db"}"\n\n'
        f'[[source]]\nname = "site"\nurl = "{url}"\nselector = ".breaking-news li"\n'
        + (f'\n[[channel]]\nname = "mail"\nurls = ["{channel}"]\n' if channel else ""),
        encoding="utf-8",
    )
    config.chmod(0o600)
    return config


def test_a_cron_poll_of_an_http_site_imports_and_loads_only_what_it_needs(
    tmp_path: Path, http_site: PageServer, env: dict[str, str]
) -> None:
    config = str(config_for(tmp_path, http_site.url))
    first = ticker("--config", config, "poll", env=env)  # the baseline: the database is made
    again = ticker("--config", config, "poll", env=env)  # nothing new: a usual cron run

    assert first.code == 0 and again.code == 0, first.stderr + again.stderr
    assert http_site.requests == 2
    for run in (first, again):
        assert run.modules & UNNEEDED == set()
        assert run.loads == []  # no CA store for plain http
        assert "trusting" not in run.stderr
    assert "sqlite_utils" in first.modules  # it made the schema
    assert "sqlite_utils" not in again.modules
    assert "rapidfuzz" not in again.modules  # nothing new: no line compared


def test_a_dry_run_of_an_http_url_says_nothing_of_https(
    tmp_path: Path, http_site: PageServer, env: dict[str, str]
) -> None:
    run = ticker("poll", "--dry-run", http_site.url, "-o", "selector=.breaking-news li", env=env)

    assert run.code == 0, run.stderr
    assert "2 line(s)" in run.stdout
    assert run.loads == []
    assert run.modules & (UNNEEDED | {"sqlite_utils"}) == set()
    assert "https" not in run.stderr


def test_an_https_poll_loads_the_ca_store_once_and_says_which(
    tmp_path: Path, ca: trustme.CA, env: dict[str, str]
) -> None:
    # The probe's counter at work: a poll of an https site loads the configured CA file,
    # once, and logs it once (at INFO: someone chose that file).
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(tls)
    with PageServer([ticker_page(LINES)], tls=tls) as site:
        run = ticker("--config", str(config_for(tmp_path, site.url)), "poll", env=env)

    assert run.code == 0, run.stderr
    assert run.loads == ["load_verify_locations"]
    assert run.stderr.count("https: trusting the CA certificates in") == 1
    assert f"in {env['SSL_CERT_FILE']} (environment)" in run.stderr
    assert run.modules & UNNEEDED == set()


def test_a_channel_imports_apprise_only_when_a_message_is_due(
    tmp_path: Path, env: dict[str, str]
) -> None:
    # The third poll finds a new line: only then is there a message to send (to an SMTP
    # port where nothing listens: it stays pending), and only then is Apprise imported.
    pages = [ticker_page(LINES), ticker_page(LINES), ticker_page(["Hamas: a new line", *LINES])]
    mail = f"mailto://127.0.0.1:{free_port()}?from=a@example.com&to=b@example.com"
    with PageServer(pages) as site:
        config = str(config_for(tmp_path, site.url, channel=mail))
        runs = [ticker("--config", config, "poll", env=env) for _ in pages]

    assert [run.code for run in runs] == [0, 0, 0], [run.stderr for run in runs]
    assert ["apprise" in run.modules for run in runs] == [False, False, True]
    assert "[site] Hamas: a new line" in runs[2].stdout
