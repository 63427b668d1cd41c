"""Which certificate authorities ticker trusts for https sources.

httpx's default loads certifi's whole bundle (~140 certificates) into OpenSSL when the client
is made: ~2.4 MB of the daemon's resident memory, held for its life. A hashed CA directory
(OpenSSL's `capath`, which Debian's and Fedora's ca-certificates provide as /etc/ssl/certs)
is read lazily instead: OpenSSL loads just the issuers that the sites ticker polls chain
to. So ticker trusts, in this order:

1. `SSL_CERT_FILE` and/or `SSL_CERT_DIR`, when set (OpenSSL's own variables);
2. the system's hashed CA directory, when it has any certificate;
3. certifi's bundle, as httpx would (a machine with no system store, such as macOS).

Either way verification stays on, with the same checks (hostname, chain, expiry).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ticker.errors import TickerError

log = logging.getLogger(__name__)
_HASHED_NAME = re.compile(r"[0-9a-f]{8}\.\d+")  # subject hash . index, as c_rehash names them


@dataclass(frozen=True)
class TrustStore:
    """Where the CA certificates come from: a bundle file, a hashed directory, or both."""

    cafile: str | None = None
    capath: str | None = None
    origin: str = "certifi"  # "environment", "system" or "certifi", for logs and tests

    @property
    def where(self) -> str:
        """The file and/or directory, for a log line."""
        return " and ".join(p for p in (self.cafile, self.capath) if p)


def has_hashed_certs(directory: str | None) -> bool:
    """True if `directory` holds at least one certificate named by its subject hash."""
    if not directory:
        return False
    try:
        with os.scandir(directory) as entries:
            return any(_HASHED_NAME.fullmatch(entry.name) for entry in entries)
    except OSError:  # missing, unreadable or not a directory
        return False


def choose_store(
    environ: Mapping[str, str] | None = None, system_capath: str | None = None
) -> TrustStore:
    """The trust store ticker uses, given the environment and the system's CA directory
    (by default OpenSSL's, from ssl.get_default_verify_paths())."""
    environ = os.environ if environ is None else environ
    cafile = environ.get("SSL_CERT_FILE") or None
    capath = environ.get("SSL_CERT_DIR") or None
    if cafile or capath:
        return TrustStore(cafile, capath, "environment")
    if system_capath is None:
        system_capath = ssl.get_default_verify_paths().capath
    if has_hashed_certs(system_capath):
        return TrustStore(capath=system_capath, origin="system")
    import certifi  # installed with httpx

    return TrustStore(cafile=certifi.where())


def trust_context(store: TrustStore) -> ssl.SSLContext:
    """A verifying client TLS context over `store`; TickerError if the environment names
    a file or directory that is not there (OpenSSL would fail later, and vaguely)."""
    if store.cafile is not None and not Path(store.cafile).is_file():
        raise TickerError(f"SSL_CERT_FILE names {store.cafile}, which is not a file")
    if store.capath is not None and not Path(store.capath).is_dir():
        raise TickerError(f"SSL_CERT_DIR names {store.capath}, which is not a directory")
    return ssl.create_default_context(cafile=store.cafile, capath=store.capath)


@functools.cache
def default_context() -> ssl.SSLContext:
    """The process's one TLS context, over choose_store(): every client (a config reload
    makes a new one) shares it, and with it the CA certificates already loaded. Made when
    the first https request is (ticker.fetch), or when `ticker run` starts.

    Which store it trusts is logged once, at INFO only when the environment chose it (a CA
    file or directory someone configured, which matters when https fails); the default
    store is logged at DEBUG, so a one-shot command does not say it on every run."""
    store = choose_store()
    context = trust_context(store)
    level = logging.INFO if store.origin == "environment" else logging.DEBUG
    log.log(level, "https: trusting the CA certificates in %s (%s)", store.where, store.origin)
    return context
