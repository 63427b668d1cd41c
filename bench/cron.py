"""The cost of ticker in cron mode: one `ticker poll` process against one urlwatch run, side
by side, on the same ~250 KB loopback page whose ticker has not moved (the usual cron run:
fetch, parse, nothing new). CPU time (user + system, from os.wait4) and wall time of each
process, start to exit; runs alternate, so the machine's load falls on both alike.

    .venv/bin/python -m bench.cron [--runs 15] [--urlwatch PATH] [--no-css]

urlwatch is not installed by this script: give `--urlwatch PATH` (its executable), or it is
looked for at /tmp/urlwatch-venv/bin/urlwatch, then on PATH. To make that venv:

    python3 -m venv /tmp/urlwatch-venv && /tmp/urlwatch-venv/bin/pip install urlwatch

Without urlwatch, ticker alone is measured. ticker runs from this checkout with no channel
("ticker poll", the figure compared) and with one e-mail channel ("+ 1 channel": nothing is
new, so nothing is sent). urlwatch runs with its own default config (written by itself in
the warm-up run: a stdout report, no e-mail) and one job for the page, with a `css` filter
on the ticker's selector (`--no-css`: the whole page) so that both extract the same lines.
Both get the same environment: bytecode caching on, in a temporary PYTHONPYCACHEPREFIX, as
an installed program has its .pyc files (PYTHONDONTWRITEBYTECODE, if set, would make ticker,
run from its source tree, compile every module on every run), and a warm-up run each, not
counted. The "libraries" row imports what any `ticker poll` needs before its own code
(asyncio, click, sqlite3, httpx and its transport, selectolax): the floor of its cost.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.rig import (
    LOOPBACK,
    ROOT,
    command_line,
    config_text,
    daemon_env,
    free_port,
    machine,
    page_html,
    revision,
    ticker_lines,
    wait_until,
)

PAGE_BYTES = 250_000
SELECTOR = ".breaking-news li"  # what bench.rig.config_text gives ticker's sources
URLWATCH_VENV = Path("/tmp/urlwatch-venv/bin/urlwatch")
# What any `ticker poll` imports before its own code: the floor of its cost.
LIBRARIES = (
    "import asyncio, click, sqlite3, httpx, httpcore, anyio._backends._asyncio, selectolax.lexbor"
)


def find_urlwatch(given: str | None) -> Path | None:
    """The urlwatch executable: `given`, else the usual venv, else the one on PATH."""
    if given is not None:
        path = Path(given)
        return path if path.is_file() else None
    if URLWATCH_VENV.is_file():
        return URLWATCH_VENV
    found = shutil.which("urlwatch")
    return Path(found) if found else None


def child_env(pycache: Path) -> dict[str, str]:
    """The environment both programs run in: bench.rig's daemon_env, bytecode cached in
    `pycache`."""
    env = daemon_env({"PYTHONPYCACHEPREFIX": str(pycache)})
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def measured(command: Sequence[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Run `command` to its end; its CPU seconds (user + system) and wall seconds.
    SystemExit with its output if it fails."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as output:
        child = subprocess.Popen(command, env=env, cwd=cwd, stdout=output, stderr=output)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            output.seek(0)
            text = output.read().decode(errors="replace")
            raise SystemExit(f"{command[0]} exited {child.returncode}:\n{text[-2000:]}")
    return usage.ru_utime + usage.ru_stime, wall


def ticker_command(workdir: Path, url: str, name: str, mail: str | None = None) -> list[str]:
    """`ticker poll` of one source at `url`, with its config and database in
    `workdir/name`; with `mail`, an e-mail channel to that Apprise URL."""
    files = workdir / name
    files.mkdir()
    channels = [("mail", mail, "")] if mail else []
    config = files / "config.toml"
    config.write_text(
        config_text(files / "ticker.db", 60, [("bench", url)], channels), encoding="utf-8"
    )
    config.chmod(0o600)
    return [sys.executable, "-m", "ticker", "--config", str(config), "poll"]


def urlwatch_command(urlwatch: Path, workdir: Path, url: str, css: bool) -> list[str]:
    """urlwatch with one job for `url`, its files (urls, config, cache, hooks) in
    `workdir`."""
    home = workdir / "urlwatch"
    home.mkdir()
    job = f"name: bench\nurl: {url}\n" + (f"filter:\n  - css: '{SELECTOR}'\n" if css else "")
    (home / "urls.yaml").write_text(job, encoding="utf-8")
    files = {"--urls": "urls.yaml", "--config": "urlwatch.yaml", "--cache": "cache.db"}
    flags = [part for flag, name in files.items() for part in (flag, str(home / name))]
    return [str(urlwatch), *flags, "--hooks", str(home / "hooks.py")]


def median_ms(values: Sequence[float]) -> str:
    return f"{statistics.median(values) * 1000:6.0f} ms"


def report(name: str, cpu: Sequence[float], wall: Sequence[float]) -> None:
    print(
        f"{name:<13} CPU median {median_ms(cpu)} (min {min(cpu) * 1000:.0f}, "
        f"max {max(cpu) * 1000:.0f}), wall median {median_ms(wall)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="measured runs of each")
    parser.add_argument("--urlwatch", help="urlwatch's executable (not installed here)")
    parser.add_argument("--no-css", action="store_true", help="urlwatch diffs the whole page")
    args = parser.parse_args()
    urlwatch = find_urlwatch(args.urlwatch)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        page = workdir / "page.html"
        page.write_bytes(page_html(ticker_lines(0, 10), PAGE_BYTES))
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.pageserver", str(port), str(page)], cwd=ROOT
        )
        try:
            url = f"http://{LOOPBACK}:{port}/"
            wait_until(lambda: _listening(port), 10, "the page server")
            # The channel's SMTP port has no server: nothing is new, so nothing is sent.
            mail = f"mailto://{LOOPBACK}:{free_port()}?from=a@example.org&to=b@example.org"
            commands = {
                "ticker poll": ticker_command(workdir, url, "ticker-files"),
                "+ 1 channel": ticker_command(workdir, url, "ticker-channel", mail),
                "python -c ''": [sys.executable, "-c", ""],  # the interpreter's own start
                "libraries": [sys.executable, "-c", LIBRARIES],
            }
            if urlwatch is not None:
                commands["urlwatch"] = urlwatch_command(urlwatch, workdir, url, not args.no_css)
            figures = compare(commands, child_env(workdir / "pycache"), workdir, args.runs)
        finally:
            server.terminate()
            server.wait(10)
    print(f"machine: {machine()}; ticker at {revision()}")
    print(f"command: {command_line()}")
    print(f"page: {PAGE_BYTES // 1000} KB on loopback, unchanged between runs; runs: {args.runs}")
    for name, (cpu, wall) in figures.items():
        report(name, cpu, wall)
    if urlwatch is None:
        print("urlwatch: not found (give --urlwatch PATH; see this script's docstring)")
        return
    ratio = statistics.median(figures["ticker poll"][0]) / statistics.median(figures["urlwatch"][0])
    print(f"urlwatch: {urlwatch}")
    print(f"ticker poll / urlwatch, median CPU: {ratio:.2f}")


def _listening(port: int) -> bool:
    import socket

    try:
        socket.create_connection((LOOPBACK, port), 0.2).close()
    except OSError:
        return False
    return True


def compare(
    commands: dict[str, list[str]], env: dict[str, str], cwd: Path, runs: int
) -> dict[str, tuple[list[float], list[float]]]:
    """Each command once to warm up (a baseline, the bytecode cache), then `runs` times
    each, alternating; the CPU and wall seconds of every measured run, per command."""
    for command in commands.values():
        measured(command, env, cwd)
    figures: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            cpu, wall = measured(command, env, cwd)
            figures[name][0].append(cpu)
            figures[name][1].append(wall)
    return figures


if __name__ == "__main__":
    main()
