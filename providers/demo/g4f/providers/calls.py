"""How the public entry points drive each kind of provider."""

import asyncio
import contextvars
import functools

from ..errors import ProviderNotFoundError, ProviderNotWorkingError
from .base_provider import AsyncGeneratorProvider, AsyncProvider, BaseProvider

_END = object()


def resolve_provider(provider):
    """A provider class from a class or a name."""
    if isinstance(provider, type) and issubclass(provider, BaseProvider):
        return provider
    if isinstance(provider, str):
        from ..Provider import ProviderUtils
        if provider in ProviderUtils.convert:
            return ProviderUtils.convert[provider]
    raise ProviderNotFoundError("Provider not found: %s" % (provider,))


def _check(cls):
    if not cls.working:
        raise ProviderNotWorkingError("%s is not working" % cls.__name__)


def iter_sync(cls, model, messages, stream, **kwargs):
    """The chunks of a sync call: every kind goes through create_completion."""
    _check(cls)
    return cls.create_completion(cls.get_model(model), list(messages), stream=stream, **kwargs)


async def _to_thread(func, *args):
    if hasattr(asyncio, "to_thread"):
        return await asyncio.to_thread(func, *args)
    ctx = contextvars.copy_context()
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(ctx.run, func, *args))


async def iter_async(cls, model, messages, stream, **kwargs):
    """The chunks of an async call: async generators iterated, coroutines
    awaited, sync providers run on a worker thread chunk by chunk."""
    _check(cls)
    model, messages = cls.get_model(model), list(messages)
    if issubclass(cls, AsyncGeneratorProvider):
        async for chunk in cls.create_async_generator(model, messages, stream=stream, **kwargs):
            yield chunk
    elif issubclass(cls, AsyncProvider):
        yield await cls.create_async(model, messages, **kwargs)
    else:
        chunks = await _to_thread(lambda: iter(cls.create_completion(
            model, messages, stream=stream, **kwargs)))
        while True:
            chunk = await _to_thread(next, chunks, _END)
            if chunk is _END:
                break
            yield chunk
