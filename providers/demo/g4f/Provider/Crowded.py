import asyncio
import threading

from ..providers.base_provider import AbstractProvider

# One private loop shared by every call, created on first use (after any
# loop policy is in place, so it is a uvloop loop under uvloop's policy).
_loop = None
_loop_lock = threading.Lock()


def _shared_loop():
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
        return _loop


class Crowded(AbstractProvider):
    """Fails only under concurrency.

    Each call drives the shared loop with run_until_complete from a helper
    thread it starts and joins (so the caller's own loop does not matter).
    One call at a time is fine; two overlapping calls find the loop already
    running.
    """

    url = "http://127.0.0.1/crowded"

    @classmethod
    async def _answer(cls, model):
        await asyncio.sleep(0.2)
        return "Answer from %s after a queue" % model

    @classmethod
    def create_completion(cls, model, messages, stream=False, **kwargs):
        loop = _shared_loop()
        outcome = {}

        def drive():
            coro = cls._answer(cls.get_model(model))
            try:
                outcome["answer"] = loop.run_until_complete(coro)
            except BaseException as exc:
                coro.close()
                outcome["error"] = exc

        helper = threading.Thread(target=drive, name="Crowded-driver", daemon=True)
        helper.start()
        helper.join()
        if "error" in outcome:
            raise outcome["error"]
        yield outcome["answer"]
