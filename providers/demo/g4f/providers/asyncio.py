"""The sync <-> async bridge, built the way g4f builds it.

Which loop helpers exist is decided once, at import: g4fdiag's loop variants
rely on that (they make uvloop / nest_asyncio unimportable before g4f is
imported).
"""

import asyncio

try:
    import uvloop
    has_uvloop = True
except ImportError:
    has_uvloop = False

try:
    import nest_asyncio
    has_nest_asyncio = True
except ImportError:
    has_nest_asyncio = False

from ..errors import NestAsyncioError


def get_running_loop(check_nested):
    """The loop running in this thread, made re-entrant when possible.

    None when no loop runs here. A uvloop loop comes back untouched:
    nest_asyncio cannot patch it. A stdlib loop gets nest_asyncio applied
    when the package is there; without it, check_nested=True raises
    NestAsyncioError and check_nested=False hands back the loop as it is
    (so re-entering it fails later with the loop's own error).
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    if has_uvloop and isinstance(loop, uvloop.Loop):
        return loop
    if not getattr(loop, "_nest_patched", False):
        if has_nest_asyncio:
            nest_asyncio.apply(loop)
        elif check_nested:
            raise NestAsyncioError('Install "nest_asyncio" to call g4f from a running event loop')
    return loop


def to_sync_generator(agen):
    """Drive an async generator from sync code, one chunk at a time.

    Uses the loop already running in this thread when there is one (the
    re-entry g4fdiag diagnoses), else a private loop closed at the end.
    """
    loop = get_running_loop(check_nested=False)
    own_loop = loop is None
    if own_loop:
        loop = asyncio.new_event_loop()
    iterator = agen.__aiter__()
    try:
        while True:
            try:
                chunk = loop.run_until_complete(iterator.__anext__())
            except StopAsyncIteration:
                break
            yield chunk
    finally:
        if own_loop:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
