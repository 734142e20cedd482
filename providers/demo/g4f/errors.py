"""The exception classes g4f users and tools match on."""


class G4FError(Exception):
    """Base of the miniature's own errors."""


class ProviderNotFoundError(G4FError):
    """No provider of that name."""


class ProviderNotWorkingError(G4FError):
    """The provider class is marked working = False."""


class MissingAuthError(G4FError):
    """The provider needs an api_key or a cookie."""


class MissingRequirementsError(G4FError):
    """An optional package the provider needs is not installed."""


class NestAsyncioError(MissingRequirementsError):
    """A sync call inside a running loop needs nest_asyncio."""


class RateLimitError(G4FError):
    """The provider refused: too many requests."""


class ResponseError(G4FError):
    """The provider's server answered with an error in its body."""


class ResponseStatusError(G4FError):
    """The provider's server answered with an HTTP error status."""
