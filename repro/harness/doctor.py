"""g4fdiag doctor: what this interpreter would do with g4f and event loops.

g4fdiag (Go) embeds this file, writes it to a temp dir and runs

    python -u doctor.py PACKAGE...

with the caller's environment (plus the miniature g4f on PYTHONPATH for
--demo). PACKAGE... are the packages to report (uvloop, nest_asyncio, ...):
the list belongs to the Go side. The script inspects and changes nothing
outside its own process: it imports g4f and those packages the way a user's
program would, reads a few module globals and sources, and prints ONE line,
last, on stdout:

    g4fdiag-doctor {"python":..., "python_version":..., "implementation":...,
                    "platform":..., "g4f":{...}, "packages":[...],
                    "uvicorn_loop":..., "loop_policy":..., "loop_policy_set_by":...}

What g4f prints while it is imported goes to stderr, never stdout; the Go
side still takes the last line with the prefix, so a stray print cannot
break the report. Exit status 0 whenever that line was printed — a g4f that
cannot be imported is part of the report ("importable": false), not a crash.

The script runs on any Python 3 (no f-strings, no walrus) and imports nothing
of the harness: each of the two must stand alone. What both read of g4f
(its version, the nest_asyncio its bridge imports) is g4fdiag_inspect.py,
which g4fdiag writes next to each.
"""

import asyncio
import importlib
import importlib.util
import json
import os
import platform
import sys
import warnings

# g4fdiag_inspect.py is written beside this file: found even where the
# interpreter does not put the script's directory on sys.path (-P,
# PYTHONSAFEPATH).
if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from g4fdiag_inspect import bridge_modules, dist_version, g4f_version, nest_module_of  # noqa: E402

PREFIX = "g4fdiag-doctor "
MAX_ERROR = 300


def one_line(exc):
    text = "%s: %s" % (type(exc).__name__, exc) if str(exc) else type(exc).__name__
    text = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return text[:MAX_ERROR]


def policy_name():
    """The class of the current event loop policy, module-qualified; "" on
    a Python without policies (they are deprecated from 3.14)."""
    getter = getattr(asyncio, "get_event_loop_policy", None)
    if getter is None:
        return ""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            policy = getter()
    except Exception:
        return ""
    cls = type(policy)
    return "%s.%s" % (cls.__module__, cls.__qualname__)


def module_path(module):
    path = getattr(module, "__file__", None)
    if path:
        path = os.path.abspath(path)
        if os.path.basename(path).startswith("__init__."):
            path = os.path.dirname(path)
        return path
    paths = list(getattr(module, "__path__", []) or [])
    return os.path.abspath(paths[0]) if paths else ""


def inspect_package(name):
    """{name, version, path, error}: version is None when `import name` does
    not work — whether nothing is found or what is found raises (a shadow
    module, a broken build): that is what g4f and uvicorn see."""
    entry = {"name": name, "version": None, "path": "", "error": ""}
    try:
        spec = importlib.util.find_spec(name)
    except Exception as exc:
        entry["error"] = one_line(exc)
        return entry, None
    if spec is None:
        return entry, None
    try:
        module = importlib.import_module(name)
    except BaseException as exc:  # SystemExit from a hostile shadow too
        if isinstance(exc, KeyboardInterrupt):
            raise
        entry["error"] = one_line(exc)
        entry["path"] = spec.origin or ""
        return entry, None
    entry["path"] = module_path(module)
    version = dist_version(name, entry["path"])
    if not version:
        version = str(getattr(module, "__version__", "") or "")
    entry["version"] = version
    return entry, module


def flag_of(modules, names):
    """A boolean global g4f set at import (has_uvloop, has_nest_asyncio), or
    None when this g4f has no such flag."""
    for module in modules:
        for name in names:
            value = vars(module).get(name)
            if isinstance(value, bool):
                return value
    return None


def inspect_g4f():
    info = {"importable": False, "version": "", "path": "", "error": "",
            "nest_module": "", "nest_installed": False,
            "detects_uvloop": None, "detects_nest": None}
    try:
        g4f = importlib.import_module("g4f")
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        info["error"] = one_line(exc)
        return info
    info["importable"] = True
    info["path"] = module_path(g4f)
    info["version"] = g4f_version(g4f, info["path"])
    modules = bridge_modules()
    info["nest_module"] = nest_module_of(modules)
    info["detects_uvloop"] = flag_of(modules, ("has_uvloop",))
    info["detects_nest"] = flag_of(modules, ("has_nest_asyncio", "has_nest_asyncio2"))
    return info


def uvicorn_auto_loop(uvicorn_module, uvloop_importable):
    """The loop `uvicorn --loop auto` (its default) would run on. Every
    uvicorn release so far: uvloop when `import uvloop` works, else asyncio
    (uvloop is not built for Windows or PyPy, so the import is the whole
    test). The auto module is read, not imported, to notice a release that
    stops preferring uvloop."""
    if uvicorn_module is None:
        return ""
    prefers_uvloop = True
    for name in ("uvicorn.loops.auto", "uvicorn._impl.asyncio.loops.auto"):
        try:
            spec = importlib.util.find_spec(name)
        except Exception:
            spec = None
        if spec is None or not spec.origin or not os.path.exists(spec.origin):
            continue
        try:
            with open(spec.origin, encoding="utf-8") as f:
                prefers_uvloop = "uvloop" in f.read()
        except Exception:
            pass
        break
    return "uvloop" if prefers_uvloop and uvloop_importable else "asyncio"


def main(argv):
    stdout = sys.stdout
    sys.stdout = sys.stderr  # g4f prints on import: keep stdout for the report
    policy_at_start = policy_name()

    g4f = inspect_g4f()
    policy_after_g4f = policy_name()

    packages, modules = [], {}
    for name in argv:
        entry, module = inspect_package(name)
        packages.append(entry)
        modules[name] = module
    if g4f["nest_module"]:
        if g4f["nest_module"] in modules:
            g4f["nest_installed"] = modules[g4f["nest_module"]] is not None
        else:
            g4f["nest_installed"] = inspect_package(g4f["nest_module"])[1] is not None

    if "uvloop" in modules:
        uvloop_importable = modules["uvloop"] is not None
    else:
        uvloop_importable = inspect_package("uvloop")[1] is not None
    uvicorn = modules.get("uvicorn")
    if "uvicorn" not in modules:
        uvicorn = inspect_package("uvicorn")[1]

    set_by = ""
    if policy_after_g4f != policy_at_start:
        set_by = "g4f import"
    elif policy_at_start and not policy_at_start.startswith("asyncio."):
        set_by = "startup"

    report = {
        "python": sys.executable,
        "python_version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": sys.platform,
        "g4f": g4f,
        "packages": packages,
        "uvicorn_loop": uvicorn_auto_loop(uvicorn, uvloop_importable),
        "loop_policy": policy_after_g4f,
        "loop_policy_set_by": set_by,
    }
    line = PREFIX + json.dumps(report, ensure_ascii=True, default=str)
    stdout.write("\n" + line + "\n")
    stdout.flush()
    sys.stderr.flush()
    # Threads g4f started on import must not keep the process alive.
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
