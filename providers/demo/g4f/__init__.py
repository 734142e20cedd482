"""A miniature gpt4free (g4f) for g4fdiag's demo and tests.

It has the public surface g4fdiag's harness uses (g4f.Provider,
g4f.client.Client / AsyncClient, g4f.ChatCompletion, g4f.errors) and one
provider per failure mechanism (see g4f/Provider/__init__.py). Every failure
happens for real, through real asyncio, uvloop and nest_asyncio: no provider
raises a hand-written copy of a loop error message.
"""

__version__ = "0.0.1+miniature"

from . import errors
from .providers.calls import resolve_provider, iter_sync, iter_async
from . import Provider

# Real g4f checks PyPI for a newer release on import and prints about it;
# the miniature prints too, so tools must cope with prints on stdout.
print("miniature g4f: version check skipped (offline)")


class ChatCompletion:
    """The old call style: plain strings in, plain strings out."""

    @staticmethod
    def create(model, messages, provider=None, stream=False, **kwargs):
        cls = resolve_provider(provider)
        chunks = iter_sync(cls, model, messages, stream, **kwargs)
        if stream:
            return (str(chunk) for chunk in chunks)
        return "".join(str(chunk) for chunk in chunks)

    @staticmethod
    def create_async(model, messages, provider=None, stream=False, **kwargs):
        """An async iterator of strings with stream=True, else a coroutine."""
        cls = resolve_provider(provider)
        if stream:
            return _stream_strings(cls, model, messages, **kwargs)
        return _join_strings(cls, model, messages, **kwargs)


async def _stream_strings(cls, model, messages, **kwargs):
    async for chunk in iter_async(cls, model, messages, True, **kwargs):
        yield str(chunk)


async def _join_strings(cls, model, messages, **kwargs):
    parts = []
    async for chunk in iter_async(cls, model, messages, False, **kwargs):
        parts.append(str(chunk))
    return "".join(parts)
