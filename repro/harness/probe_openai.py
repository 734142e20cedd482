"""ProbeOpenAI: g4fdiag's probe provider on the installed g4f's own
OpenAI-compatible base, pointed at g4fdiag's loopback upstream.

g4fdiag (Go) embeds this file and writes it beside harness.py. It defines
one thing: define(g4f), which returns the ProbeOpenAI class, or a string
"unavailable: <reason>" when this g4f cannot have it. The caller registers
the class into g4f; nothing here touches g4f's tables.

The upstream's base URL (".../v1") comes from the environment variable
G4FDIAG_UPSTREAM, which g4fdiag sets for its workers and for the API
servers it spawns. The upstream chooses what to do from the model a call
asks for ("probe" answers, "probe-stall" stalls mid-stream, "probe-401",
"probe-429" and "probe-500" refuse, "probe-malformed" breaks a frame,
"probe-close" hangs up): ProbeOpenAI lists those models, so g4f's own model
check lets them through, and changes nothing else of its base: the request,
the status check, the JSON and server-sent events parsing and the errors
raised are the installed g4f's own.
"""

import importlib
import inspect
import os

UPSTREAM_ENV = "G4FDIAG_UPSTREAM"
PROBE_NAME = "ProbeOpenAI"
PROBE_KEY = "sk-g4fdiag-probe"  # a key for bases that want one; the upstream checks none

# The models the upstream knows (repro/upstream: Behaviours), "probe" first.
MODELS = ["probe", "probe-slow", "probe-stall", "probe-401", "probe-429",
          "probe-500", "probe-malformed", "probe-close"]

# g4f's OpenAI-compatible bases, newest first: OpenaiTemplate (2025-2026
# releases: base_url), OpenaiAPI (api_base), Openai (0.2-0.3: api_base as a
# create_async_generator argument only).
BASES = (("g4f.Provider.template", "OpenaiTemplate"),
         ("g4f.Provider.needs_auth", "OpenaiAPI"),
         ("g4f.Provider", "OpenaiAPI"),
         ("g4f.Provider.needs_auth", "Openai"),
         ("g4f.Provider", "Openai"))

# The names g4f's OpenAI-compatible bases take the base URL by.
URL_NAMES = ("base_url", "api_base")


def find_base():
    """(class, "module.Name") of the first base this g4f has, or
    (None, why) listing what was looked for."""
    missing = []
    for module_name, name in BASES:
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            missing.append("%s (%s: %s)" % (module_name, type(exc).__name__, exc))
            continue
        cls = getattr(module, name, None)
        if inspect.isclass(cls) and hasattr(cls, "create_async_generator"):
            return cls, "%s.%s" % (module_name, name)
        missing.append("%s.%s" % (module_name, name))
    return None, "looked for " + ", ".join(missing)


def parameters(func):
    try:
        return inspect.signature(func).parameters
    except (TypeError, ValueError):
        return {}


def upstream_of(environ):
    environ = os.environ if environ is None else environ
    return (environ.get(UPSTREAM_ENV) or "").strip()


def on_upstream(base, where, name, upstream):
    """A subclass of base, named name, that runs base's own code against the
    upstream: the base URL and a key given the way base takes them, the
    upstream's models listed, nothing else changed. A string
    "unavailable: ..." when base takes no base URL."""
    params = parameters(base.create_async_generator)
    if not [n for n in URL_NAMES if n in params or hasattr(base, n)]:
        return "unavailable: %s takes no base URL (none of %s)" % (where, ", ".join(URL_NAMES))
    # Arguments the base takes, given unless the caller gave them: the URL
    # and the key reach every release this way, whether it reads them from
    # its arguments or from class attributes.
    inject = {n: upstream for n in URL_NAMES if n in params}
    if "api_key" in params:
        inject["api_key"] = PROBE_KEY

    class Probe(base):
        __doc__ = ("g4fdiag's probe on %s: the installed g4f's own code against the "
                   "loopback upstream at %s." % (where, upstream))
        label = "g4fdiag probe (%s)" % where
        url = upstream
        base_url = upstream
        api_base = upstream
        api_key = PROBE_KEY
        working = True
        needs_auth = False
        supports_stream = True
        supports_system_message = True
        default_model = MODELS[0]
        models = list(MODELS)
        model_aliases = {}
        local_models = []  # Ollama: no native /api/chat models, the OpenAI path only
        parent = where

        @classmethod
        async def create_async_generator(cls, model, messages, **kwargs):
            for key, value in inject.items():
                if kwargs.get(key) is None:
                    kwargs[key] = value
            async for chunk in super().create_async_generator(model, messages, **kwargs):
                yield chunk

    Probe.__name__ = Probe.__qualname__ = name
    return Probe


def define(g4f, environ=None):
    """The ProbeOpenAI class for this g4f, or "unavailable: <reason>"."""
    upstream = upstream_of(environ)
    if not upstream:
        return "unavailable: no loopback upstream (%s is not set)" % UPSTREAM_ENV
    base, where = find_base()
    if base is None:
        return "unavailable: this g4f has no OpenAI-compatible base class (%s)" % where
    return on_upstream(base, where, PROBE_NAME, upstream)


# Real providers that take a base URL, run against the upstream as they are
# but for the URL and key: (module, class). 2026 releases' Ollama asks
# ollama.com for its model list unless it has one: the probe gives it one.
BASE_URL_PROVIDERS = (("g4f.Provider.needs_auth", "OpenaiAPI"),
                      ("g4f.Provider.local", "Ollama"),
                      ("g4f.Provider", "Ollama"))


def define_base_url_providers(g4f, environ=None):
    """{"Upstream<Name>": class or "unavailable: <reason>"} for each real
    provider of BASE_URL_PROVIDERS this g4f has; {} without an upstream."""
    upstream = upstream_of(environ)
    found = {}
    if not upstream:
        return found
    for module_name, class_name in BASE_URL_PROVIDERS:
        name = "Upstream" + class_name
        if name in found:
            continue
        try:
            module = importlib.import_module(module_name)
        except Exception:
            continue
        cls = getattr(module, class_name, None)
        if not (inspect.isclass(cls) and hasattr(cls, "create_async_generator")):
            continue
        found[name] = on_upstream(cls, "%s.%s" % (module_name, class_name), name, upstream)
    return found
