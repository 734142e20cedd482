"""The OpenAI-style clients: Client (sync) and AsyncClient."""

import time
import uuid

from ..providers.calls import iter_async, iter_sync, resolve_provider
from .stubs import ChatCompletion, ChatCompletionChunk


def _completion_id():
    return "chatcmpl-" + uuid.uuid4().hex[:12]


class _SyncCompletions:
    def __init__(self, client):
        self.client = client

    def create(self, model="", messages=(), provider=None, stream=False, **kwargs):
        """A ChatCompletion, or with stream=True an iterator of chunks."""
        cls = resolve_provider(provider or self.client.provider)
        chunks = iter_sync(cls, model, messages, stream, **kwargs)
        if stream:
            return _sync_chunks(chunks, cls.get_model(model), cls.__name__)
        return ChatCompletion(_completion_id(), "".join(str(c) for c in chunks),
                              cls.get_model(model), cls.__name__)


def _sync_chunks(chunks, model, provider):
    cid = _completion_id()
    for chunk in chunks:
        yield ChatCompletionChunk(cid, str(chunk), model, provider)
    yield ChatCompletionChunk(cid, None, model, provider, finish_reason="stop")


class _AsyncCompletions:
    def __init__(self, client):
        self.client = client

    def create(self, model="", messages=(), provider=None, stream=False, **kwargs):
        """An async iterator of chunks with stream=True, else an awaitable
        ChatCompletion."""
        cls = resolve_provider(provider or self.client.provider)
        if stream:
            return _async_chunks(cls, model, messages, **kwargs)
        return _async_completion(cls, model, messages, **kwargs)


async def _async_chunks(cls, model, messages, **kwargs):
    cid = _completion_id()
    async for chunk in iter_async(cls, model, messages, True, **kwargs):
        yield ChatCompletionChunk(cid, str(chunk), cls.get_model(model), cls.__name__)
    yield ChatCompletionChunk(cid, None, cls.get_model(model), cls.__name__, finish_reason="stop")


async def _async_completion(cls, model, messages, **kwargs):
    parts = []
    async for chunk in iter_async(cls, model, messages, False, **kwargs):
        parts.append(str(chunk))
    return ChatCompletion(_completion_id(), "".join(parts), cls.get_model(model), cls.__name__)


class _Chat:
    def __init__(self, completions):
        self.completions = completions


class Client:
    """client.chat.completions.create(model=, messages=, provider=, stream=)"""

    def __init__(self, provider=None, **kwargs):
        self.provider = provider
        self.created = int(time.time())
        self.chat = _Chat(_SyncCompletions(self))


class AsyncClient:
    """await client.chat.completions.create(...), or async for with stream=True."""

    def __init__(self, provider=None, **kwargs):
        self.provider = provider
        self.chat = _Chat(_AsyncCompletions(self))
