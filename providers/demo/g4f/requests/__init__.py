"""HTTP for providers, the way g4f does it without curl_cffi: an aiohttp
session, g4f's status check and g4f's server-sent events reader."""

import json

from aiohttp import ClientSession, ClientTimeout

from .raise_for_status import raise_for_status


class StreamSession(ClientSession):
    """An aiohttp session with g4f's timeout argument (seconds)."""

    def __init__(self, headers=None, timeout=None, **kwargs):
        if isinstance(timeout, (int, float)):
            timeout = ClientTimeout(total=timeout)
        super().__init__(headers=headers, timeout=timeout or ClientTimeout(total=120), **kwargs)


async def sse_stream(response):
    """The JSON object of each data: line, up to data: [DONE]."""
    async for line in response.content:
        if line.startswith(b"data:"):
            rest = line[5:].strip()
            if not rest:
                continue
            if rest.startswith(b"[DONE]"):
                break
            try:
                yield json.loads(rest)
            except json.JSONDecodeError:
                raise ValueError("Invalid JSON data: %s" % (rest,))
