"""g4fdiag's probe providers: providers defined by g4fdiag, registered at run
time into the g4f under test, so that g4f's own code paths (its base
classes, its sync wrapper, its clients, its API server) run with no network
and no key.

g4fdiag writes this file next to harness.py; the harness loads it by path
(never from sys.path) and calls register(g4f) once, after `import g4f` and
before any fork, when G4FDIAG_PROBES=1 is in its environment (Go sets it for
the workers and the API servers of `check --probe`, `repro` and
`providers`). Without it nothing here runs and g4f is left as it is.

Each probe is a subclass of one of g4f's own base classes, built with that
base's metaclass: in the miniature g4f of --demo as in a real release. A
probe whose base the installed g4f lacks (or whose environment value is
missing) is not registered; it is listed as unavailable with the reason,
and its cells end "unavailable", never as errors.

Registration is what g4f itself does for the classes of g4f.Provider: the
class becomes an attribute of the module and an entry of __providers__,
__all__, __map__ and ProviderUtils.convert (the dict g4f.client and the API
server resolve a provider name with). Nothing of g4f's own providers is
touched, and a name g4f already uses for a provider of its own is left to it.

PROBES is the one table of probes. A new probe is one Probe(...) row:

    name    the class name g4f resolves ("provider": "ProbeSync")
    kind    sync, async or async-generator: the method the probe implements
    bases   where releases keep its base class: (module, attribute) pairs,
            the first found wins
    body    body(base, environ) -> the class attributes the probe adds (its
            methods, and any of PROBE_ATTRS it overrides: url, models...);
            environ is os.environ, where the values of `needs` are
    needs   environment variables body reads, e.g. G4FDIAG_UPSTREAM, the
            loopback upstream's base URL that Go sets for workers and API
            servers; one that is unset or empty makes the probe unavailable
            (body is not called)

Stdlib only; the syntax stays valid from Python 3.8 to 3.14.
"""

import asyncio
import importlib
import importlib.util
import os
import sys

MODEL = "probe"
PIECES = ("Probe", " answer", " from ")  # then the class name: a few chunks

# The attributes every probe class carries, whatever its base says.
# supports_stream is True for all: a probe walks g4f's path in every mode,
# streaming ones included.
PROBE_ATTRS = {
    "url": None,
    "working": True,
    "needs_auth": False,
    "supports_stream": True,
    "supports_system_message": True,
    "supports_message_history": True,
    "default_model": MODEL,
    "models": [MODEL],
    "g4fdiag_probe": True,
}


class Probe(object):
    """One row of PROBES (see the module doc). A row with define instead of
    bases and body builds its classes itself: define(g4f, environ) returns
    {name: class, or "unavailable: <reason>"} (the probes on g4f's
    OpenAI-compatible base, probe_openai.py)."""

    def __init__(self, name, kind, bases, body, needs=(), define=None):
        self.name = name
        self.kind = kind
        self.bases = bases
        self.body = body
        self.needs = tuple(needs)
        self.define = define


def base_paths(attr):
    """Where g4f releases keep a base class: g4f.providers.base_provider
    since 0.2 (0.3.5.8 and the 2025-2026 releases alike), re-exported by
    g4f.Provider; g4f.Provider.base_provider before that."""
    return (("g4f.providers.base_provider", attr), ("g4f.Provider", attr),
            ("g4f.Provider.base_provider", attr))


def answer(cls):
    return PIECES + (cls.__name__,)


def async_generator_body(base, environ):
    async def create_async_generator(cls, model, messages, stream=True, **kwargs):
        for piece in answer(cls):
            await asyncio.sleep(0)  # each chunk waits on the loop, as a real stream does
            yield piece
    return {"create_async_generator": classmethod(create_async_generator)}


def async_body(base, environ):
    async def create_async(cls, model, messages, **kwargs):
        await asyncio.sleep(0)
        return "".join(answer(cls))
    return {"create_async": classmethod(create_async)}


def sync_body(base, environ):
    def create_completion(cls, model, messages, stream=False, **kwargs):
        for piece in answer(cls):
            yield piece
    return {"create_completion": classmethod(create_completion)}


def beside(name):
    """The module name.py written beside this file, loaded by path."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".py")
    spec = importlib.util.spec_from_file_location("g4fdiag_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def openai_probes(g4f, environ):
    """ProbeOpenAI on g4f's OpenAI-compatible base, and the real providers
    that take a base URL (UpstreamOpenaiAPI, UpstreamOllama), all pointed at
    the loopback upstream (probe_openai.py)."""
    module = beside("probe_openai")
    found = {"ProbeOpenAI": module.define(g4f, environ)}
    found.update(module.define_base_url_providers(g4f, environ))
    return found


PROBES = [
    Probe("ProbeAsyncGenerator", "async-generator", base_paths("AsyncGeneratorProvider"),
          async_generator_body),
    Probe("ProbeAsync", "async", base_paths("AsyncProvider"), async_body),
    Probe("ProbeSync", "sync", base_paths("AbstractProvider"), sync_body),
    Probe("ProbeOpenAI", "async-generator", (), None, needs=("G4FDIAG_UPSTREAM",),
          define=openai_probes),
]


class Registered(object):
    """The outcome for one probe: its class when registered, else why not."""

    def __init__(self, probe, cls=None, reason=""):
        self.probe = probe
        self.cls = cls
        self.reason = reason


def find_base(paths):
    for module_name, attr in paths:
        try:
            module = importlib.import_module(module_name)
        except Exception:
            continue
        value = getattr(module, attr, None)
        if isinstance(value, type):
            return value
    return None


def build(probe, environ):
    """The probe's class, or (None, reason)."""
    missing = [name for name in probe.needs if not environ.get(name)]
    if missing:
        return None, "%s is not set (g4fdiag sets it when it runs the probe's server)" % ", ".join(missing)
    base = find_base(probe.bases)
    if base is None:
        where = ", ".join(sorted(set("%s.%s" % p for p in probe.bases)))
        return None, "this g4f has no %s base class (looked for %s)" % (probe.bases[0][1], where)
    # A list of its own per class: g4f may extend a provider's models.
    attrs = dict((k, list(v) if isinstance(v, list) else v) for k, v in PROBE_ATTRS.items())
    attrs["__module__"] = "g4fdiag_probes"
    attrs["__doc__"] = "g4fdiag probe on g4f's %s: no network, no key." % base.__name__
    try:
        attrs.update(probe.body(base, environ))
        cls = type(base)(probe.name, (base,), attrs)
    except Exception as exc:
        return None, "building %s on %s failed: %s: %s" % (probe.name, base.__name__, type(exc).__name__, exc)
    left = getattr(cls, "__abstractmethods__", None)
    if left:
        return None, "%s leaves %s abstract on this g4f" % (base.__name__, ", ".join(sorted(left)))
    return cls, ""


def install(module, cls):
    """Make cls one of g4f.Provider's providers, the way g4f lists its own."""
    name = cls.__name__
    setattr(module, name, cls)
    providers = getattr(module, "__providers__", None)
    if isinstance(providers, list):
        if cls not in providers:
            providers.append(cls)
    elif isinstance(providers, tuple):
        setattr(module, "__providers__", providers + (cls,))
    names = getattr(module, "__all__", None)
    if isinstance(names, list) and name not in names:
        names.append(name)
    for table in (getattr(module, "__map__", None),
                  getattr(getattr(module, "ProviderUtils", None), "convert", None)):
        if isinstance(table, dict):
            table[name] = cls


def taken(module, name):
    """Whether g4f has a provider of its own by that name."""
    value = getattr(module, name, None)
    if value is not None and not getattr(value, "g4fdiag_probe", False):
        return True
    convert = getattr(getattr(module, "ProviderUtils", None), "convert", None)
    return isinstance(convert, dict) and name in convert and \
        not getattr(convert[name], "g4fdiag_probe", False)


def register(g4f, environ=None):
    """Register every probe of PROBES into g4f; one Registered per probe,
    in table order."""
    environ = os.environ if environ is None else environ
    module = sys.modules.get("g4f.Provider") or getattr(g4f, "Provider", None)
    if module is None:
        try:
            module = importlib.import_module("g4f.Provider")
        except Exception:
            module = None
    out = []
    for probe in PROBES:
        if module is None:
            out.append(Registered(probe, reason="this g4f has no g4f.Provider module"))
            continue
        if taken(module, probe.name):
            out.append(Registered(probe, reason="g4f has a provider of its own named %s" % probe.name))
            continue
        if probe.define is None:
            out.append(installed(module, probe, *build(probe, environ)))
            continue
        missing = [name for name in probe.needs if not environ.get(name)]
        if missing:
            out.append(Registered(probe, reason="%s is not set (g4fdiag sets it when it runs the "
                                  "probe's server)" % ", ".join(missing)))
            continue
        try:
            found = probe.define(g4f, environ)
        except Exception as exc:
            out.append(Registered(probe, reason="defining it failed: %s: %s" % (type(exc).__name__, exc)))
            continue
        for name, cls in found.items():
            row = Probe(name, probe.kind, (), None, probe.needs)
            if isinstance(cls, str):
                out.append(Registered(row, reason=cls.replace("unavailable: ", "", 1)))
            elif taken(module, name):
                out.append(Registered(row, reason="g4f has a provider of its own named %s" % name))
            else:
                cls.g4fdiag_probe = True
                out.append(installed(module, row, cls, ""))
    return out


def installed(module, probe, cls, reason):
    """Registered for probe: cls installed into g4f.Provider, or why not."""
    if cls is not None:
        try:
            install(module, cls)
        except Exception as exc:
            cls, reason = None, "registering it in g4f.Provider failed: %s: %s" % (type(exc).__name__, exc)
    return Registered(probe, cls, reason)
