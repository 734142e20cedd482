"""Request bodies of the miniature's API server (pydantic models, v1 or v2)."""

from typing import List, Optional, Union

from pydantic import BaseModel


class ChatCompletionsConfig(BaseModel):
    """The body of POST /v1/chat/completions, OpenAI style plus g4f's
    "provider" field."""

    messages: List[dict]
    model: str = ""
    provider: Optional[str] = None
    stream: bool = False
    temperature: Optional[float] = None
    max_tokens: Optional[int] = None
    stop: Union[List[str], str, None] = None
    api_key: Optional[str] = None


def config_values(config):
    """The fields a request set, without the unset (None) ones."""
    dump = getattr(config, "model_dump", None)  # pydantic 2
    values = dump(exclude_none=True) if dump is not None else config.dict(exclude_none=True)
    return values
