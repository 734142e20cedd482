from ..errors import MissingAuthError
from ..providers.base_provider import AbstractProvider


class AuthNeeded(AbstractProvider):
    """Needs an api_key, which g4fdiag never passes."""

    url = "http://127.0.0.1/auth-needed"
    needs_auth = True
    default_model = "mini-pro"
    models = ["mini-pro"]

    @classmethod
    def create_completion(cls, model, messages, stream=False, api_key=None, **kwargs):
        if not api_key:
            raise MissingAuthError('Add a "api_key" to use %s' % cls.__name__)
        yield "Authorised answer"
