"""Provider base classes. A provider's kind is the method it implements:
create_completion (sync generator), create_async (coroutine) or
create_async_generator (async generator)."""

import asyncio
from abc import ABC, abstractmethod

from .asyncio import get_running_loop, to_sync_generator


class BaseProvider(ABC):
    url = None
    working = True
    needs_auth = False
    supports_stream = True
    supports_system_message = True
    default_model = "mini-1"
    models = ["mini-1", "mini-2"]
    parent = None

    @classmethod
    def get_model(cls, model):
        return model or cls.default_model

    @staticmethod
    def last_user_message(messages):
        for message in reversed(list(messages or [])):
            if message.get("role") == "user":
                return str(message.get("content", ""))
        return ""


class AbstractProvider(BaseProvider):
    """A sync provider: create_completion yields the answer's chunks."""

    @classmethod
    @abstractmethod
    def create_completion(cls, model, messages, stream=False, **kwargs):
        raise NotImplementedError


class AsyncProvider(AbstractProvider):
    """A coroutine provider; sync callers go through asyncio.run."""

    @classmethod
    def create_completion(cls, model, messages, stream=False, **kwargs):
        # Applies nest_asyncio to a running stdlib loop when it can, which
        # also makes asyncio.run re-entrant; otherwise asyncio.run refuses.
        get_running_loop(check_nested=False)
        coro = cls.create_async(model, messages, **kwargs)
        try:
            answer = asyncio.run(coro)
        except BaseException:
            coro.close()  # never started: no "never awaited" warning
            raise
        yield answer

    @classmethod
    @abstractmethod
    async def create_async(cls, model, messages, **kwargs):
        raise NotImplementedError


class AsyncGeneratorProvider(AsyncProvider):
    """An async-generator provider; sync callers go through to_sync_generator."""

    @classmethod
    def create_completion(cls, model, messages, stream=True, **kwargs):
        yield from to_sync_generator(
            cls.create_async_generator(model, messages, stream=stream, **kwargs))

    @classmethod
    async def create_async(cls, model, messages, **kwargs):
        parts = []
        async for chunk in cls.create_async_generator(model, messages, stream=False, **kwargs):
            parts.append(str(chunk))
        return "".join(parts)

    @classmethod
    @abstractmethod
    def create_async_generator(cls, model, messages, stream=True, **kwargs):
        raise NotImplementedError


# g4f's older name for the sync base.
BaseProviderSync = AbstractProvider
