"""Load only the Apprise plugins that the channels use.

The first time Apprise parses a URL it imports every one of its ~190 plugin modules (and
the libraries they import): about 11 MB of a daemon that needs two or three of them.
`load_only` registers the plugins of the given URL schemes with Apprise's plugin manager
before that happens. Each scheme is placed by reading the plugin sources for a
`protocol = "..."` or `secure_protocol = "..."` declaration (or a module of that name),
and only counts once the imported class declares the scheme itself. If any scheme cannot
be placed (an unknown service, or a plugin that computes its schemes, such as kde://),
Apprise is left to load everything, as it would without ticker: behaviour never depends
on this module, only memory does.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import re
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apprise.manager_plugins import NotificationManager

log = logging.getLogger(__name__)

PACKAGE = "apprise.plugins"
# `    secure_protocol = ("a", "b")`: a class attribute, its value up to the end of the line
# or of the bracket it opens.
_DECLARATION = re.compile(
    r"^ {4}(?:secure_)?protocol\s*=\s*(\([^)]*\)|\[[^\]]*\]|\{[^}]*\}|[^\n]*)", re.MULTILINE
)
_QUOTED = re.compile(r"[\"']([A-Za-z0-9+.-]+)[\"']")
_MODULE_NAME = re.compile(r"[a-z0-9_]+")


def scheme_of(url: str) -> str:
    """The lower-case scheme of an Apprise URL ("mailtos://..." -> "mailtos")."""
    return url.split("://", 1)[0].strip().lower()


@cache
def declared_schemes() -> dict[str, tuple[str, ...]]:
    """Each scheme declared in Apprise's plugin sources, and the plugin modules (relative
    to apprise.plugins) that declare it."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return {}
    found: dict[str, list[str]] = {}
    for root in spec.submodule_search_locations:
        for path in sorted(Path(root).rglob("*.py")):
            relative = path.relative_to(root)
            if relative.parts[0].startswith("_"):  # the package's own __init__, caches
                continue
            module = relative.parts[0].removesuffix(".py")  # a package counts as a whole
            text = path.read_text(encoding="utf-8", errors="replace")
            for value in _DECLARATION.findall(text):
                for scheme in _QUOTED.findall(value):
                    found.setdefault(scheme.lower(), []).append(module)
    return {scheme: tuple(dict.fromkeys(modules)) for scheme, modules in found.items()}


def _schemes_of_class(plugin: Any) -> set[str]:
    schemes: set[str] = set()
    for value in (getattr(plugin, "protocol", None), getattr(plugin, "secure_protocol", None)):
        if isinstance(value, str):
            schemes.add(value.lower())
        elif isinstance(value, (list, tuple, set, frozenset)):
            schemes.update(str(item).lower() for item in value)
    return schemes


def _plugin_in(module: ModuleType, scheme: str) -> Any | None:
    """The plugin class of `module` that declares `scheme`, found as Apprise finds it: a
    public name of the module whose object has an `app_id`."""
    for name in dir(module):
        if name.startswith("_"):
            continue
        plugin = getattr(module, name)
        is_plugin = isinstance(plugin, type) and hasattr(plugin, "app_id")
        if is_plugin and scheme in _schemes_of_class(plugin):
            return plugin
    return None


def plugin_for(scheme: str) -> Any | None:
    """The plugin class for `scheme`, importing only the modules that may declare it; None
    if none does."""
    candidates = list(declared_schemes().get(scheme, ()))
    if _MODULE_NAME.fullmatch(scheme):
        candidates.append(scheme)
    for module_name in dict.fromkeys(candidates):
        try:
            module = importlib.import_module(f"{PACKAGE}.{module_name}")
        except ImportError:
            continue
        plugin = _plugin_in(module, scheme)
        if plugin is not None:
            return plugin
    return None


def _start_empty(manager: NotificationManager) -> None:
    """Make `manager` count as loaded with no plugins: its native plugins are imported on
    the first lookup unless some directory has been loaded, so an empty one is."""
    with tempfile.TemporaryDirectory() as empty:
        manager.load_modules(path=empty, name="ticker.apprise_plugins.none")


_added: set[str] = set()  # the schemes registered here, in this process
_gave_up = False  # Apprise has loaded (or will load) all of its plugins


def load_only(urls: Iterable[str]) -> None:
    """Register with Apprise the plugins of the schemes of `urls` before it loads all of
    them; more may be added by later calls (a reloaded config). Once any scheme cannot be
    placed, Apprise loads everything and later calls do nothing."""
    global _gave_up
    wanted = {scheme_of(url) for url in urls} - _added
    if _gave_up or not wanted:
        return
    from apprise.manager_plugins import NotificationManager  # no URL, no Apprise

    manager = NotificationManager()
    if not _added and manager:  # something already made Apprise load its plugins
        _gave_up = True
        return
    plugins = {scheme: plugin_for(scheme) for scheme in sorted(wanted)}
    missing = sorted(scheme for scheme, plugin in plugins.items() if plugin is None)
    if missing:
        log.debug("Apprise loads all its plugins: no plugin module declares %s", missing)
        _load_everything(manager)
        return
    if not _added:
        _start_empty(manager)
    for scheme, plugin in plugins.items():
        if scheme not in manager:
            manager.add(plugin)
        _added.update(_schemes_of_class(plugin))


def _load_everything(manager: NotificationManager) -> None:
    """Let Apprise load all of its plugins, the ones registered here first removed (Apprise
    would log each of their schemes as a conflict)."""
    global _gave_up
    _gave_up = True
    if _added:
        manager.remove(*sorted(_added), unload=False)
    manager.load_modules()
