"""What g4f is installed: its version and which nest_asyncio its bridge
imports. harness.py and doctor.py both import this module (g4fdiag writes
it next to them), so the two read an installed g4f the same way.

It runs on any Python 3 (no f-strings, no walrus) and imports nothing of
g4f until a function is called.
"""

import importlib
import inspect
import os
import re
import sys

NEST_MODULES = ("nest_asyncio", "nest_asyncio2")
# Where g4f keeps its sync <-> async bridge, newest layout first.
BRIDGE_MODULES = ("g4f.providers.asyncio", "g4f.providers.base_provider",
                  "g4f.Provider.base_provider", "g4f.Provider.helper")


def same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def dist_version(name, path):
    """The installed distribution's version, when it describes the copy at
    path (a module on PYTHONPATH may shadow an installed one)."""
    try:
        from importlib import metadata
    except ImportError:
        return ""
    for dist_name in (name, name.replace("_", "-")):
        try:
            dist = metadata.distribution(dist_name)
        except Exception:
            continue
        for rel in (name, name + ".py", os.path.join(name, "__init__.py")):
            located = str(dist.locate_file(rel))
            if os.path.exists(located):
                if not path or same_file(located, path) or same_file(os.path.dirname(located), path):
                    return dist.version or ""
                return ""  # metadata of another copy than the one imported
        # Metadata that locates no such file: trust it.
        return dist.version or ""
    return ""


def g4f_version(g4f, path):
    """The version of the g4f imported from path: installed metadata that
    describes that copy, else g4f.__version__, else g4f.version's."""
    version = dist_version("g4f", path)
    if version:
        return version
    version = getattr(g4f, "__version__", None)
    if version:
        return str(version)
    try:
        utils = importlib.import_module("g4f.version").utils
        version = utils.current_version
        if version:
            return str(version)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
    return ""


def bridge_modules():
    """g4f's bridge modules that are imported, after importing the newest
    layout's (it may not exist in this release)."""
    try:
        importlib.import_module(BRIDGE_MODULES[0])
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
    return [sys.modules[n] for n in BRIDGE_MODULES if n in sys.modules]


def nest_module_of(modules):
    """Which nest_asyncio the imported g4f uses: a module it holds in its
    globals, else the name in its source (a failed import leaves no module)."""
    for module in modules:
        for value in list(vars(module).values()):
            if inspect.ismodule(value) and value.__name__ in NEST_MODULES:
                return value.__name__
    for module in modules:
        try:
            source = inspect.getsource(module)
        except Exception:
            continue
        if re.search(r"\bnest_asyncio2\b", source):
            return "nest_asyncio2"
        if re.search(r"\bnest_asyncio\b", source):
            return "nest_asyncio"
    return ""
