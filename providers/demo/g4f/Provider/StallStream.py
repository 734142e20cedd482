import asyncio

from ..providers.base_provider import AsyncGeneratorProvider


class StallStream(AsyncGeneratorProvider):
    """Streams two chunks, then waits for an event nobody sets: a stream
    that started and stopped, with the loop itself still free."""

    url = "http://127.0.0.1/stall-stream"

    @classmethod
    async def create_async_generator(cls, model, messages, stream=True, **kwargs):
        yield "First chunk,"
        await asyncio.sleep(0.005)
        yield " second chunk,"
        await asyncio.Event().wait()
        yield " never sent"
