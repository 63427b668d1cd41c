"""The systemd units in systemd/: the system service (systemd/ticker.service) and the user
service (systemd/user/ticker.service).

The tests that run `systemd-analyze` skip, with the reason, where it is not on PATH. Nothing
here boots or talks to a service manager: `verify` and `security --offline=yes` only load
unit files.

`verify` also checks that ExecStart's program exists, and the units name where ticker is
installed on a real machine (/usr/local/bin, ~/.local/bin), not where this test runs it from.
So each unit is verified as a copy in which only ExecStart's program is replaced by this
interpreter running `-m ticker` (an executable that really runs ticker here); the unchanged
system unit is verified too, and its only allowed complaint is the missing
/usr/local/bin/ticker.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ticker.cli import EXIT_CONFIG, EXIT_DATABASE, EXIT_IN_USE
from ticker.daemon import STOP_GRACE

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_UNIT = ROOT / "systemd" / "ticker.service"
USER_UNIT = ROOT / "systemd" / "user" / "ticker.service"
SYSTEM_PROGRAM = "/usr/local/bin/ticker"
USER_PROGRAM = "%h/.local/bin/ticker"
MAX_EXPOSURE = 2.0  # systemd-analyze security rates up to 2.0 "OK"
TIMEOUT = 60  # seconds for any systemd-analyze run

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze is not on PATH (apt-get install systemd)"
)

# Settings the user unit must not have: User= has no meaning for a user manager, and the
# rest need a user namespace, which some distributions (Ubuntu 23.10 and later) refuse to
# user managers, so the service would not start there.
NOT_IN_USER_UNITS = (
    "User",
    "DynamicUser",
    "PrivateUsers",
    "ProtectSystem",
    "ProtectHome",
    "PrivateTmp",
    "PrivateDevices",
    "ProtectKernelTunables",
    "ProtectHostname",
)

Unit = dict[str, dict[str, list[str]]]


def parse_unit(path: Path) -> Unit:
    """Section -> key -> every value assigned, in order (systemd allows repeated keys; an
    empty assignment resets a list, so it is kept as ""). Comments and continuation lines
    are handled the way the units here need: none of them continues a line."""
    unit: Unit = {}
    section: dict[str, list[str]] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        assert not line.endswith("\\"), f"{path.name}:{number}: continuation lines not expected"
        if line.startswith("[") and line.endswith("]"):
            section = unit.setdefault(line[1:-1], {})
            continue
        assert section is not None, f"{path.name}:{number}: assignment outside a section"
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}:{number}: not KEY=VALUE: {raw!r}"
        section.setdefault(key.strip(), []).append(value.strip())
    return unit


def last(unit: Unit, section: str, key: str) -> str | None:
    """The value in effect for a single-valued setting (the last assignment wins)."""
    values = unit.get(section, {}).get(key)
    return values[-1] if values else None


def seconds(value: str) -> float:
    """A systemd time span of the forms the units use: "60", "60s", "1min", "1min 30s"."""
    units = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value)
    assert parts and "".join(n + u for n, u in parts) == value.replace(" ", ""), value
    return sum(float(number) * units[unit] for number, unit in parts)


def analyze(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run(
        [ANALYZE, "--no-pager", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "SYSTEMD_COLORS": "0", **(env or {})},
    )


def runnable_copy(unit: Path, program: str, directory: Path) -> Path:
    """`unit` copied to directory/ticker.service with ExecStart's `program` replaced by this
    interpreter running ticker as a module; everything else unchanged."""
    executable = sys.executable.replace("%", "%%")  # % starts a specifier in unit files
    if " " in executable:
        executable = f'"{executable}"'
    text = unit.read_text(encoding="utf-8")
    old = f"ExecStart={program} "
    assert text.count(old) == 1, f"{unit.name}: expected one {old!r}"
    directory.mkdir(parents=True, exist_ok=True)
    copy = directory / "ticker.service"
    copy.write_text(text.replace(old, f"ExecStart={executable} -m ticker "), encoding="utf-8")
    return copy


def complaints(stderr: str, path: Path) -> list[str]:
    """The lines of `systemd-analyze verify` output that concern our unit (other units
    loaded as dependencies may have their own warnings on some hosts)."""
    return [line for line in stderr.splitlines() if str(path) in line or "ticker.service" in line]


# --- systemd-analyze verify ----------------------------------------------------------------


@needs_analyze
def test_system_unit_verifies_clean(tmp_path: Path) -> None:
    copy = runnable_copy(SYSTEM_UNIT, SYSTEM_PROGRAM, tmp_path)
    result = analyze("verify", str(copy))
    assert result.returncode == 0, result.stderr
    assert complaints(result.stderr, copy) == []


@needs_analyze
def test_system_unit_as_shipped_only_lacks_the_installed_program() -> None:
    result = analyze("verify", str(SYSTEM_UNIT))
    missing = f"ticker.service: Command {SYSTEM_PROGRAM} is not executable"
    other = [line for line in complaints(result.stderr, SYSTEM_UNIT) if missing not in line]
    assert other == []
    if os.access(SYSTEM_PROGRAM, os.X_OK):
        assert result.returncode == 0, result.stderr


@needs_analyze
def test_user_unit_verifies_clean(tmp_path: Path) -> None:
    copy = runnable_copy(USER_UNIT, USER_PROGRAM, tmp_path / "unit")
    # A user manager needs $XDG_RUNTIME_DIR (only to set itself up; nothing is started), and
    # %h expands to $HOME.
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {"XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp_path)}
    result = analyze("--user", "verify", str(copy), env=env)
    if result.returncode != 0 and "Failed to initialize manager" in result.stderr:
        pytest.skip(f"systemd-analyze --user cannot run here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    assert complaints(result.stderr, copy) == []


# --- systemd-analyze security ---------------------------------------------------------------


@needs_analyze
def test_system_unit_exposure_is_ok() -> None:
    result = analyze("security", "--offline=yes", str(SYSTEM_UNIT))
    if result.returncode != 0 and "--offline" in result.stderr:
        pytest.skip(f"this systemd-analyze has no --offline (systemd < 250): {result.stderr}")
    assert result.returncode == 0, result.stderr
    match = re.search(
        r"Overall exposure level for ticker\.service:\s*(\d+(?:\.\d+)?)\s+(\w+)", result.stdout
    )
    assert match, result.stdout
    exposed = [line for line in result.stdout.splitlines() if line.startswith(("✗", "- "))]
    assert float(match[1]) <= MAX_EXPOSURE, "\n".join(exposed)
    assert match[2] == "OK"


# --- what the daemon relies on --------------------------------------------------------------


def lifecycle_checks(unit: Unit) -> None:
    """Settings both units need for `ticker run` (sd_notify, watchdog, SIGHUP, stop)."""
    assert last(unit, "Service", "Type") == "notify"
    assert last(unit, "Service", "NotifyAccess") == "main"
    watchdog = last(unit, "Service", "WatchdogSec")
    assert watchdog is not None and seconds(watchdog) > 0
    reload = last(unit, "Service", "ExecReload")
    assert reload is not None
    assert re.fullmatch(r"\S*/kill -(HUP|SIGHUP|s HUP) \$MAINPID", reload), reload
    assert last(unit, "Service", "Restart") == "on-failure"
    stop = last(unit, "Service", "TimeoutStopSec")
    assert stop is not None and seconds(stop) > STOP_GRACE  # the graceful stop fits
    prevent = last(unit, "Service", "RestartPreventExitStatus") or ""
    assert str(EXIT_CONFIG) in prevent.split()  # a config error is not retried forever
    # nor an unusable or damaged database, nor a database another ticker holds
    assert {str(EXIT_DATABASE), str(EXIT_IN_USE)} <= set(prevent.split())
    assert "AF_UNIX" in (last(unit, "Service", "RestrictAddressFamilies") or "")  # sd_notify


def test_system_unit_lifecycle_and_directories() -> None:
    unit = parse_unit(SYSTEM_UNIT)
    lifecycle_checks(unit)
    assert last(unit, "Service", "ExecStart") == (
        f"{SYSTEM_PROGRAM} --config /etc/ticker/config.toml run"
    )
    assert last(unit, "Service", "StateDirectory") == "ticker"  # $STATE_DIRECTORY/ticker.db
    assert last(unit, "Service", "ConfigurationDirectory") == "ticker"  # /etc/ticker
    assert last(unit, "Install", "WantedBy") == "multi-user.target"


def assigned(unit: Unit, section: str, key: str) -> list[str]:
    """Every unit named by a list setting such as After= or Wants=, in order."""
    return " ".join(unit.get(section, {}).get(key, [])).split()


def test_system_unit_starts_after_the_clock_is_synchronised() -> None:
    unit = parse_unit(SYSTEM_UNIT)
    assert "time-sync.target" in assigned(unit, "Unit", "After")
    # A passive target: the time service pulls it in, its users only order after it
    # (systemd.special(7)).
    assert "time-sync.target" not in assigned(unit, "Unit", "Wants")


def test_user_unit_does_not_pretend_to_order_against_system_targets() -> None:
    # A user manager cannot see the system's time-sync.target: an After= would be a no-op.
    unit = parse_unit(USER_UNIT)
    assert not {"time-sync.target", "time-set.target"} & set(assigned(unit, "Unit", "After"))


def test_system_unit_sandbox_keeps_the_network() -> None:
    service = parse_unit(SYSTEM_UNIT)["Service"]
    assert service["DynamicUser"] == ["yes"]
    assert service["ProtectSystem"] == ["strict"]
    assert service["ProtectHome"] == ["yes"]
    assert service["NoNewPrivileges"] == ["yes"]
    assert service["CapabilityBoundingSet"] == [""]
    # It must reach arbitrary sites and notification services.
    assert set(service["RestrictAddressFamilies"][-1].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert "IPAddressDeny" not in service
    assert service.get("PrivateNetwork", ["no"])[-1] == "no"


def test_system_unit_has_no_credential_that_stops_it_from_starting() -> None:
    """An absolute LoadCredential= path that does not exist makes systemd refuse to start the
    service, so the shipped example is commented out; a bare name (credstore) is fine."""
    service = parse_unit(SYSTEM_UNIT)["Service"]
    for key in ("LoadCredential", "LoadCredentialEncrypted"):
        for value in service.get(key, []):
            _name, _, source = value.partition(":")
            assert not source.startswith("/"), value


def test_user_unit_lifecycle_and_paths() -> None:
    unit = parse_unit(USER_UNIT)
    lifecycle_checks(unit)
    assert last(unit, "Service", "ExecStart") == (
        f"{USER_PROGRAM} --config %h/.config/ticker/config.toml run"
    )
    assert last(unit, "Install", "WantedBy") == "default.target"
    service = unit["Service"]
    # The database stays at ticker's default, ~/.local/share/ticker, where `ticker tail`
    # looks (StateDirectory= would move it to ~/.local/state).
    assert "StateDirectory" not in service
    for key in NOT_IN_USER_UNITS:
        assert key not in service, key


# --- documentation (issue 15, item 14) -------------------------------------------------------

DOC_SCHEMES = ("http://", "https://", "file:", "info:", "man:")  # what systemd.unit(5) accepts


@pytest.mark.parametrize("path", [SYSTEM_UNIT, USER_UNIT], ids=["system", "user"])
def test_units_say_where_their_documentation_is(path: Path) -> None:
    """`systemctl help ticker` and `systemctl status` show Documentation=; the README's
    address is the one ticker's User-Agent names."""
    from ticker.config import DEFAULT_USER_AGENT

    docs = parse_unit(path)["Unit"].get("Documentation", [])
    assert docs, f"{path.name} has no Documentation="
    assert all(doc.startswith(DOC_SCHEMES) for doc in docs), docs
    readme = next(doc for doc in docs if doc.startswith("https://"))
    assert readme in DEFAULT_USER_AGENT


def test_readme_says_verify_of_the_shipped_unit_needs_ticker_installed() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "`systemd-analyze verify systemd/ticker.service` needs ticker installed" in readme
    assert SYSTEM_PROGRAM in readme
