"""The miniature's providers, one per failure mechanism g4fdiag must tell apart.

    EchoSync      healthy sync provider
    StreamAsync   healthy async generator; fails only when sync-wrapped inside
                  a running loop without nest_asyncio (stdlib or uvloop)
    RunAsync      create_async provider that sync callers reach via asyncio.run
    DeadlockLoop  blocks the loop thread on a future only that loop can finish
    ThreadLoop    needs asyncio.get_event_loop() to find a loop in its thread
    StallStream   streams two chunks, then waits forever
    NetFail       real connection refused on a closed loopback port
    AuthNeeded    needs an api_key
    Crowded       shares one private loop across calls: fails when calls overlap
    Retired       working = False

Like real g4f, the package also has the base OpenAI-compatible providers
build on (template.OpenaiTemplate: base URL, API key, JSON or server-sent
events over real aiohttp) and needs_auth.OpenaiAPI on top of it. They are
imported on demand and left out of __providers__: scans of the demo list
the providers above only, and the probes (g4fdiag check --probe) point
those bases at g4fdiag's loopback upstream.
"""

from .AuthNeeded import AuthNeeded
from .Crowded import Crowded
from .DeadlockLoop import DeadlockLoop
from .EchoSync import EchoSync
from .NetFail import NetFail
from .Retired import Retired
from .RunAsync import RunAsync
from .StallStream import StallStream
from .StreamAsync import StreamAsync
from .ThreadLoop import ThreadLoop

__providers__ = [EchoSync, StreamAsync, RunAsync, DeadlockLoop, ThreadLoop,
                 StallStream, NetFail, AuthNeeded, Crowded, Retired]
__all__ = [cls.__name__ for cls in __providers__]
__map__ = {cls.__name__: cls for cls in __providers__}


class ProviderUtils:
    convert = dict(__map__)
