"""g4f's check of an HTTP answer: its error types and messages, which the
errors users see (and g4fdiag's classifier reads) quote."""

from ..errors import MissingAuthError, RateLimitError, ResponseStatusError


async def raise_for_status(response, message=None):
    if response.ok:
        return
    is_html = False
    if message is None:
        content_type = response.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            message = await response.json()
            message = message.get("error", message)
            if isinstance(message, dict):
                message = message.get("message", message)
        else:
            message = (await response.text()).strip()
            is_html = content_type.startswith("text/html") or message.startswith("<!DOCTYPE")
    if message is None or is_html:
        if response.status in (429, 402):
            message = "Rate limit"
    if response.status == 401:
        raise MissingAuthError("Response %d: %s" % (response.status, message))
    if response.status == 504:
        raise RateLimitError("Response %d: Gateway Timeout " % response.status)
    raise ResponseStatusError("Response %d: %s" % (response.status, "HTML content" if is_html else message))
