from ..providers.base_provider import AbstractProvider


class EchoSync(AbstractProvider):
    """Healthy sync provider: answers everywhere."""

    url = "http://127.0.0.1/echo-sync"

    @classmethod
    def create_completion(cls, model, messages, stream=False, **kwargs):
        said = cls.last_user_message(messages)
        for piece in ("Echo", " (", cls.get_model(model), "): ", said):
            yield piece
