import asyncio

from ..providers.base_provider import AsyncProvider


class RunAsync(AsyncProvider):
    """A create_async provider: sync callers reach it through
    AsyncProvider.create_completion -> asyncio.run, which refuses to run
    inside a running loop unless nest_asyncio replaced it."""

    url = "http://127.0.0.1/run-async"
    supports_stream = False

    @classmethod
    async def create_async(cls, model, messages, **kwargs):
        await asyncio.sleep(0.005)
        return "Answer from %s via create_async" % cls.get_model(model)
