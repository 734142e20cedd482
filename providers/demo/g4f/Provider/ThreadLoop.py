import asyncio

from ..providers.asyncio import get_running_loop
from ..providers.base_provider import AbstractProvider


class ThreadLoop(AbstractProvider):
    """A sync provider that expects a loop bound to its thread.

    asyncio.get_event_loop() raises "There is no current event loop in
    thread ..." on plain threads (thread pools, asyncio.to_thread workers);
    where a loop is running, run_until_complete re-enters it.
    """

    url = "http://127.0.0.1/thread-loop"

    @classmethod
    async def _answer(cls, model):
        await asyncio.sleep(0.005)
        return "Answer from %s on the thread's loop" % model

    @classmethod
    def create_completion(cls, model, messages, stream=False, **kwargs):
        loop = asyncio.get_event_loop()
        running = get_running_loop(check_nested=False)
        if running is not None:
            loop = running
        coro = cls._answer(cls.get_model(model))
        try:
            answer = loop.run_until_complete(coro)
        except BaseException:
            coro.close()
            raise
        yield answer
