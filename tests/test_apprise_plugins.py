"""ticker.apprise_plugins: Apprise imports only the plugins the channels use, and behaves
as if it had loaded all of them. Apprise's plugin manager is one per process, so each case
runs in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from ticker.apprise_plugins import declared_schemes, plugin_for, scheme_of

URLS = [
    "mailtos://user:secret@example.com?smtp=127.0.0.1&to=me@example.com",
    "tgram://123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ/12345",
    "json://127.0.0.1:9/hook",
    "form://127.0.0.1:9/hook",
]
PRELUDE = """
import json, logging, sys
import apprise
from apprise.manager_plugins import NotificationManager
from ticker.apprise_plugins import load_only
errors = []
class Keep(logging.Handler):
    def emit(self, record):
        errors.append(record.getMessage())
handler = Keep(logging.ERROR)
logging.getLogger("apprise").addHandler(handler)
def plugins_imported():
    return sorted(m for m in sys.modules if m.startswith("apprise.plugins."))
def kind(url):
    plugin = apprise.Apprise.instantiate(url)
    return None if plugin is None else type(plugin).__name__
"""


def run(code: str) -> dict:
    """Run `code` after PRELUDE in a fresh interpreter; it prints one JSON object."""
    result = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_only_the_plugins_of_the_configured_schemes_are_imported() -> None:
    out = run(
        f"""
        load_only({URLS!r})
        kinds, logged = [kind(u) for u in {URLS!r}], list(errors)
        print(json.dumps({{"kinds": kinds, "errors": logged, "ntfy": kind("ntfy://topic"),
                          "modules": plugins_imported()}}))
        """
    )
    assert out["kinds"] == ["NotifyEmail", "NotifyTelegram", "NotifyJSON", "NotifyForm"]
    assert "apprise.plugins.telegram" in out["modules"]
    assert "apprise.plugins.ntfy" not in out["modules"]
    assert len([m for m in out["modules"] if m.count(".") == 2]) <= 6  # of ~190
    assert out["ntfy"] is None  # not asked for: unknown to this process's Apprise
    assert out["errors"] == []


def test_a_reloaded_config_adds_the_plugins_of_its_new_schemes() -> None:
    out = run(
        f"""
        load_only([{URLS[2]!r}])
        before = kind({URLS[1]!r})
        load_only([{URLS[2]!r}, {URLS[1]!r}])
        print(json.dumps({{"before": before, "after": kind({URLS[1]!r}),
                          "json": kind({URLS[2]!r})}}))
        """
    )
    assert out == {"before": None, "after": "NotifyTelegram", "json": "NotifyJSON"}


def test_a_scheme_that_cannot_be_placed_lets_apprise_load_everything() -> None:
    # kde:// belongs to the D-Bus plugin, whose schemes are computed, not declared.
    out = run(
        f"""
        load_only([{URLS[0]!r}])
        load_only([{URLS[0]!r}, "kde://", "nosuch://host"])
        load_only(["ntfy://topic"])  # everything is loaded: nothing left to do
        logged = list(errors)
        print(json.dumps({{"mail": kind({URLS[0]!r}), "ntfy": kind("ntfy://topic"),
                          "nosuch": kind("nosuch://host"),
                          "modules": len(plugins_imported()), "errors": logged}}))
        """
    )
    assert out["mail"] == "NotifyEmail" and out["ntfy"] == "NotifyNtfy"
    assert out["nosuch"] is None
    assert out["modules"] > 100
    assert out["errors"] == []  # no "schema mismatch" for the plugins registered first


def test_the_config_check_still_names_unknown_and_unavailable_services() -> None:
    out = run(
        """
        from ticker.notify import invalid_urls
        print(json.dumps({"reasons": invalid_urls(("json://127.0.0.1/", "nosuch://x"))}))
        """
    )
    assert out["reasons"] == ["Apprise cannot use nosuch://*** (unknown service)"]


def test_every_scheme_placed_maps_to_the_plugin_apprise_itself_would_use() -> None:
    out = run(
        """
        from ticker.apprise_plugins import plugin_for
        manager = NotificationManager()
        manager.load_modules()
        placed, unplaced, wrong = 0, [], []
        for scheme in manager.schemas():
            plugin = plugin_for(scheme)
            if plugin is None:
                unplaced.append(scheme)
            elif plugin is not manager[scheme]:
                wrong.append(scheme)
            else:
                placed += 1
        print(json.dumps({"placed": placed, "unplaced": unplaced, "wrong": wrong}))
        """
    )
    assert out["wrong"] == []
    total = out["placed"] + len(out["unplaced"])
    assert out["placed"] >= 0.9 * total, out["unplaced"]


def test_declarations_are_read_from_the_plugin_sources() -> None:
    schemes = declared_schemes()
    assert schemes["tgram"] == ("telegram",)
    assert schemes["mailtos"] == ("email",)  # a plugin package counts as one module
    assert plugin_for("json").__name__ == "NotifyJSON"
    assert plugin_for("no-such-scheme") is None
    assert plugin_for("../etc") is None  # never an import path
    assert scheme_of(" MailTos://u:p@h ") == "mailtos"
