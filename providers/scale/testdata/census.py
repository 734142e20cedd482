"""The scale fixture seen from Python, for providers/scale's tests.

    python3 census.py OUT.json [--uvloop]

Imports g4f from PYTHONPATH (the generated fixture), counts its provider
classes by their attributes, and calls every provider directly — its own
create_completion, past g4f's working check — from threads with no running
loop: once alone, once more after that, and twice at once. With --uvloop,
the loops the calls make are uvloop's. Writes what it saw as JSON to OUT
(stdout is the providers' own).
"""

import asyncio
import json
import sys
import threading
import urllib.error

HANG_S = 1.5  # a call still running after this long counts as a hang
MESSAGES = [{"role": "user", "content": "Say hello in one word."}]


def classify(exc):
    from g4f import errors
    if isinstance(exc, errors.MissingAuthError):
        return "auth"
    if isinstance(exc, errors.MissingRequirementsError):
        return "missing-requirements"
    if isinstance(exc, errors.ProviderNotWorkingError):
        return "not-working"
    if isinstance(exc, (ConnectionError, urllib.error.URLError)):
        return "network"
    if isinstance(exc, RuntimeError):
        text = str(exc)
        if "already running" in text:
            return "loop-reentry"
        if "Event loop is closed" in text:
            return "loop-closed"
        if "different loop" in text:
            return "loop-mismatch"
    return "provider-error"


def start(cls):
    """One direct call on a thread of its own; returns the thread and the
    slot its outcome lands in."""
    slot = {}

    def call():
        try:
            chunks = cls.create_completion(cls.default_model, MESSAGES, stream=True)
            "".join(str(chunk) for chunk in chunks)
            slot["outcome"] = "ok"
        except BaseException as exc:
            slot["outcome"] = classify(exc)
            slot["error"] = "%s: %s" % (type(exc).__name__, exc)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    return thread, slot


def finish(thread, slot):
    thread.join(HANG_S)
    if thread.is_alive():
        return "hang", ""
    return slot["outcome"], slot.get("error", "")


def main():
    out = sys.argv[1]
    if "--uvloop" in sys.argv[2:]:
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    import g4f  # noqa: F401  (prints, like real g4f)
    from g4f import Provider
    from g4f.providers.base_provider import AsyncGeneratorProvider

    classes = list(Provider.__providers__)
    seen = {}
    # Alone: every provider's first call in this process, the hangs side by side.
    started = [(cls, start(cls)) for cls in classes]
    for cls, (thread, slot) in started:
        async_gen = issubclass(cls, AsyncGeneratorProvider)
        outcome, error = finish(thread, slot)
        seen[cls.__name__] = {
            "working": bool(cls.working), "needs_auth": bool(cls.needs_auth),
            "shape": "async-generator" if async_gen else "sync",
            "alone": outcome, "error": error,
        }
    for cls in classes:
        entry = seen[cls.__name__]
        if entry["alone"] == "hang":
            continue
        # After: a second call in the same process, once the first is over.
        entry["after"] = finish(*start(cls))[0]
        # Together: two calls in flight at once.
        pair = [start(cls), start(cls)]
        entry["together"] = sorted(finish(*call)[0] for call in pair)

    working_async = [c for c in classes if c.working and issubclass(c, AsyncGeneratorProvider)]
    counts = {
        "providers": len(classes),
        "names": len(Provider.ProviderUtils.convert),
        "not_working": sum(1 for c in classes if not c.working),
        "needs_auth": sum(1 for c in classes if c.needs_auth),
        "uvloop_breaking": len(working_async),
        "uvloop_breaking_auth": sum(1 for c in working_async if c.needs_auth),
    }
    with open(out, "w") as f:
        json.dump({"counts": counts, "providers": seen}, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
