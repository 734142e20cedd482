import asyncio

from ..providers.base_provider import AbstractProvider


class DeadlockLoop(AbstractProvider):
    """A sync provider that hands its async work to "the" loop.

    When its calling thread is running an event loop, it schedules the work
    on that very loop with run_coroutine_threadsafe and blocks on .result():
    the loop thread now waits for itself, forever. With no loop running it
    uses asyncio.run and answers.
    """

    url = "http://127.0.0.1/deadlock-loop"

    @classmethod
    async def _answer(cls, model):
        await asyncio.sleep(0.005)
        return "Answer from %s" % model

    @classmethod
    def create_completion(cls, model, messages, stream=False, **kwargs):
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        model = cls.get_model(model)
        if loop is None:
            yield asyncio.run(cls._answer(model))
            return
        future = asyncio.run_coroutine_threadsafe(cls._answer(model), loop)
        yield future.result()
