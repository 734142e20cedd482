import asyncio

from ..providers.base_provider import AsyncGeneratorProvider


class StreamAsync(AsyncGeneratorProvider):
    """Healthy async-generator provider.

    Called through the sync client inside a running loop, g4f's
    to_sync_generator re-enters that loop with run_until_complete: fine once
    nest_asyncio has patched a stdlib loop, "This event loop is already
    running" without it, "this event loop is already running." on uvloop.
    """

    url = "http://127.0.0.1/stream-async"
    models = ["mini-1", "mini-stream"]

    @classmethod
    async def create_async_generator(cls, model, messages, stream=True, **kwargs):
        for piece in ("Streamed", " answer", " from", " ", cls.get_model(model)):
            await asyncio.sleep(0.005)
            yield piece
