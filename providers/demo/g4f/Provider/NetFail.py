import socket
import urllib.request

from ..providers.base_provider import AbstractProvider


def _closed_port():
    """A loopback port nobody listens on: bound, read, released."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NetFail(AbstractProvider):
    """Always fails with a real network error (connection refused), fast and
    without touching any external network."""

    url = "http://127.0.0.1/net-fail"

    @classmethod
    def create_completion(cls, model, messages, stream=False, **kwargs):
        endpoint = "http://127.0.0.1:%d/v1/chat/completions" % _closed_port()
        # Real providers print as they go; tools must keep this off their protocol.
        print("NetFail: POST %s" % endpoint)
        with urllib.request.urlopen(endpoint, data=b"{}", timeout=5) as response:
            yield response.read().decode("utf-8", "replace")
