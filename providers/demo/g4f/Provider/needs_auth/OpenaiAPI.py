from ..template import OpenaiTemplate


class OpenaiAPI(OpenaiTemplate):
    """OpenAI's own API: needs an api_key; base_url (api_base) points it at
    any OpenAI-compatible server instead."""

    label = "OpenAI API"
    url = "https://platform.openai.com"
    base_url = "https://api.openai.com/v1"
    api_base = base_url
    working = True
    needs_auth = True
