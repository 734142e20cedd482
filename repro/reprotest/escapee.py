"""Providers that start a process in a session of their own and leave it
there, as browsers and web drivers do: the containment tests add them to a
copy of the miniature g4f (g4f/Provider/Escapee.py) and check that g4fdiag
kills what they left. The left process has ESCAPEE_MARK (from the
environment) and "-left" in its argv, so a test can find it in /proc.

    Escapee       leaves the process, then answers
    EscapeeHang   leaves the process, then hangs past any cell deadline
"""

import os
import subprocess
import sys
import time

from ..providers.base_provider import AbstractProvider

# The double fork: the first child moves to a new session and forks the
# sleeper, then exits; the sleeper has no parent left in the cell. It runs
# with MARK-left in its argv: a test waits for that to know it has left.
LEAVE = """import os, sys
os.setsid()
if os.fork():
    os._exit(0)
os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(300)",
                          sys.argv[1] + "-left"])
"""


def leave_a_process():
    mark = os.environ.get("ESCAPEE_MARK", "escapee")
    subprocess.run([sys.executable, "-c", LEAVE, mark], check=True, timeout=60,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


class Escapee(AbstractProvider):
    url = "http://127.0.0.1/escapee"

    @classmethod
    def create_completion(cls, model, messages, stream=False, **kwargs):
        leave_a_process()
        yield "escaped"


class EscapeeHang(AbstractProvider):
    url = "http://127.0.0.1/escapee-hang"

    @classmethod
    def create_completion(cls, model, messages, stream=False, **kwargs):
        leave_a_process()
        time.sleep(300)
        yield "never"
