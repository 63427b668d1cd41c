"""Which CAs https sources are verified against (ticker.trust): the choice between the
environment, the system's hashed CA directory and certifi; the directory read lazily; and
verification left on. The https server runs on loopback with a CA made by the test
(trustme)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from click.testing import CliRunner
from conftest import database_for, untouched
from cryptography import x509
from servers import PageServer, ticker_page

import ticker.fetch
from ticker.cli import main
from ticker.config import Settings
from ticker.errors import FetchError, TickerError
from ticker.fetch import Page, fetch_page, make_client
from ticker.trust import TrustStore, choose_store, default_context, trust_context

SETTINGS = Settings(database=Path("unused.db"), user_agent="ticker-test/1.0", timeout=5)
LINE = "Gaza Civil Defense spokesman: crews are searching the rubble in Jabalia"


def make_ca(name: str) -> trustme.CA:
    # Lower-case, single-spaced UTF8String names are already in OpenSSL's canonical form,
    # so hashed_name() can hash the subject as it is encoded.
    return trustme.CA(organization_name=name, organization_unit_name="ticker tests")


def hashed_name(ca: trustme.CA) -> str:
    """The file name OpenSSL looks a CA up by in a capath directory (c_rehash's): the first
    4 bytes, little-endian, of the SHA-1 of the canonical subject without its SEQUENCE
    header, then ".0"."""
    subject = x509.load_pem_x509_certificate(ca.cert_pem.bytes()).subject.public_bytes()
    length = subject[1]
    body = subject[2 + (length & 0x7F) :] if length & 0x80 else subject[2:]
    return f"{int.from_bytes(hashlib.sha1(body).digest()[:4], 'little'):08x}.0"


def hashed_dir(directory: Path, *cas: trustme.CA) -> Path:
    directory.mkdir()
    for ca in cas:
        (directory / hashed_name(ca)).write_bytes(ca.cert_pem.bytes())
    return directory


@pytest.fixture(scope="module")
def site_ca() -> trustme.CA:
    return make_ca("ticker test ca")


@pytest.fixture
def https_site(site_ca: trustme.CA) -> Iterator[PageServer]:
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    site_ca.issue_cert("127.0.0.1").configure_cert(tls)
    with PageServer([ticker_page([LINE])], tls=tls) as site:
        yield site


def fetch_with(context: ssl.SSLContext, url: str, monkeypatch: pytest.MonkeyPatch) -> Page:
    """fetch_page over make_client's client, with `context` as the process's TLS context."""
    monkeypatch.setattr(ticker.fetch, "default_context", lambda: context)

    async def _fetch() -> Page:
        async with make_client(SETTINGS) as client:
            return await fetch_page(client, url, max_bytes=100_000)

    return asyncio.run(_fetch())


# --- choosing the store ---------------------------------------------------------------


def test_the_environment_comes_first(tmp_path: Path, site_ca: trustme.CA) -> None:
    system = hashed_dir(tmp_path / "system", site_ca)
    chosen = choose_store({"SSL_CERT_FILE": "/etc/my-ca.pem"}, str(system))
    assert chosen == TrustStore(cafile="/etc/my-ca.pem", origin="environment")
    chosen = choose_store({"SSL_CERT_DIR": "/etc/my-cas"}, str(system))
    assert chosen == TrustStore(capath="/etc/my-cas", origin="environment")


def test_a_system_directory_of_hashed_certificates_is_used(
    tmp_path: Path, site_ca: trustme.CA
) -> None:
    system = hashed_dir(tmp_path / "system", site_ca)
    assert choose_store({}, str(system)) == TrustStore(capath=str(system), origin="system")


@pytest.mark.parametrize("layout", ["missing", "empty", "unhashed"])
def test_without_a_usable_system_directory_certifi_is_used(tmp_path: Path, layout: str) -> None:
    import certifi

    system = tmp_path / "system"
    if layout != "missing":
        system.mkdir()
    if layout == "unhashed":  # certificates, but not under c_rehash names: OpenSSL can't find them
        (system / "some-ca.pem").write_text("...")
        (system / "README").write_text("...")
    assert choose_store({}, str(system)) == TrustStore(cafile=certifi.where())


@pytest.mark.parametrize(
    ("store", "message"),
    [
        (TrustStore(cafile="/nonexistent/ca.pem", origin="environment"), "SSL_CERT_FILE"),
        (TrustStore(capath="/nonexistent/cas", origin="environment"), "SSL_CERT_DIR"),
    ],
)
def test_a_store_that_is_not_there_is_a_clear_error(store: TrustStore, message: str) -> None:
    with pytest.raises(TickerError, match=f"{message} names /nonexistent/"):
        trust_context(store)


@pytest.mark.parametrize("command", ["run", "poll"])
def test_ticker_says_so_and_polls_nothing(tmp_path: Path, command: str) -> None:
    config = tmp_path / "config.toml"
    database = database_for(tmp_path, "ticker.db")
    config.write_text(
        f'[ticker]\ndatabase = "{database}"\n\n[[source]]\nname = "s"\n'
        'url = "https://127.0.0.1:9/"\nselector = "li"\n',
        encoding="utf-8",
    )
    default_context.cache_clear()
    try:
        result = CliRunner().invoke(
            main,
            ["--config", str(config), command],
            env={"SSL_CERT_FILE": str(tmp_path / "missing.pem")},
        )
    finally:
        default_context.cache_clear()
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"ticker: error: SSL_CERT_FILE names {tmp_path / 'missing.pem'}, which is not a file"
    )
    assert untouched(database)


def test_a_poll_of_http_sites_needs_no_ca_store(tmp_path: Path) -> None:
    # SSL_CERT_FILE names a file that is not there, but nothing is fetched over https: the
    # poll neither loads nor checks a CA store (issue 15, item 6).
    with PageServer([ticker_page([LINE])]) as site:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[ticker]\ndatabase = "{database_for(tmp_path, "ticker.db")}"\n\n'
            '[[source]]\nname = "s"\n'
            f'url = "{site.url}"\nselector = ".breaking-news li"\n',
            encoding="utf-8",
        )
        default_context.cache_clear()
        try:
            result = CliRunner().invoke(
                main,
                ["--config", str(config), "poll"],
                env={"SSL_CERT_FILE": str(tmp_path / "missing.pem")},
            )
        finally:
            default_context.cache_clear()
    assert result.exit_code == 0, result.output
    assert "first poll, 1 line(s)" in result.output


def test_an_https_fetch_through_a_missing_store_fails_as_a_fetch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The client is made without the store (a poll of http sites never needs it); the first
    # https request needs it, and its FetchError says what is wrong.
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    default_context.cache_clear()

    async def _fetch() -> None:
        async with make_client(SETTINGS) as client:
            await fetch_page(client, "https://127.0.0.1:9/", max_bytes=100_000)

    try:
        with pytest.raises(FetchError) as failed:
            asyncio.run(_fetch())
    finally:
        default_context.cache_clear()
    assert failed.value.reason == "trust-store"
    assert (
        str(failed.value) == f"SSL_CERT_FILE names {tmp_path / 'missing.pem'}, which is not a file"
    )


@pytest.mark.parametrize(
    ("variables", "level"),
    [({}, logging.DEBUG), ({"SSL_CERT_DIR": "."}, logging.INFO)],
    ids=["default store", "chosen by the environment"],
)
def test_the_store_is_logged_once_at_info_only_if_someone_chose_it(
    variables: dict[str, str],
    level: int,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    default_context.cache_clear()
    try:
        with caplog.at_level(logging.DEBUG, logger="ticker.trust"):
            default_context()
            default_context()
    finally:
        default_context.cache_clear()
    said = [r for r in caplog.records if "trusting the CA certificates" in r.getMessage()]
    assert [r.levelno for r in said] == [level]


# --- verifying -------------------------------------------------------------------------


def test_a_hashed_directory_is_read_lazily_and_verifies(
    tmp_path: Path,
    site_ca: trustme.CA,
    https_site: PageServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    others = [make_ca(f"unrelated ca {n}") for n in range(3)]
    directory = hashed_dir(tmp_path / "cas", *others, site_ca)
    context = trust_context(TrustStore(capath=str(directory), origin="system"))
    assert context.cert_store_stats()["x509_ca"] == 0  # nothing loaded up front

    page = fetch_with(context, https_site.url, monkeypatch)

    assert page.status == 200 and page.text is not None and LINE in page.text
    assert context.cert_store_stats()["x509_ca"] == 1  # the site's issuer, and only it
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_a_site_whose_ca_is_not_trusted_is_refused(
    tmp_path: Path, https_site: PageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = hashed_dir(tmp_path / "cas", make_ca("another ca"))
    context = trust_context(TrustStore(capath=str(directory), origin="system"))

    with pytest.raises(FetchError) as refused:
        fetch_with(context, https_site.url, monkeypatch)

    assert refused.value.reason == "connect"
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)
    assert https_site.requests == 0  # no request went over the unverified connection


def test_the_default_store_verifies_too(
    https_site: PageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whatever this machine's default is (system directory or certifi), the test's CA is
    # not in it: a self-made certificate must not pass.
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    context = trust_context(choose_store())

    with pytest.raises(FetchError, match="CERTIFICATE_VERIFY_FAILED"):
        fetch_with(context, https_site.url, monkeypatch)
