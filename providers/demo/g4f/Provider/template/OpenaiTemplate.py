from ...errors import MissingAuthError, ResponseError
from ...providers.base_provider import AsyncGeneratorProvider
from ...requests import StreamSession, raise_for_status, sse_stream


class OpenaiTemplate(AsyncGeneratorProvider):
    """g4f's base for OpenAI-compatible APIs: POST {base_url}/chat/completions
    with an API key, answered in JSON or, with stream=True, in server-sent
    events. Real aiohttp, real status checks, real SSE parsing.

    A subclass sets base_url (api_base in older releases) and, when the API
    needs one, api_key; callers may pass either as arguments instead.
    """

    url = None
    base_url = ""
    api_base = None
    api_key = None
    needs_auth = False
    default_model = ""
    models = []
    timeout = 120

    @classmethod
    async def create_async_generator(cls, model, messages, stream=True, api_key=None,
                                     base_url=None, api_base=None, timeout=None, **kwargs):
        api_key = api_key or cls.api_key
        base_url = base_url or api_base or cls.base_url or cls.api_base
        if cls.needs_auth and not api_key:
            raise MissingAuthError('Add a "api_key"')
        if not base_url:
            raise NotImplementedError("No base_url or backup_url specified.")
        headers = {"Accept": "text/event-stream" if stream else "application/json",
                   "Content-Type": "application/json"}
        if api_key:
            headers["Authorization"] = "Bearer %s" % api_key
        data = {"model": cls.get_model(model), "messages": list(messages), "stream": bool(stream)}
        async with StreamSession(headers=headers, timeout=timeout or cls.timeout) as session:
            async with session.post("%s/chat/completions" % base_url.rstrip("/"), json=data) as response:
                async for chunk in read_response(response, stream):
                    yield chunk

    @staticmethod
    def raise_error(data, status=None):
        """An error the answer's JSON carries, as g4f raises it."""
        if "error_message" in data:
            raise ResponseError(data["error_message"])
        if "error" in data:
            error = data["error"]
            if isinstance(error, str):
                if status == 401:
                    raise MissingAuthError("Error %s: %s" % (status, error))
                raise ResponseError("Error %s: %s" % (status, error) if status else error)
            if isinstance(error, dict) and "code" in error:
                raise ResponseError("Error %s: %s" % (error["code"], error.get("message")))
            if isinstance(error, dict) and "message" in error:
                raise ResponseError(error["message"])
            raise ResponseError(error)


async def read_response(response, stream):
    """The answer's text: a JSON completion (its error first, as g4f reads
    it), or the deltas of an event stream."""
    content_type = response.headers.get("content-type", "text/event-stream" if stream else "application/json")
    if content_type.startswith("application/json"):
        data = await response.json()
        OpenaiTemplate.raise_error(data, response.status)
        await raise_for_status(response)
        choice = next(iter(data.get("choices") or []), None)
        content = ((choice or {}).get("message") or {}).get("content")
        if content:
            yield content.strip()
    elif content_type.startswith("text/event-stream"):
        await raise_for_status(response)
        first = True
        async for data in sse_stream(response):
            OpenaiTemplate.raise_error(data)
            choice = next(iter(data.get("choices") or []), None)
            content = ((choice or {}).get("delta") or {}).get("content")
            if content and first:
                content = content.lstrip()
            if content:
                first = False
                yield content
    else:
        await raise_for_status(response)
        raise ResponseError("Unexpected content type: %s" % content_type)
