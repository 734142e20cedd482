from ..errors import ProviderNotWorkingError
from ..providers.base_provider import AbstractProvider


class Retired(AbstractProvider):
    """Marked not working: never meant to be run."""

    url = "http://127.0.0.1/retired"
    working = False
    parent = "EchoSync"

    @classmethod
    def create_completion(cls, model, messages, stream=False, **kwargs):
        raise ProviderNotWorkingError("%s is not working" % cls.__name__)
        yield  # a generator, like every create_completion
