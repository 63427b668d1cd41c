"""systemd/ticker-web.service (`ticker serve` beside ticker.service): it verifies, stays
sandboxed (exposure at or under 2.0), shares the daemon's dynamic user and state directory,
and does not retry a config error forever. Skips where systemd-analyze is missing."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from test_systemd_units import MAX_EXPOSURE, analyze, complaints, last, needs_analyze, parse_unit

from ticker.cli import EXIT_CONFIG, EXIT_DATABASE

ROOT = Path(__file__).resolve().parent.parent
WEB_UNIT = ROOT / "systemd" / "ticker-web.service"
SYSTEM_UNIT = ROOT / "systemd" / "ticker.service"


def test_web_unit_shares_the_daemons_user_and_state() -> None:
    web, daemon = parse_unit(WEB_UNIT), parse_unit(SYSTEM_UNIT)
    assert last(web, "Service", "DynamicUser") == "yes"
    assert last(web, "Service", "User") == SYSTEM_UNIT.stem  # the daemon's dynamic user
    for key in ("StateDirectory", "ConfigurationDirectory"):
        assert last(web, "Service", key) == last(daemon, "Service", key)
    exec_start = last(web, "Service", "ExecStart") or ""
    assert exec_start.endswith(" serve") and "--public" not in exec_start
    assert last(web, "Service", "IPAddressDeny") == "any"  # loopback only, unless allowed
    assert last(web, "Service", "IPAddressAllow") == "localhost"
    prevent = (last(web, "Service", "RestartPreventExitStatus") or "").split()
    assert {str(EXIT_CONFIG), str(EXIT_DATABASE)} <= set(prevent)


@needs_analyze
def test_web_unit_verifies_clean(tmp_path: Path) -> None:
    text = WEB_UNIT.read_text(encoding="utf-8")
    copy = tmp_path / WEB_UNIT.name
    copy.write_text(
        text.replace("ExecStart=/usr/local/bin/ticker ", f"ExecStart={sys.executable} -m ticker "),
        encoding="utf-8",
    )
    result = analyze("verify", str(copy))
    assert result.returncode == 0, result.stderr
    assert [line for line in complaints(result.stderr, copy) if WEB_UNIT.name in line] == []


@needs_analyze
def test_web_unit_exposure_is_ok() -> None:
    assert shutil.which("systemd-analyze")
    result = analyze("security", "--offline=yes", str(WEB_UNIT))
    assert result.returncode == 0, result.stderr
    match = re.search(
        r"Overall exposure level for ticker-web\.service:\s*(\d+(?:\.\d+)?)", result.stdout
    )
    assert match, result.stdout
    assert float(match[1]) <= MAX_EXPOSURE
