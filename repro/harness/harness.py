"""g4fdiag worker harness: runs gpt4free (g4f) calls inside one event-loop variant.

g4fdiag (Go) embeds this file, writes it to a temp dir and starts

    python -u harness.py --loop {asyncio|nest|uvloop} --dump PATH

with the caller's environment. A worker imports g4f once and then forks a
fresh child for every request that runs g4f code (run, catalog): the fork
server itself stays single-threaded, with no event loop, and never runs a
provider, so no cell sees what another left behind (a nest_asyncio patch,
a provider's class attributes, threads, a loop policy). Each child runs its
cell on a thread of its own with a loop of its own, in a process group of
its own, and exits when done. Where fork is unavailable or unsafe (see
fork_safety; G4FDIAG_FORK=0 forces it), the worker serves cells itself on
threads, and Go gives each cell a worker of its own.

Why the loop variant is a process flag: g4f decides at import time whether
uvloop / nest_asyncio are there, so the variant must be in place before
`import g4f`. It is realised with an import blocker and a loop factory, never
by installing or removing anything:

    asyncio  stdlib loop; uvloop, nest_asyncio, nest_asyncio2 unimportable
    nest     stdlib loop; uvloop unimportable; needs nest_asyncio(2) installed
    uvloop   uvloop loop, and uvloop's policy so loops g4f makes are uvloop too

Protocol. Requests are JSON lines on stdin. Replies and events are JSON lines
on file descriptor 3 (never stdout: g4f prints there freely). Harness
diagnostics go to stderr.

    start-up -> {"event":"ready","loop","available","reason","package","version",
                 "python","python_version","g4f_version","g4f_path",
                 "nest_module","pid","fork","fork_reason"}
                fork: the worker forks a child per request; fork_reason
                says why not, when it does not
             or {"event":"fatal","error":EXC} and exit status 3 (g4f not importable)

    {"op":"catalog","id":N}
             -> {"id":N,"event":"catalog","providers":[{"name","kind","working",
                 "needs_auth","supports_stream","supports_system_message",
                 "default_model","models","url","parent"[,"probe","unavailable"]}, ...]}
                probe: true for g4fdiag's probe providers (G4FDIAG_PROBES=1,
                see probes.py); unavailable: why a probe could not be
                registered in this g4f (its cells are not run)

    {"op":"run","id":N,"cell":{"provider","mode","loop","model","concurrency",
     "repeat","remedy_tried"},"call":{"client","stream","on_loop"},
     "block_threshold_ms":2000,"messages":[...],"dump":PATH,"out":PATH}
             call: how to call g4f for the cell's mode, from Go's mode
             table (repro/scan/cell.go): client "sync" (g4f.client.Client) or
             "async" (AsyncClient), stream (stream=True, chunks iterated),
             on_loop (inside a coroutine on the cell's loop; false: on
             plain threads with no loop, sync client only). The harness
             keeps no list of modes: a run without a call it can make is
             an error event
             dump, out (fork server only): the child's faulthandler file and
             the file its fds 1 and 2 go to (what a crash prints below Python)
             remedy_tried "to-thread" runs a sync mode's call with
             asyncio.to_thread (the other remedies are other cells: another
             loop or mode, nothing for the harness to do)
             -> fork server first: {"id":N,"event":"forked","pid":P,"fork_ms":F}
                P is the child's pid, and the id of its process group
             -> at most once {"id":N,"event":"blocked","loop_thread":STACK,
                              "blocked_ms":F}
             -> {"id":N,"event":"done","calls":[CALL...],"chain_of":{...},"log":TEXT,
                 "duration_ms":F,"nest_patched_before":B,
                 "nest_patched_after":B}
                chain_of: calls that repeat an earlier call's exception chain carry
                "chain": [] and "chain_of": {"I": J, ...} names, for the call
                at position I, the position J of the call that carries it
                (sent once, however many calls raised it); the log ends with
                a note when chains had to be sent in brief or left out
                B: whether nest_asyncio had patched asyncio in this worker
                when the cell started / when it ended (it patches
                process-wide, so a cell after the one that triggered it
                behaves otherwise: the reason cells never share a process)
             -> fork server last: {"id":N,"event":"exited","pid":P,
                                   "status":"exit status 0"|"signal: SIGKILL"...}
                after done it means nothing; before it, the child died

    {"op":"tasks","id":M,"cell_id":N}       (relayed to the child running N)
             -> {"id":M,"event":"tasks","tasks":TEXT,"calls":[CALL...],"chain_of":{...},
                 "log":TEXT,"duration_ms":F}
                TEXT: the pending asyncio tasks of cell N's loop with their
                stacks ("" when N has no loop). calls/log/duration_ms: a
                snapshot of cell N so far (absent when N is not running);
                calls still running are "pending", with the chunks seen so far.

    {"op":"exit"} or EOF on stdin -> exit status 0 at once

    a request that cannot be served (bad JSON, unknown op, bad cell, loop
    variant unavailable) -> {"id":N|null,"event":"error","error":EXC}

    CALL = {"index","round","outcome":"ok"|"error"|"pending","chain":[EXC...],"chunks",
            "first_chunk_ms","max_gap_ms","last_chunk_ms","duration_ms","text"}
           (times in ms from the call's start; a non-streaming success counts
           as one chunk)
    EXC  = {"type","message","frames":[{"file","line","func","code"}],
            "traceback","relation":""|"cause"|"context"}
           (a chain lists the raised exception first, then its cause or
           context, down to the root, at most 8)
           Bounds: a message keeps its first and last 4 K characters with
           "[... N characters cut by g4fdiag ...]" between them; the
           traceback text its last 8 K; frames the outermost 16 and
           innermost 48. No event goes over EVENT_LIMIT (16 MiB): past it a
           done or tasks event keeps the calls that fit ("calls_cut": N),
           any other becomes an "error" event.

Modes (Go's table; the run request's "call" says which): baseline (sync
client on a fresh thread with no loop), sync and sync-stream (sync client
called inside a coroutine on the cell's loop, which blocks that loop on
purpose: that is the conflict being diagnosed), async and async-stream
(AsyncClient awaited / iterated on the cell's loop).

Hangs: a heartbeat (a chain of loop callbacks) stamps the cell loop every
50 ms; a watchdog thread reports a loop that stays silent past
block_threshold_ms, with the loop thread's stack. In sync modes every call
holds the loop while it runs, so a slow call there reports "blocked" too. Nothing here can interrupt a stuck call: the deadline belongs
to the Go side, which sends SIGUSR1 (faulthandler dumps every thread to the
dump file), asks for "tasks", then kills the cell's child and its process
group (a worker that cannot fork: the worker).

Serve mode (the api-json / api-sse driver's servers), in two forms:

    python -u harness.py --loop {asyncio|nest|uvloop} --serve-api --port N
                         [--host 127.0.0.1] [--dump PATH]
        one server in this process (port 0: any free port)
    python -u harness.py --loop {asyncio|nest|uvloop} --serve-api --fork-server
                         [--dump PATH]
        a fork server: imports once, then forks a fresh server per request

Same loop variant set-up (import blocker, loop policy) before anything
imports g4f; then `import g4f.api` (real g4f or the miniature) and its app:
create_app() when the module has it (real g4f since 0.3.2), else a
module-level `app`, else 0.2.x's Api(engine=g4f).app. It runs under uvicorn
with loop="uvloop" for the uvloop variant and loop="asyncio" otherwise,
lifespan "auto", the access log on, uvicorn's own SIGINT/SIGTERM handling
(which waits for open connections, and cannot act while the loop thread is
stuck: Go escalates to SIGKILL). No fd 3, no JSON protocol. On stderr:

    g4fdiag-serve ready port=N loop=L pid=P
        once uvicorn listens (N: the bound port)
    g4fdiag-serve fatal: REASON
        loop variant unavailable, uvicorn or g4f.api not importable, or
        uvicorn could not bind / start; exit status 3 (the traceback, if
        any, comes first as g4fdiag-log lines)
    g4fdiag-log t=MS req=ID LOGGER LEVEL: TEXT
        every log record (root, uvicorn.error, uvicorn.access, asyncio,
        g4f.*, py.warnings), one line per line of its text: a multi-line
        message or traceback repeats the prefix on every line. MS:
        milliseconds since the process started, 3 decimals. ID: the
        request's X-G4fdiag-Request header (every byte that is not printable
        ASCII, spaces and commas included, as "_"; at most 128
        characters), "-" outside a request.
        asyncio's "Exception in callback ..." / "Task exception was never
        retrieved" records carry the ids, joined by ",", of the running
        context (a nested run inside a request) and of the handle or task
        concerned, when either is a request's; "-" among them stands for a
        task of no request (yet), and makes the record every request's of
        its time, as an untagged one is.
        What g4f prints to sys.stdout / sys.stderr arrives the same way,
        a line per record, as LOGGER "stdout" / "stderr", LEVEL INFO.

Exit status: 0 after uvicorn shut down on a signal, 3 as above, 130 on
KeyboardInterrupt. SIGUSR1 dumps every thread to the --dump file as in
worker mode (to stderr, unprefixed, without --dump). Lines without either
prefix can still appear on stderr: output written below Python (C
libraries, a fatal interpreter error).

The fork server does the same set-up, imports and app build (and loads a
throw-away uvicorn config, so the modules uvicorn picks are imported too),
starts no thread and no event loop, and then serves Go on fd 3, a
SOCK_SEQPACKET unix socket: one JSON object per record, each way.

    start-up -> {"event":"ready","fork":B,"reason":TEXT,"pid":P,"setup_ms":F}
                fork false: this process must not fork (threads alive after
                the imports, no os.fork, G4FDIAG_FORK=0), reason says why;
                it exits 0 and Go starts a --port 0 process per server.
             or the fatal line on stderr and exit 3, as above.

    {"op":"fork","id":N,"host":"127.0.0.1","port":0,"dump":PATH}
        with one file descriptor attached (SCM_RIGHTS): the write end of
        the new server's output pipe
             -> {"id":N,"event":"forked","pid":P,"fork_ms":F}
             or {"id":N,"event":"error","error":TEXT}
        The child is a process group of its own (pgid P), is killed
        (PR_SET_PDEATHSIG) when the fork server dies, has the pipe as
        stdout and stderr and PATH as its SIGUSR1 dump file, and then is the
        server above: its ready / fatal / log lines arrive on its own pipe,
        MS counted from the fork.

    (unasked) {"event":"exited","pid":P,"status":TEXT,"code":C}
        a child ended and was reaped: its process group is gone when the
        processes it started are. C: its exit status, -1 after a signal.
        Never sent before that child's "forked".

    {"op":"exit"} or EOF -> exit 0; live children die with the fork server.

Probes: with G4FDIAG_PROBES=1 in the environment, both modes load probes.py
from beside this file and register g4fdiag's probe providers into g4f
(register_probes) right after `import g4f`, before any fork and before the
API app is built; probes.py says how.

Stdlib only (serve mode imports the uvicorn of the environment it serves);
the syntax stays valid from Python 3.8 to 3.14.
"""

import argparse
import asyncio
import contextvars
import faulthandler
import gc
import hashlib
import importlib
import importlib.util
import inspect
import io
import json
import linecache
import logging
import os
import platform
import signal
import sys
import threading
import time
import traceback
import warnings

# g4fdiag_inspect.py is written beside this file: found even where the
# interpreter does not put the script's directory on sys.path (-P,
# PYTHONSAFEPATH).
if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from g4fdiag_inspect import NEST_MODULES, bridge_modules, g4f_version, nest_module_of  # noqa: E402

PROTOCOL_FD = 3
LOG_LIMIT = 16 * 1024        # characters of printed output kept per cell
TRACEBACK_LIMIT = 8 * 1024   # characters of traceback text kept per exception
TEXT_LIMIT = 200             # characters of answer kept per call
CHAIN_LIMIT = 8              # exceptions kept per chain
MESSAGE_LIMIT = 8 * 1024     # characters of an exception message kept (head and tail)
BRIEF_LIMIT = 1024           # ... of a message in a chain sent in brief
NAME_LIMIT = 512             # characters of an exception type, a frame's file, func, code
FRAMES_HEAD, FRAMES_TAIL = 16, 48  # frames kept per exception: outermost, innermost
STACK_LIMIT = 64 * 1024      # characters of a blocked loop thread's stack
TASKS_LIMIT = 1024 * 1024    # characters of a "tasks" text
CHAINS_BUDGET = 8 * 1024 * 1024  # bytes of distinct exception chains in full per event
                                 # (and half as much again in brief)
# Every event this harness writes stays under EVENT_LIMIT bytes; Go reads
# lines of up to 32 MiB (maxEventLine in repro/events.go) and skips longer
# ones, so only something else writing to fd 3 can go over.
EVENT_LIMIT = 16 * 1024 * 1024
HEARTBEAT_S = 0.05
WATCHDOG_S = 0.05
DEFAULT_THRESHOLD_MS = 2000.0
CLIENTS = ("sync", "async")
LOOPS = ("asyncio", "nest", "uvloop")
DEFAULT_MESSAGES = [{"role": "user", "content": "Say hello."}]


def diag(message):
    """Harness diagnostics: to the real stderr, never into a cell's log."""
    try:
        ORIGINAL_STDERR.write("g4fdiag-harness: %s\n" % message)
        ORIGINAL_STDERR.flush()
    except Exception:
        pass


ORIGINAL_STDOUT = sys.stdout
ORIGINAL_STDERR = sys.stderr


# ---------------------------------------------------------------------------
# Protocol channel (fd 3)
# ---------------------------------------------------------------------------

class Channel(object):
    """JSON lines on fd 3. Cells, the watchdog and the main thread all write,
    so writes are serialised by a lock to keep each object on one line."""

    def __init__(self, fd):
        self._out = os.fdopen(fd, "w", buffering=1, encoding="utf-8")
        self._lock = threading.Lock()

    def send(self, obj):
        # ensure_ascii: provider text may hold lone surrogates that UTF-8
        # cannot encode; escaped JSON always can.
        line = json.dumps(obj, ensure_ascii=True, default=str)
        if len(line) > EVENT_LIMIT:
            line = json.dumps(within_limit(obj, len(line)), ensure_ascii=True, default=str)
        with self._lock:
            try:
                self._out.write(line + "\n")
                self._out.flush()
            except (OSError, ValueError):
                # The reader is gone: nobody is left to serve.
                os._exit(1)

    def send_line(self, line):
        """A line already encoded, relayed from a forked child."""
        with self._lock:
            try:
                self._out.write(line + "\n")
                self._out.flush()
            except (OSError, ValueError):
                os._exit(1)

    def flush(self):
        with self._lock:
            try:
                self._out.flush()
            except (OSError, ValueError):
                pass


CHANNEL = None  # set in main()


def within_limit(obj, size):
    """The last resort for an event over EVENT_LIMIT (calls and messages are
    cut long before): the calls of a done or tasks event with their chains
    in brief, then as many of them as fit, counted in "calls_cut"; any other
    event becomes an error naming it."""
    calls = obj.get("calls") if isinstance(obj, dict) else None
    if isinstance(calls, list):
        obj = dict(obj)
        kept, used = [], 0
        for record in calls:
            record = dict(record)
            record["chain"] = [brief_exception(e) for e in record.get("chain") or []][:2]
            n = len(json.dumps(record, ensure_ascii=True, default=str)) + 2
            if used + n > EVENT_LIMIT // 2:
                break
            kept.append(record)
            used += n
        obj["calls"] = kept
        obj["calls_cut"] = len(calls) - len(kept)
        # A repeat names an earlier call: those kept stay valid.
        obj["chain_of"] = dict((i, j) for i, j in (obj.get("chain_of") or {}).items()
                               if int(i) < len(kept))
        for key in ("log", "tasks"):
            if isinstance(obj.get(key), str):
                obj[key] = cut_middle(obj[key], LOG_LIMIT)
        return obj
    return {"id": obj.get("id") if isinstance(obj, dict) else None, "event": "error",
            "error": {"type": "g4fdiag.EventTooLarge", "frames": [], "traceback": "", "relation": "",
                      "message": "the %s event was %d bytes, over the %d-byte limit" % (
                          cut_middle(str(obj.get("event") if isinstance(obj, dict) else "?"), NAME_LIMIT),
                          size, EVENT_LIMIT)}}


def emit(obj):
    CHANNEL.send(obj)


# ---------------------------------------------------------------------------
# Loop variants
# ---------------------------------------------------------------------------

class ImportBlocker(object):
    """A sys.meta_path finder, inserted first, that makes some top-level
    packages unimportable. ModuleNotFoundError is an ImportError, so both
    `except ImportError` and `except ModuleNotFoundError` in g4f see it."""

    def __init__(self, names, loop_name):
        self.names = frozenset(names)
        self.loop_name = loop_name

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(
                "blocked by g4fdiag (--loop %s)" % self.loop_name, name=fullname)
        return None

    def invalidate_caches(self):
        pass


class Variant(object):
    def __init__(self, name):
        self.name = name
        self.available = True
        self.reason = ""
        self.package = ""
        self.version = ""
        self.factory = asyncio.new_event_loop


def block_imports(names, loop_name):
    if names:
        sys.meta_path.insert(0, ImportBlocker(names, loop_name))


def dist_version(name):
    try:
        from importlib import metadata
        return metadata.version(name)
    except Exception:
        return ""


def importable(name):
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def setup_variant(name):
    """Put the loop variant in place. Must run before `import g4f`."""
    variant = Variant(name)
    if name == "asyncio":
        block_imports(("uvloop",) + NEST_MODULES, name)
        variant.package = "asyncio"
        variant.version = platform.python_version()
    elif name == "nest":
        block_imports(("uvloop",), name)
        found = [m for m in NEST_MODULES if importable(m)]
        if found:
            variant.package = found[0]
            variant.version = dist_version(found[0])
        else:
            variant.available = False
            variant.reason = "neither nest_asyncio nor nest_asyncio2 is importable"
    elif name == "uvloop":
        try:
            import uvloop
        except Exception as exc:
            variant.available = False
            variant.reason = str(exc) or type(exc).__name__
            return variant
        variant.package = "uvloop"
        variant.version = getattr(uvloop, "__version__", "") or dist_version("uvloop")
        variant.factory = uvloop.new_event_loop
        # Loops g4f creates itself (asyncio.run, new_event_loop) must be uvloop
        # too, as they are under uvicorn.
        if hasattr(asyncio, "set_event_loop_policy"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return variant


def settle_nest(variant):
    """Once g4f is imported: the nest variant as that g4f has it. g4f
    imports one re-entrancy patch (nest_asyncio up to 2025, nest_asyncio2
    from 2026); the other one installed does not count, and the variant is
    then unavailable, saying so."""
    if variant.name != "nest" or not variant.available:
        return
    wanted = nest_module_of_g4f()
    if not wanted:
        return
    if importable(wanted):
        variant.package, variant.version = wanted, dist_version(wanted)
        return
    others = [m for m in NEST_MODULES if m != wanted and importable(m)]
    variant.available = False
    variant.reason = "this g4f imports %s, which is not installed" % wanted
    if others:
        variant.reason += " (%s is, and this g4f does not use it)" % others[0]


VARIANT = None  # set in main()
DUMP_FILE = None  # the --dump file, open for the life of the process


# ---------------------------------------------------------------------------
# Print capture
# ---------------------------------------------------------------------------

class LogBuffer(object):
    """What a cell printed, keeping only the tail."""

    def __init__(self):
        self._text = ""
        self._lock = threading.Lock()

    def write(self, text):
        with self._lock:
            self._text = (self._text + text)[-LOG_LIMIT:]

    def text(self):
        with self._lock:
            return self._text


# The cell a write belongs to. A ContextVar follows the cell into its asyncio
# tasks and into asyncio.to_thread workers (both copy the context).
CURRENT_LOG = contextvars.ContextVar("g4fdiag_cell_log", default=None)
# Threads the harness starts itself, for writes made outside the cell's
# context on those threads (loop callbacks scheduled from elsewhere).
THREAD_LOGS = {}


def attach_thread(log):
    CURRENT_LOG.set(log)
    THREAD_LOGS[threading.get_ident()] = log


def detach_thread():
    THREAD_LOGS.pop(threading.get_ident(), None)


class StreamRouter(object):
    """Stands in for sys.stdout / sys.stderr: writes made while running a
    cell go to that cell's log, all others to the original stream.
    Installed before `import g4f` so handlers g4f creates at import time
    (logging.StreamHandler(sys.stderr)) hold the router too."""

    def __init__(self, original):
        self._original = original

    def _log(self):
        log = CURRENT_LOG.get()
        if log is None:
            log = THREAD_LOGS.get(threading.get_ident())
        return log

    def write(self, text):
        log = self._log()
        if log is None:
            return self._original.write(text)
        if not isinstance(text, str):
            text = str(text)
        log.write(text)
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        try:
            self._original.flush()
        except Exception:
            pass

    def isatty(self):
        return False

    def __getattr__(self, name):
        # encoding, errors, fileno, buffer...: those of the real stream.
        return getattr(self._original, name)


def install_router():
    sys.stdout = StreamRouter(ORIGINAL_STDOUT)
    sys.stderr = StreamRouter(ORIGINAL_STDERR)


# ---------------------------------------------------------------------------
# Exceptions as JSON
# ---------------------------------------------------------------------------

def type_name(exc):
    cls = type(exc)
    module = getattr(cls, "__module__", "") or ""
    qualname = getattr(cls, "__qualname__", cls.__name__)
    if module in ("builtins", "exceptions", ""):
        return qualname
    return "%s.%s" % (module, qualname)


def safe_str(obj):
    try:
        return str(obj)
    except Exception:
        try:
            return repr(obj)
        except Exception:
            return "<unprintable %s>" % type(obj).__name__


def cut_middle(text, limit):
    """text when it fits in limit characters, else its head and tail with
    the number of characters cut between them."""
    if len(text) <= limit:
        return text
    keep = max(limit // 2, 1)
    return "%s [... %d characters cut by g4fdiag ...] %s" % (
        text[:keep], len(text) - 2 * keep, text[-keep:])


def kept_frames(frames):
    """The outermost and the innermost frames: where the call came from and
    where it failed; the middle of a deep recursion says little."""
    if len(frames) <= FRAMES_HEAD + FRAMES_TAIL:
        return list(frames)
    return list(frames[:FRAMES_HEAD]) + list(frames[-FRAMES_TAIL:])


def exception_record(exc, relation=""):
    """One exception as JSON, bounded whatever it holds: the message to
    MESSAGE_LIMIT characters (head and tail), the traceback text to
    TRACEBACK_LIMIT, the frames to FRAMES_HEAD + FRAMES_TAIL."""
    tb = exc.__traceback__
    frames = []
    text = ""
    message = safe_str(exc)
    cut = len(message) > MESSAGE_LIMIT
    message = cut_middle(message, MESSAGE_LIMIT)
    name = cut_middle(type_name(exc), NAME_LIMIT)
    try:
        extracted = traceback.extract_tb(tb)
        for fs in kept_frames(extracted):
            frames.append({"file": cut_middle(fs.filename or "", NAME_LIMIT), "line": fs.lineno or 0,
                           "func": cut_middle(fs.name or "", NAME_LIMIT),
                           "code": cut_middle(fs.line or "", NAME_LIMIT)})
        if extracted:
            text = "Traceback (most recent call last):\n" + "".join(traceback.format_tb(tb))
        if cut:
            # format_exception_only would copy the whole message again.
            last = "%s: %s\n" % (name, message)
        else:
            last = "".join(traceback.format_exception_only(type(exc), exc))
        last = cut_middle(last, TRACEBACK_LIMIT // 2)
        room = TRACEBACK_LIMIT - len(last)
        text = (text[-room:] if len(text) > room else text) + last
    except Exception as fmt_exc:
        text = text[-TRACEBACK_LIMIT // 2:] + "<traceback unavailable: %s>\n" % cut_middle(safe_str(fmt_exc), NAME_LIMIT)
    return {"type": name, "message": message, "frames": frames,
            "traceback": text, "relation": relation}


def brief_exception(record):
    """An exception record reduced to what classifies it: type, the head and
    tail of its message, its relation."""
    return {"type": record.get("type", ""), "message": cut_middle(record.get("message", ""), BRIEF_LIMIT),
            "frames": [], "traceback": "", "relation": record.get("relation", "")}


def share_chains(calls):
    """Bound what a done (or tasks) event says of its calls' errors: a chain
    repeated by many calls is sent once, with "chain_of" naming for each
    repeat the call that carries it; distinct chains go in full while they
    fit in CHAINS_BUDGET, then in brief, then not at all. Returns the
    chain_of map and a note for the cell's log ("" when nothing was cut)."""
    seen = {}
    refs = {}
    budget, reserve = CHAINS_BUDGET, CHAINS_BUDGET // 2  # in full; in brief
    brief = dropped = 0
    for i, record in enumerate(calls):
        chain = record.get("chain")
        if not chain:
            continue
        text = json.dumps(chain, ensure_ascii=True, default=str, sort_keys=True)
        key = hashlib.sha256(text.encode("ascii")).digest()  # not the text: thousands may differ
        j = seen.get(key)
        record = calls[i] = dict(record)  # records may be the cell's own
        if j is not None:
            record["chain"] = []
            refs[str(i)] = j
            continue
        seen[key] = i
        if len(text) <= budget:
            budget -= len(text)
            continue
        record["chain"] = [brief_exception(e) for e in chain]
        size = len(json.dumps(record["chain"], ensure_ascii=True, default=str))
        if size <= reserve:
            reserve -= size
            brief += 1
        else:
            record["chain"] = []
            dropped += 1
    note = ""
    if brief or dropped:
        note = ("\n[g4fdiag: %d calls' exceptions sent in brief and %d left out: their %d distinct "
                "chains are over %d bytes]\n" % (brief, dropped, len(seen), CHAINS_BUDGET))
    return refs, note


def exception_chain(exc):
    """The raised exception, then each __cause__ (or unsuppressed
    __context__), down to the root."""
    chain = []
    seen = set()
    relation = ""
    while exc is not None and id(exc) not in seen and len(chain) < CHAIN_LIMIT:
        seen.add(id(exc))
        chain.append(exception_record(exc, relation))
        if exc.__cause__ is not None:
            exc, relation = exc.__cause__, "cause"
        elif exc.__context__ is not None and not exc.__suppress_context__:
            exc, relation = exc.__context__, "context"
        else:
            exc = None
    return chain


def error_reply(req_id, exc):
    emit({"id": req_id, "event": "error", "error": exception_record(exc)})


class HarnessError(Exception):
    """A request the harness cannot serve."""


HarnessError.__module__ = "g4fdiag"


class ProviderNotFoundError(Exception):
    """Used when the g4f under test has no error class of that name."""


ProviderNotFoundError.__module__ = "g4fdiag"


# ---------------------------------------------------------------------------
# g4f: import and environment report
# ---------------------------------------------------------------------------

def import_g4f():
    import g4f
    # The submodules the harness uses; older releases lack some of them.
    for name in ("g4f.client", "g4f.Provider", "g4f.errors"):
        try:
            importlib.import_module(name)
        except Exception as exc:
            diag("import %s failed: %s: %s" % (name, type_name(exc), safe_str(exc)))
    return g4f


def g4f_path(g4f):
    path = getattr(g4f, "__file__", None)
    if path:
        return os.path.dirname(os.path.abspath(path))
    paths = list(getattr(g4f, "__path__", []) or [])
    return os.path.abspath(paths[0]) if paths else ""


def nest_module_of_g4f():
    """Which nest_asyncio the imported g4f uses (g4fdiag_inspect)."""
    return nest_module_of(bridge_modules())


def ready_event(g4f):
    path = g4f_path(g4f)
    return {"event": "ready", "loop": VARIANT.name, "available": VARIANT.available,
            "reason": VARIANT.reason, "package": VARIANT.package,
            "version": VARIANT.version, "python": sys.executable,
            "python_version": platform.python_version(),
            "g4f_version": g4f_version(g4f, path), "g4f_path": path,
            "nest_module": nest_module_of_g4f(), "pid": os.getpid(),
            "fork": FORKING, "fork_reason": FORK_REASON}


# ---------------------------------------------------------------------------
# Catalog
# ---------------------------------------------------------------------------

KIND_BY_METHOD = (("create_async_generator", "async-generator"),
                  ("create_async", "async"),
                  ("create_completion", "sync"))


def is_abstract(attr):
    if getattr(attr, "__isabstractmethod__", False):
        return True
    return getattr(getattr(attr, "__func__", None), "__isabstractmethod__", False)


def provider_kind(cls):
    """The kind a provider class really implements: the concrete method
    defined by the most-derived class (bases such as AsyncGeneratorProvider
    also define the other methods as adapters)."""
    for klass in getattr(cls, "__mro__", (cls,)):
        own = getattr(klass, "__dict__", {})
        for method, kind in KIND_BY_METHOD:
            if method in own and not is_abstract(own[method]):
                return kind
    return "sync"


def class_attr(cls, name, default):
    try:
        return getattr(cls, name, default)
    except Exception:
        return default


def as_name(value):
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if inspect.isclass(value):
        return value.__name__
    return safe_str(getattr(value, "name", value))


def as_names(value):
    if isinstance(value, dict):
        value = list(value.keys())
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        return []
    return [as_name(v) for v in value]


# Where g4f keeps the base classes, mixins and wrappers its providers are
# built from. Releases list some of them in g4f.Provider beside the
# providers (BaseProvider, AsyncProvider, AsyncGeneratorProvider, through
# `from .base_provider import ...`); none is a provider to scan.
BASE_MODULES = ("g4f.providers.base_provider", "g4f.Provider.base_provider", "g4f.providers.types",
                "g4f.providers.retry_provider", "g4f.providers.helper", "g4f.Provider.helper")


def is_base_class(cls):
    """A base class or mixin of g4f's, not a provider: defined in one of
    BASE_MODULES, or abstract."""
    if class_attr(cls, "__module__", "") in BASE_MODULES:
        return True
    try:
        return inspect.isabstract(cls)
    except Exception:
        return False


def provider_classes(g4f):
    module = sys.modules.get("g4f.Provider") or getattr(g4f, "Provider", None)
    classes = list(class_attr(module, "__providers__", None) or [])
    if not classes and module is not None:
        for name in dir(module):
            value = class_attr(module, name, None)
            if inspect.isclass(value) and hasattr(value, "working"):
                classes.append(value)
    return [cls for cls in classes if not is_base_class(cls)]


def catalog_entry(cls):
    return {"name": as_name(class_attr(cls, "__name__", "")),
            "kind": provider_kind(cls),
            "working": bool(class_attr(cls, "working", False)),
            "needs_auth": bool(class_attr(cls, "needs_auth", False)),
            "supports_stream": bool(class_attr(cls, "supports_stream", False)),
            "supports_system_message": bool(class_attr(cls, "supports_system_message", False)),
            "default_model": as_name(class_attr(cls, "default_model", None)),
            "models": as_names(class_attr(cls, "models", None)),
            "url": as_name(class_attr(cls, "url", None)),
            "parent": as_name(class_attr(cls, "parent", None))}


def catalog(g4f):
    entries, seen = [], set()
    for cls in provider_classes(g4f):
        try:
            entry = catalog_entry(cls)
        except Exception as exc:
            diag("catalog: skipping %r: %s" % (cls, safe_str(exc)))
            continue
        if entry["name"] and entry["name"] not in seen:
            seen.add(entry["name"])
            if class_attr(cls, "g4fdiag_probe", False) is True:
                entry["probe"] = True
            entries.append(entry)
    return entries + [unavailable_probe(r) for r in PROBES
                      if r.cls is None and r.probe.name not in seen]


# ---------------------------------------------------------------------------
# Probes: g4fdiag's own providers (probes.py, written beside this file)
# ---------------------------------------------------------------------------

PROBES_ENV = "G4FDIAG_PROBES"
PROBES = []  # probes.Registered per probe, once register_probes ran


def register_probes(g4f, note=None):
    """With G4FDIAG_PROBES=1, register the probes into g4f (probes.py says
    how); before any fork, so every cell's child has them. note reports
    what could not be registered (default: diag)."""
    note = note or diag
    global PROBES
    if os.environ.get(PROBES_ENV) != "1":
        return
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probes.py")
    try:
        spec = importlib.util.spec_from_file_location("g4fdiag_probes", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["g4fdiag_probes"] = module
        spec.loader.exec_module(module)
        PROBES = module.register(g4f)
    except Exception as exc:
        note("probes not registered: %s: %s" % (type_name(exc), safe_str(exc)))
        return
    # g4f's first call checks PyPI for a newer release (a request off the
    # machine): with probes, which must run offline, it is switched off.
    debug = sys.modules.get("g4f.debug")
    if debug is not None and getattr(debug, "version_check", False) is True:
        debug.version_check = False
    for r in PROBES:
        if r.cls is None:
            note("probe %s unavailable: %s" % (r.probe.name, r.reason))


def unavailable_probe(r):
    """The catalog entry of a probe that could not be registered: Go ends
    its cells unavailable with the reason."""
    return {"name": r.probe.name, "kind": r.probe.kind, "working": True,
            "needs_auth": False, "supports_stream": True,
            "supports_system_message": True, "default_model": "", "models": [],
            "url": "", "parent": "", "probe": True, "unavailable": r.reason}


def resolve_provider(g4f, name):
    module = sys.modules.get("g4f.Provider") or getattr(g4f, "Provider", None)
    convert = class_attr(class_attr(module, "ProviderUtils", None), "convert", None)
    if isinstance(convert, dict) and name in convert:
        return convert[name]
    value = class_attr(module, name, None)
    return value if inspect.isclass(value) else None


def provider_not_found(name):
    cls = class_attr(sys.modules.get("g4f.errors"), "ProviderNotFoundError", None)
    if not (inspect.isclass(cls) and issubclass(cls, BaseException)):
        cls = ProviderNotFoundError
    return cls("Provider not found: %s" % name)


# ---------------------------------------------------------------------------
# Calling g4f (feature detection, no pinned release)
# ---------------------------------------------------------------------------

class Api(object):
    """The call styles of the g4f under test: the client classes when the
    release has them, g4f.ChatCompletion otherwise."""

    def __init__(self, g4f):
        client = sys.modules.get("g4f.client")
        self.Client = class_attr(client, "Client", None)
        self.AsyncClient = class_attr(client, "AsyncClient", None)
        self.ChatCompletion = class_attr(g4f, "ChatCompletion", None)

    def sync_create(self, call, stream):
        if self.Client is not None:
            return self.Client().chat.completions.create(
                model=call.model, messages=call.messages, provider=call.provider,
                stream=stream)
        return self.ChatCompletion.create(call.model, call.messages,
                                          provider=call.provider, stream=stream)

    def async_create(self, call, stream):
        if self.AsyncClient is not None:
            return self.AsyncClient().chat.completions.create(
                model=call.model, messages=call.messages, provider=call.provider,
                stream=stream)
        return self.ChatCompletion.create_async(call.model, call.messages,
                                                provider=call.provider, stream=stream)


API = None  # set in main()


def chunk_text(chunk):
    if chunk is None:
        return ""
    if isinstance(chunk, str):
        return chunk
    choices = class_attr(chunk, "choices", None)
    if choices:
        delta = class_attr(choices[0], "delta", None)
        content = class_attr(delta, "content", None)
        return "" if content is None else safe_str(content)
    return safe_str(chunk)


def answer_text(result):
    """The answer of a non-streaming call, whatever shape the release gives."""
    if result is None:
        return ""
    if isinstance(result, str):
        return result
    choices = class_attr(result, "choices", None)
    if choices:
        message = class_attr(choices[0], "message", None)
        content = class_attr(message, "content", None)
        return "" if content is None else safe_str(content)
    if hasattr(result, "__iter__"):
        return "".join(chunk_text(c) for c in result)
    return safe_str(result)


class CallRecorder(object):
    """Timing and outcome of one call; times in ms from the call's start."""

    def __init__(self, index, round_):
        self.index = index
        self.round = round_
        self.t0 = time.monotonic()
        self.chunks = 0
        self.first = 0.0
        self.last = 0.0
        self.max_gap = 0.0
        self.text = ""
        self.outcome = "error"
        self.chain = []
        self.duration = 0.0

    def _now(self):
        return (time.monotonic() - self.t0) * 1000.0

    def chunk(self, text):
        now = self._now()
        if self.chunks == 0:
            self.first = now
        else:
            self.max_gap = max(self.max_gap, now - self.last)
        self.last = now
        self.chunks += 1
        if len(self.text) < TEXT_LIMIT:
            self.text = (self.text + text)[:TEXT_LIMIT]

    def answer(self, text):
        """A non-streaming success: the whole answer is one chunk."""
        self.chunk(text)

    def ok(self):
        self.outcome = "ok"
        self.duration = self._now()

    def error(self, exc):
        self.outcome = "error"
        self.chain = exception_chain(exc)
        self.duration = self._now()

    def record(self):
        return {"index": self.index, "round": self.round, "outcome": self.outcome,
                "chain": self.chain, "chunks": self.chunks,
                "first_chunk_ms": round(self.first, 3),
                "max_gap_ms": round(self.max_gap, 3),
                "last_chunk_ms": round(self.last, 3),
                "duration_ms": round(self.duration, 3), "text": self.text}


def call_sync(call, rec):
    rec.answer(answer_text(API.sync_create(call.checked(), stream=False)))


def call_sync_stream(call, rec):
    for chunk in API.sync_create(call.checked(), stream=True):
        rec.chunk(chunk_text(chunk))


async def call_async(call, rec):
    result = API.async_create(call.checked(), stream=False)
    if inspect.isawaitable(result):
        result = await result
    if hasattr(result, "__aiter__"):  # releases that always return an iterator
        parts = []
        async for chunk in result:
            parts.append(chunk_text(chunk))
        result = "".join(parts)
    rec.answer(answer_text(result))


async def call_async_stream(call, rec):
    result = API.async_create(call.checked(), stream=True)
    if not hasattr(result, "__aiter__") and inspect.isawaitable(result):
        result = await result  # releases where create is a coroutine
    if hasattr(result, "__aiter__"):
        async for chunk in result:
            rec.chunk(chunk_text(chunk))
    elif isinstance(result, str) or not hasattr(result, "__iter__"):
        rec.chunk(chunk_text(result))
    else:
        for chunk in result:
            rec.chunk(chunk_text(chunk))


# ---------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------

class CallSpec(object):
    """What every call of a cell passes to g4f."""

    def __init__(self, name, provider, model, messages):
        self.name = name
        self.provider = provider
        self.model = model
        self.messages = messages

    def checked(self):
        # Raised inside the call, so an unknown provider is an ordinary call
        # error with a traceback, like any other.
        if self.provider is None:
            raise provider_not_found(self.name)
        return self


class Cell(object):
    def __init__(self, req_id, spec, threshold_ms, call):
        self.id = req_id
        self.mode = spec["mode"]
        self.client = spec["client"]         # how g4f is called: see parse_call
        self.stream = spec["stream"]
        self.on_loop = spec["on_loop"]
        self.remedy = spec.get("remedy", "")
        self.concurrency = spec["concurrency"]
        self.repeat = spec["repeat"]
        self.threshold_ms = threshold_ms
        self.call = call
        self.log = LogBuffer()
        self.records = {}            # (round, index) -> call record
        self.loop = None             # the cell's loop, for "tasks"
        self.loop_thread = None      # ident of the thread running it
        self.live = {}               # (round, index) -> CallRecorder, running
        self.t0 = time.monotonic()
        self.nest_patched_before = nest_patched()
        self.stamp = 0.0             # last heartbeat, time.monotonic()
        self.watching = False        # the watchdog looks at this cell
        self.blocked_sent = False
        self.held = None             # what the watchdog saw the loop thread run (see check_heartbeat)
        self.last_look = 0.0         # when it last looked

    def start_call(self, index, round_):
        rec = CallRecorder(index, round_)
        self.live[(round_, index)] = rec
        return rec

    def end_call(self, rec):
        self.records[(rec.round, rec.index)] = rec.record()
        self.live.pop((rec.round, rec.index), None)

    def snapshot(self):
        """Calls so far: finished ones as recorded, running ones "pending"
        with the chunks they have seen (a stalled stream's evidence)."""
        records, live = dict(self.records), dict(self.live)
        # Every call of the rounds begun so far: a call whose task never got
        # to run (nest_asyncio's "Cannot enter into task") is pending too.
        last_round = max([r for r, _ in list(records) + list(live)] or [0])
        calls = []
        for round_ in range(last_round + 1):
            for index in range(self.concurrency):
                record = records.get((round_, index))
                if record is None:
                    rec = live.get((round_, index)) or CallRecorder(index, round_)
                    record = rec.record()
                    record["outcome"] = "pending"
                    record["duration_ms"] = round(rec._now(), 3) if (round_, index) in live else 0.0
                calls.append(record)
        return calls


CELLS = {}  # request id -> Cell, while running
CELLS_LOCK = threading.Lock()


def nest_patched():
    """Whether nest_asyncio has already patched asyncio in this process.

    It patches globally (asyncio.run, the Task class, the loop class) the
    first time g4f applies it, so under the nest variant a cell can behave
    differently after an earlier cell in the same worker triggered it."""
    try:
        if getattr(asyncio, "_nest_patched", False) or hasattr(asyncio, "_run_orig"):
            return True
        py_task = getattr(asyncio.tasks, "_PyTask", None)
        c_task = getattr(asyncio.tasks, "_CTask", None)
        return py_task is not None and c_task is not None and asyncio.Task is py_task \
            and py_task is not c_task
    except Exception:
        return False


def parse_cell(req):
    spec = req.get("cell")
    if not isinstance(spec, dict):
        raise HarnessError("run: missing cell")
    mode = spec.get("mode")
    call = parse_call(mode, req.get("call"))
    loop = spec.get("loop") or VARIANT.name
    if loop != VARIANT.name:
        raise HarnessError("run: cell loop %r sent to a %r worker" % (loop, VARIANT.name))
    if not VARIANT.available:
        raise HarnessError("run: loop variant %s unavailable: %s" % (VARIANT.name, VARIANT.reason))
    name = spec.get("provider")
    if not isinstance(name, str) or not name:
        raise HarnessError("run: missing provider")
    parsed = {"mode": mode, "provider": name, "model": spec.get("model") or "",
              "concurrency": max(1, int(spec.get("concurrency") or 1)),
              "repeat": max(1, int(spec.get("repeat") or 1)),
              "remedy": spec.get("remedy_tried") or ""}
    parsed.update(call)
    threshold = float(req.get("block_threshold_ms") or DEFAULT_THRESHOLD_MS)
    messages = req.get("messages") or DEFAULT_MESSAGES
    return parsed, threshold, messages


def parse_call(mode, call):
    """The call style Go's mode table gives the cell's mode: client, stream
    and on_loop, checked, since a default would run an unknown mode as some
    other mode."""
    if not isinstance(call, dict):
        raise HarnessError("run: mode %r comes without a call style (\"call\")" % (mode,))
    client, stream, on_loop = call.get("client"), call.get("stream", False), call.get("on_loop", False)
    if client not in CLIENTS or not isinstance(stream, bool) or not isinstance(on_loop, bool):
        raise HarnessError("run: mode %r has an unknown call style %r" % (mode, call))
    if client == "async" and not on_loop:
        raise HarnessError("run: mode %r: the async client runs only on the cell's loop" % (mode,))
    return {"client": client, "stream": stream, "on_loop": on_loop}


def start_cell(req, g4f):
    spec, threshold, messages = parse_cell(req)
    call = CallSpec(spec["provider"], resolve_provider(g4f, spec["provider"]),
                    spec["model"], messages)
    cell = Cell(req.get("id"), spec, threshold, call)
    with CELLS_LOCK:
        CELLS[cell.id] = cell
    thread = threading.Thread(target=run_cell, args=(cell,), daemon=True,
                              name="g4fdiag-cell-%s" % cell.id)
    thread.start()
    return thread


def run_cell(cell):
    attach_thread(cell.log)
    t0 = cell.t0
    failure = None
    try:
        if not cell.on_loop:
            run_baseline(cell)
        else:
            run_on_loop(cell)
    except BaseException as exc:  # a harness fault: still answer the request
        failure = exc
        diag("cell %s failed: %s" % (cell.id, "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))))
    finally:
        cell.watching = False
        detach_thread()
    with CELLS_LOCK:
        CELLS.pop(cell.id, None)
    calls = cell_calls(cell, failure)
    refs, note = share_chains(calls)
    emit({"id": cell.id, "event": "done", "calls": calls, "chain_of": refs,
          "log": (cell.log.text() + note)[-LOG_LIMIT:],
          "duration_ms": round((time.monotonic() - t0) * 1000.0, 3),
          "nest_patched_before": cell.nest_patched_before,
          "nest_patched_after": nest_patched()})
    if CHILD_REQUESTS is not None:
        end_child(0)  # a forked child serves one cell


def cell_calls(cell, failure):
    calls = []
    for round_ in range(cell.repeat):
        for index in range(cell.concurrency):
            record = cell.records.get((round_, index))
            if record is None:
                rec = CallRecorder(index, round_)
                rec.error(failure or HarnessError("call did not finish"))
                record = rec.record()
            calls.append(record)
    return calls


# -- baseline: the control, on plain threads with no event loop --------------

def run_baseline(cell):
    for round_ in range(cell.repeat):
        threads = [threading.Thread(target=baseline_call, args=(cell, index, round_),
                                    daemon=True,
                                    name="g4fdiag-cell-%s-call-%d" % (cell.id, index))
                   for index in range(cell.concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def baseline_call(cell, index, round_):
    attach_thread(cell.log)
    rec = cell.start_call(index, round_)
    try:
        (call_sync_stream if cell.stream else call_sync)(cell.call, rec)
        rec.ok()
    except BaseException as exc:
        rec.error(exc)
    finally:
        detach_thread()
    cell.end_call(rec)


# -- loop modes: calls inside coroutines on the cell's own loop --------------

def run_on_loop(cell):
    loop = VARIANT.factory()
    # The loop's default executor serves the to-thread remedy and g4f's own
    # to_thread calls: sized to the cell's calls, so it is never the harness's
    # pool that makes a wide cell wait (the default is min(32, CPUs + 4)).
    # Only a wider cell gets one, named as the loop names its own (asyncio:
    # "asyncio_N"; uvloop: "ThreadPoolExecutor-N_M"), so that thread names in
    # the evidence are those a user sees.
    default = min(32, (os.cpu_count() or 1) + 4)
    if cell.concurrency > default:
        try:
            import concurrent.futures
            prefix = "asyncio" if isinstance(loop, asyncio.BaseEventLoop) else ""
            loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(
                max_workers=cell.concurrency, thread_name_prefix=prefix))
        except Exception as exc:
            diag("cell %s: default executor not set: %s" % (cell.id, safe_str(exc)))
    asyncio.set_event_loop(loop)
    cell.loop = loop
    cell.loop_thread = threading.get_ident()
    cell.stamp = time.monotonic()
    cell.watching = True
    try:
        loop.run_until_complete(loop_main(cell))
    finally:
        cell.watching = False
        close_loop(loop)
        try:
            asyncio.set_event_loop(None)
        except Exception:
            pass


async def loop_main(cell):
    start_heartbeat(cell, cell.loop)
    try:
        for round_ in range(cell.repeat):
            await asyncio.gather(*[loop_call(cell, index, round_)
                                   for index in range(cell.concurrency)])
    finally:
        cell.watching = False


def start_heartbeat(cell, loop):
    """Stamp the cell every HEARTBEAT_S from a chain of loop callbacks.

    The stamp only moves when the loop gets control back, so a stale one
    means something holds the loop thread. Plain callbacks, not a task: a
    task created before nest_asyncio patched the loop dies with "Cannot enter
    into task" when a nested run steps it, and would fake a blocked loop;
    callbacks run in nested runs like in the outer one."""
    def beat():
        cell.stamp = time.monotonic()
        if cell.watching:
            loop.call_later(HEARTBEAT_S, beat)
    beat()


async def loop_call(cell, index, round_):
    rec = cell.start_call(index, round_)
    try:
        if cell.client == "sync" and cell.remedy == "to-thread":
            # The "manage the loop at the entry point" remedy: the same sync
            # call, moved off the loop thread (asyncio.to_thread, written so
            # Python 3.8 has it too).
            fn = call_sync_stream if cell.stream else call_sync
            ctx = contextvars.copy_context()
            await asyncio.get_running_loop().run_in_executor(None, ctx.run, fn, cell.call, rec)
        elif cell.client == "sync":
            # blocks the loop thread: the point
            (call_sync_stream if cell.stream else call_sync)(cell.call, rec)
        elif cell.stream:
            await call_async_stream(cell.call, rec)
        else:
            await call_async(cell.call, rec)
        rec.ok()
    except BaseException as exc:
        rec.error(exc)
    cell.end_call(rec)


def close_loop(loop):
    """Tidy up what the calls left on the loop, without ever waiting long."""
    try:
        if not loop.is_closed() and not loop.is_running():
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.wait(pending, timeout=1.0))
            loop.run_until_complete(asyncio.wait_for(loop.shutdown_asyncgens(), 1.0))
    except BaseException as exc:
        diag("closing a cell loop: %s" % safe_str(exc))
    try:
        # close() also shuts the default executor down without waiting, so
        # a stuck to_thread worker cannot hold the cell open.
        loop.close()
    except BaseException:
        pass


# -- the watchdog -------------------------------------------------------------

def thread_stack(ident):
    frame = sys._current_frames().get(ident)
    if frame is None:
        return ""
    name = next((t.name for t in threading.enumerate() if t.ident == ident), "?")
    return ('Thread 0x%x "%s" (most recent call last):\n' % (ident, name)
            + "".join(traceback.format_stack(frame)))


def watchdog():
    while True:
        time.sleep(WATCHDOG_S)
        check_heartbeats()


def check_heartbeats():
    with CELLS_LOCK:
        cells = list(CELLS.values())
    for cell in cells:
        try:
            check_heartbeat(cell)
        except Exception as exc:
            diag("watchdog: %s" % safe_str(exc))


class Held(object):
    """One callback the watchdog sees the silent loop thread run."""

    def __init__(self, stamp, frame, since, cpu):
        self.stamp = stamp   # the heartbeat stamp it was seen under
        self.frame = frame   # its outermost frame (kept alive: compared by identity)
        self.since = since   # from when it counts as held
        self.cpu = cpu       # the loop thread's CPU time then


def thread_cpu(ident):
    """CPU seconds the thread has used, None where that cannot be read."""
    try:
        return time.clock_gettime(time.pthread_getcpuclockid(ident))
    except Exception:
        return None


ASYNCIO_DIR = os.path.dirname(os.path.abspath(asyncio.__file__)) + os.sep


def loop_machinery(frame):
    """A frame of an event loop's own running (asyncio, nest_asyncio's
    patches, the harness's run_on_loop) rather than of a callback."""
    code = frame.f_code
    name = code.co_filename
    return (code is run_on_loop.__code__ or name.startswith(ASYNCIO_DIR)
            or os.path.basename(name).startswith("nest_asyncio")
            or os.sep + "nest_asyncio" in name)


def callback_frame(ident):
    """The outermost frame of the callback the loop thread runs now: the
    first frame inside the innermost loop run (a nested run_until_complete
    counts), None when there is none to see (a callback in C)."""
    frame = sys._current_frames().get(ident)
    stack = []
    while frame is not None:
        stack.append(frame)
        frame = frame.f_back
    found, after_loop = None, False
    for frame in reversed(stack):  # outermost first
        if loop_machinery(frame):
            after_loop = True
        elif after_loop:
            found, after_loop = frame, False
    return found


def check_heartbeat(cell):
    """A loop is blocked when one callback holds its thread past the
    threshold. A silent heartbeat alone is not enough: a loop with thousands
    of ready tasks runs them all before its next timer, and is busy, not
    blocked. So while the heartbeat is silent the watchdog looks at which
    callback the thread runs (or, when it runs none in Python, whether the
    loop's own code uses the CPU), and counts the time only from when it
    last saw it change. A look that comes late (the watchdog starved of the
    GIL) counts from itself."""
    if not cell.watching or cell.blocked_sent:
        return
    now = time.monotonic()
    silent_ms = (now - cell.stamp) * 1000.0
    if silent_ms <= 2 * HEARTBEAT_S * 1000.0:
        cell.held = None
        cell.last_look = now
        return
    frame = callback_frame(cell.loop_thread)
    cpu = thread_cpu(cell.loop_thread)
    held = cell.held
    prompt = now - cell.last_look <= 4 * WATCHDOG_S
    if held is None or held.stamp != cell.stamp:
        held = Held(cell.stamp, frame, cell.stamp if prompt else now, cpu)
    elif frame is not held.frame:
        held = Held(cell.stamp, frame, now, cpu)  # another callback: the loop moves
    elif frame is None and cpu is not None and held.cpu is not None and \
            cpu - held.cpu >= 0.2 * (now - cell.last_look):
        held = Held(cell.stamp, frame, now, cpu)  # the loop's own code is busy
    else:
        held.cpu = cpu
    cell.held = held
    cell.last_look = now
    held_ms = (now - held.since) * 1000.0
    if held_ms <= cell.threshold_ms:
        return
    cell.blocked_sent = True
    emit({"id": cell.id, "event": "blocked", "loop_thread": cut_middle(thread_stack(cell.loop_thread), STACK_LIMIT),
          "blocked_ms": round(held_ms, 1)})


# ---------------------------------------------------------------------------
# Pending tasks of a (possibly stuck) cell loop
# ---------------------------------------------------------------------------

def tasks_text(cell):
    """Read from this thread, never from the cell's: its loop may be stuck."""
    loop = cell.loop if cell is not None else None
    if loop is None or loop.is_closed():
        return ""
    try:
        tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    except Exception as exc:
        return "<could not list tasks: %s>\n" % safe_str(exc)
    out = io.StringIO()
    for task in tasks:
        try:
            write_await_stack(task, out)
        except Exception:
            try:
                task.print_stack(file=out)
            except Exception as exc:
                out.write("%r\n  <stack unavailable: %s>\n" % (task, safe_str(exc)))
    return out.getvalue()


AWAIT_DEPTH = 64


def await_frames(task):
    """The frames of a suspended task down its await chain, outermost first.

    Task.print_stack stops at the task's own coroutine, so a stalled stream
    shows only the harness frame that iterates it. Each coroutine says what it
    awaits (cr_await, ag_await, gi_yieldfrom); an "async for" awaits an
    asend object that hides its async generator, which the garbage
    collector's referents still name. The chain ends at a Future."""
    frames = []
    obj = task.get_coro()
    for _ in range(AWAIT_DEPTH):
        if obj is None:
            break
        frame = None
        for attr in ("cr_frame", "ag_frame", "gi_frame"):
            frame = getattr(obj, attr, None)
            if frame is not None:
                break
        if frame is not None:
            frames.append(frame)
        nxt = None
        for attr in ("cr_await", "ag_await", "gi_yieldfrom"):
            nxt = getattr(obj, attr, None)
            if nxt is not None:
                break
        if nxt is not None and not (inspect.iscoroutine(nxt) or inspect.isasyncgen(nxt) or inspect.isgenerator(nxt)):
            inner = [r for r in gc.get_referents(nxt)
                     if inspect.iscoroutine(r) or inspect.isasyncgen(r) or inspect.isgenerator(r)]
            nxt = inner[0] if inner else None
        obj = nxt
    return frames


def write_await_stack(task, out):
    """Task.print_stack's format, with the whole await chain."""
    frames = await_frames(task)
    if not frames:
        task.print_stack(file=out)
        return
    out.write("Stack for %r (most recent call last):\n" % (task,))
    for frame in frames:
        code = frame.f_code
        out.write('  File "%s", line %d, in %s\n' % (code.co_filename, frame.f_lineno, code.co_name))
        line = linecache.getline(code.co_filename, frame.f_lineno, frame.f_globals).strip()
        if line:
            out.write("    %s\n" % line)


def answer_tasks(req):
    """The pending tasks of a running cell's loop, plus a snapshot of the
    cell (calls so far, log so far): a hung cell never sends "done"."""
    with CELLS_LOCK:
        cell = CELLS.get(req.get("cell_id"))
    reply = {"id": req.get("id"), "event": "tasks", "tasks": ""}
    try:
        reply["tasks"] = cut_middle(tasks_text(cell), TASKS_LIMIT)
    except Exception as exc:
        reply["tasks"] = "<could not read tasks: %s>\n" % safe_str(exc)
    if cell is not None:
        try:
            calls = cell.snapshot()
            refs, note = share_chains(calls)
            reply["calls"], reply["chain_of"] = calls, refs
            reply["log"] = (cell.log.text() + note)[-LOG_LIMIT:]
            reply["duration_ms"] = round((time.monotonic() - cell.t0) * 1000.0, 3)
        except Exception as exc:
            diag("tasks snapshot: %s" % safe_str(exc))
    emit(reply)


# ---------------------------------------------------------------------------
# Fork server: a fresh child process per cell
# ---------------------------------------------------------------------------
#
# Why: providers keep class-level state (cached arguments, cookies, sessions,
# model lists) and nest_asyncio patches asyncio process-wide, so two cells
# that share a process can change each other's verdict. Re-importing g4f per
# cell costs about half a second of CPU; a fork of a process that has
# imported it costs milliseconds. So the worker imports g4f once and then
# stays as it is: single-threaded, no event loop, no provider code run. Every
# request that runs g4f code (run, catalog) is served by a child forked for
# it, in a process group of its own, which exits when it is done.

FORK_ENV = "G4FDIAG_FORK"   # "0" forces a process per cell, for comparison
SELECT_IDLE_S = 0.2         # reap poll while children run
SELECT_REAP_S = 0.005       # a child closed its pipe and has not been reaped
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
CONTAIN_BUDGET_S = 2.0      # killing what a process left below it: at most this
CONTAIN = sys.platform.startswith("linux")  # /proc and subreapers

FORKING = False             # this process is a fork server
FORK_REASON = ""            # why it is not, when it is not
LIBC = None                 # for prctl in children, loaded before any fork
G4F = None                  # the imported g4f, for forked children
CHILDREN = {}               # pid -> Child, in the fork server
CHILD_REQUESTS = None       # in a child: the read end of its request pipe


def os_threads():
    """Threads of this process, C threads included (Linux), else Python's."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def fork_safety():
    """(True, "") when this process may fork a child per cell, else (False,
    why). A fork copies only the calling thread: a lock another thread held
    stays held for ever in the child, so a process with threads must not."""
    if os.environ.get(FORK_ENV, "") == "0":
        return False, "%s=0 in the environment" % FORK_ENV
    if not hasattr(os, "fork"):
        return False, "os.fork is not available on %s" % sys.platform
    if sys.platform == "darwin":
        return False, "fork is unsafe on macOS once system frameworks are loaded"
    extra = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    if extra:
        return False, "importing g4f started threads (%s)" % ", ".join(extra[:3])
    if os_threads() > 1:
        return False, "importing g4f started %d native threads" % (os_threads() - 1)
    return True, ""


# -- containment: nothing a provider starts outlives its cell ------------------
#
# A provider may start processes that leave the cell's process group and
# session (setsid, a double fork: browsers and their drivers do), so ending
# the group is not enough. Every process that runs provider code, and every
# fork server, is a child subreaper (Linux): what its descendants leave
# behind is adopted by it, not by init, and kill_descendants finds it among
# its own children. What a process killed by SIGKILL left goes to the
# nearest living subreaper above it: its fork server, else g4fdiag.

def become_subreaper():
    """PR_SET_CHILD_SUBREAPER on this process (Linux; elsewhere nothing).
    Not inherited by fork: each process that needs it asks for it."""
    global LIBC
    if not CONTAIN:
        return False
    try:
        if LIBC is None:
            import ctypes
            LIBC = ctypes.CDLL(None, use_errno=True)
        return LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except Exception:
        return False


def has_children():
    """Whether this process has a child, running or not yet reaped. A
    subreaper without children has no descendants at all. (waitid with
    WNOWAIT reaps nothing; a few microseconds, no /proc walk.)"""
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    except Exception:
        return True
    return True


def process_table():
    """{pid: (ppid, zombie)} of every process, from /proc/*/stat."""
    table = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return table
    for name in names:
        if not name.isdigit():
            continue
        try:
            fd = os.open("/proc/%s/stat" % name, os.O_RDONLY)
            try:
                data = os.read(fd, 1024)
            finally:
                os.close(fd)
            fields = data.rsplit(b")", 1)[1].split(None, 2)
            table[int(name)] = (int(fields[1]), fields[0] == b"Z")
        except (OSError, ValueError, IndexError):
            continue
    return table


def kill_descendants(keep=(), budget_s=CONTAIN_BUDGET_S):
    """SIGKILL every process below this one but the children in keep (a fork
    server's live cells) and what is below them, and reap the ones that are,
    or become, its children; in rounds, until none is left or the budget is
    spent. Returns how many processes were killed."""
    if not CONTAIN or not has_children():
        return 0
    me = os.getpid()
    end = time.monotonic() + budget_s
    killed = set()
    while True:
        table = process_table()
        below = {}
        for pid, (ppid, _) in table.items():
            below.setdefault(ppid, []).append(pid)
        direct = [pid for pid in below.get(me, ()) if pid not in keep]
        if not direct:
            break
        stack, seen = list(direct), set()
        while stack:
            pid = stack.pop()
            if pid in seen:  # /proc is read one file at a time: pids move
                continue
            seen.add(pid)
            stack.extend(below.get(pid, ()))
            if table[pid][1]:
                continue  # a zombie: its parent reaps it
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except OSError:
                pass
        for pid in direct:
            try:
                os.waitpid(pid, os.WNOHANG)
            except OSError:
                pass
        if time.monotonic() >= end:
            break
        time.sleep(0.001)
    return len(killed)


def contain_on_sigterm():
    """SIGTERM kills what this process started before it ends as SIGTERM
    would have ended it."""
    def terminate(signum, frame):
        kill_descendants()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    try:
        signal.signal(signal.SIGTERM, terminate)
    except (ValueError, OSError):
        pass


class Child(object):
    """A forked child as the fork server sees it: its pid, the request id it
    serves, the pipe its events come on and the pipe requests go to."""

    def __init__(self, req_id, pid, events, requests):
        self.id = req_id
        self.pid = pid
        self.events = events
        self.requests = requests
        self.pending = bytearray()
        self.skipping = False  # dropping a line over EVENT_LIMIT
        self.eof = False


def die_with_parent(parent):
    """PR_SET_PDEATHSIG: the child is killed when the fork server dies, so a
    killed worker never leaves a cell behind."""
    try:
        if LIBC is not None:
            LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass
    if os.getppid() != parent:
        os._exit(1)  # the parent died before prctl took effect


def become_child(req, parent, events_w, requests_r, inherited):
    """First thing in a forked child: its own process group, its own
    protocol pipe instead of fd 3, its own output and stack-dump files."""
    global CHANNEL, CHILD_REQUESTS, DUMP_FILE, FORKING
    FORKING = False
    for fd in inherited:
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        os.setpgid(0, 0)
    except OSError:
        pass
    die_with_parent(parent)
    become_subreaper()
    CHANNEL._out.close()                       # fd 3 belongs to the fork server
    CHANNEL = Channel(events_w)
    CHILD_REQUESTS = requests_r
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    out = req.get("out")
    if isinstance(out, str) and out:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    dump = req.get("dump")
    if isinstance(dump, str) and dump:
        DUMP_FILE = register_dump(dump)


def prepare_fork():
    """Decide whether this worker forks per cell; if so, load what children
    need and freeze the imported heap, so a child's garbage collector does
    not write (and so copy) every page the fork server shares with it."""
    global FORKING, FORK_REASON, LIBC
    FORKING, FORK_REASON = fork_safety()
    if not FORKING or not VARIANT.available:
        FORKING = False
        return
    try:
        import ctypes
        LIBC = ctypes.CDLL(None, use_errno=True)
    except Exception:
        LIBC = None
    try:
        # What asyncio imports on a loop's first run_in_executor (and the
        # to-thread remedy): once here, not once per child.
        import concurrent.futures.thread  # noqa: F401
        import select  # noqa: F401
    except Exception:
        pass
    FORKING, FORK_REASON = fork_safety()  # ctypes starts no thread; check anyway
    if FORKING:
        become_subreaper()  # what a killed child leaves comes here
    if FORKING and hasattr(gc, "freeze"):
        gc.collect()
        gc.freeze()


def fork_child(req, work):
    """Fork a child that runs work(req) and exits; tell Go its pid."""
    events_r, events_w = os.pipe()
    requests_r, requests_w = os.pipe()
    parent = os.getpid()
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        status = 0
        try:
            inherited = [events_r, requests_w]
            for c in CHILDREN.values():
                inherited += [c.events, c.requests]
            become_child(req, parent, events_w, requests_r, inherited)
            work(req)
        except BaseException as exc:
            status = 1
            try:
                error_reply(req.get("id"), exc)
            except BaseException:
                pass
        end_child(status)
    os.close(events_w)
    os.close(requests_r)
    try:
        os.setpgid(pid, pid)  # also here: Go may signal the group at once
    except OSError:
        pass
    os.set_blocking(events_r, False)
    CHILDREN[pid] = Child(req.get("id"), pid, events_r, requests_w)
    emit({"id": req.get("id"), "event": "forked", "pid": pid,
          "fork_ms": round((time.monotonic() - t0) * 1000.0, 3)})
    return CHILDREN[pid]


def end_child(status):
    """Leave a child: flush the protocol, kill every process below it, then
    end its whole process group, so nothing a provider started outlives the
    cell. A child that leaves nothing exits (its fork server then has
    nothing to look for); else its group's SIGKILL ends it too."""
    flush_all()
    if CONTAIN:
        kill_descendants()
        if not has_children():
            os._exit(status)
    try:
        if os.getpgid(0) == os.getpid():
            os.killpg(0, signal.SIGKILL)
    except OSError:
        pass
    os._exit(status)


def child_run(req):
    """A forked child's cell: on a thread of its own, as in a worker that
    cannot fork, while the main thread is the watchdog and answers "tasks"
    requests relayed by the fork server. Starting a thread costs a forked
    child more than it costs a warm process (its pages are copied on first
    touch), so one thread does both jobs. The cell thread ends the process
    once it has sent "done" (see run_cell)."""
    start_cell(req, G4F)
    child_watch()


def child_watch():
    import select
    pending = bytearray()
    while True:
        ready, _, _ = select.select([CHILD_REQUESTS], [], [], WATCHDOG_S)
        if ready:
            data = os.read(CHILD_REQUESTS, 1 << 16)
            if not data:
                end_child(1)  # the fork server is gone
            pending += data
            while b"\n" in pending:
                i = pending.index(b"\n")
                line = bytes(pending[:i])
                del pending[:i + 1]
                child_request(line)
        check_heartbeats()


def child_catalog(req):
    emit({"id": req.get("id"), "event": "catalog", "providers": catalog(G4F)})


def child_request(line):
    try:
        req = json.loads(line.decode("utf-8", "replace"))
        if isinstance(req, dict) and req.get("op") == "tasks":
            answer_tasks(req)
    except Exception as exc:
        diag("child request: %s" % safe_str(exc))


def exit_status(status):
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return "signal: %s" % name
    if os.WIFEXITED(status):
        return "exit status %d" % os.WEXITSTATUS(status)
    return "status %d" % status


class ForkServer(object):
    """The worker's main loop when it forks: one thread, one selector over
    stdin (Go's requests) and every child's event pipe; child events are
    relayed to fd 3 line by line, and a reaped child is reported "exited"
    (Go ignores that after "done"; before it, the cell crashed)."""

    def __init__(self):
        import selectors
        self.sel = selectors.DefaultSelector()
        self.stdin = sys.stdin.fileno()
        os.set_blocking(self.stdin, False)
        self.sel.register(self.stdin, selectors.EVENT_READ, None)
        self.inbuf = bytearray()
        self.selectors = selectors

    def run(self):
        while True:
            timeout = None
            if CHILDREN:
                timeout = SELECT_IDLE_S
                if any(c.eof for c in CHILDREN.values()):
                    timeout = SELECT_REAP_S
            for key, _ in self.sel.select(timeout):
                if key.data is None:
                    if not self.read_requests():
                        return
                else:
                    self.read_child(key.data)
            self.reap()

    def read_requests(self):
        try:
            data = os.read(self.stdin, 1 << 16)
        except BlockingIOError:
            return True
        if not data:
            return False  # EOF: Go is done with us
        self.inbuf += data
        while True:
            i = self.inbuf.find(b"\n")
            if i < 0:
                return True
            line = bytes(self.inbuf[:i]).strip()
            del self.inbuf[:i + 1]
            if line and not self.request(line):
                return False

    def request(self, line):
        req_id = None
        try:
            req = json.loads(line.decode("utf-8", "replace"))
            if not isinstance(req, dict):
                raise HarnessError("request is not a JSON object")
            req_id = req.get("id")
            op = req.get("op")
            if op == "exit":
                return False
            if op == "run":
                parse_cell(req)  # a bad request is refused without a fork
                self.watch(fork_child(req, child_run))
            elif op == "catalog":
                self.watch(fork_child(req, child_catalog))
            elif op == "tasks":
                self.forward(req, line)
            else:
                raise HarnessError("unknown op %r" % (op,))
        except Exception as exc:
            error_reply(req_id, exc)
        return True

    def watch(self, child):
        self.sel.register(child.events, self.selectors.EVENT_READ, child)

    def forward(self, req, line):
        for child in CHILDREN.values():
            if child.id == req.get("cell_id"):
                try:
                    os.write(child.requests, line + b"\n")
                    return
                except OSError:
                    break
        emit({"id": req.get("id"), "event": "tasks", "tasks": ""})

    def read_child(self, child):
        while True:
            try:
                data = os.read(child.events, 1 << 16)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                child.eof = True
                self.sel.unregister(child.events)
                return
            child.pending += data
            while True:
                i = child.pending.find(b"\n")
                if i < 0:
                    if len(child.pending) > EVENT_LIMIT:
                        # Not the child's Channel (it bounds its lines):
                        # something else wrote to its pipe. Drop the line.
                        diag("child %d: a line over %d bytes on its pipe, dropped" % (child.pid, EVENT_LIMIT))
                        del child.pending[:]
                        child.skipping = True
                    break
                if not child.skipping:
                    CHANNEL.send_line(child.pending[:i].decode("utf-8", "replace"))
                child.skipping = False
                del child.pending[:i + 1]

    def reap(self):
        while CHILDREN:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child = CHILDREN.get(pid)
            if child is None:
                continue
            if not child.eof:
                self.read_child(child)  # what it wrote before it died
                if not child.eof:
                    self.sel.unregister(child.events)
            del CHILDREN[pid]
            for fd in (child.events, child.requests):
                try:
                    os.close(fd)
                except OSError:
                    pass
            emit({"id": child.id, "event": "exited", "pid": pid,
                  "status": exit_status(status)})
            if not os.WIFEXITED(status):
                # Killed (its deadline, a crash): what it started and left
                # is this process's now.
                kill_descendants(keep=CHILDREN)

    def close(self):
        for pid in list(CHILDREN):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        kill_descendants()


# ---------------------------------------------------------------------------
# Serve mode: g4f's API app under uvicorn, logs for the Go side
# ---------------------------------------------------------------------------

LOG_PREFIX = "g4fdiag-log"
REQUEST_HEADER = b"x-g4fdiag-request"
REQUEST_ID_LIMIT = 128
# The X-G4fdiag-Request of the request being served. uvicorn runs each
# request in its own task and Starlette copies the context into the tasks
# it spawns, so every record logged on behalf of a request can read it.
REQUEST_ID = contextvars.ContextVar("g4fdiag_request", default="-")
_EMITTING = threading.local()  # a log line is being written on this thread


def process_start_wall():
    """time.time() of this process's start: /proc on Linux (10 ms ticks),
    else the moment logging was imported (first lines of this file)."""
    try:
        with open("/proc/self/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        started = float(fields[19]) / os.sysconf("SC_CLK_TCK")  # since boot
        uptime = time.clock_gettime(time.CLOCK_BOOTTIME)
        if 0 <= uptime - started < 86400 * 365:
            return time.time() - (uptime - started)
    except Exception:
        pass
    return getattr(logging, "_startTime", time.time())


def clean_request_id(raw):
    """A header value safe to put in one log field: printable ASCII, no
    spaces, no commas (they join the ids of a record about several)."""
    text = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
    text = "".join(c if "!" <= c <= "~" and c != "," else "_" for c in text)
    return text[:REQUEST_ID_LIMIT] or "-"


class RequestIdFilter(logging.Filter):
    """Stamps each record with the request id of the context it is logged in."""

    def filter(self, record):
        if not hasattr(record, "g4fdiag_req"):
            try:
                record.g4fdiag_req = REQUEST_ID.get()
            except Exception:
                record.g4fdiag_req = "-"
        return True


class PrefixFormatter(logging.Formatter):
    """One record -> lines `g4fdiag-log t=MS req=ID LOGGER LEVEL: text`, the
    prefix repeated on every line of a multi-line message or traceback."""

    def __init__(self, start_wall):
        logging.Formatter.__init__(self)
        self.start_wall = start_wall

    def format(self, record):
        try:
            text = record.getMessage()
        except Exception as exc:
            text = "%r %r <unformattable: %s>" % (record.msg, record.args, safe_str(exc))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            text = text.rstrip("\n") + "\n" + record.exc_text
        if record.stack_info:
            text = text.rstrip("\n") + "\n" + self.formatStack(record.stack_info)
        prefix = "%s t=%.3f req=%s %s %s: " % (
            LOG_PREFIX, (record.created - self.start_wall) * 1000.0,
            getattr(record, "g4fdiag_req", "-"), record.name or "root", record.levelname)
        return "\n".join(prefix + line for line in (text.splitlines() or [""]))


class LineHandler(logging.StreamHandler):
    """Writes to the real stderr, whole records at once."""

    def emit(self, record):
        _EMITTING.active = True
        try:
            logging.StreamHandler.emit(self, record)
        finally:
            _EMITTING.active = False


class PrintToLog(object):
    """Stands in for sys.stdout / sys.stderr in serve mode: what g4f prints
    becomes log records (logger "stdout" / "stderr"), a line at a time, with
    the request id of the printing context."""

    def __init__(self, original, name):
        self._original = original
        self._logger = logging.getLogger(name)
        self._partial = {}  # thread ident -> text without its newline yet
        self._lock = threading.Lock()

    def write(self, text):
        if not isinstance(text, str):
            text = safe_str(text)
        if getattr(_EMITTING, "active", False):
            # logging reporting its own failure: straight out, no loop.
            self._original.write(text)
            return len(text)
        key = threading.get_ident()
        with self._lock:
            pending = self._partial.pop(key, "") + text
            lines = pending.split("\n")
            if lines[-1]:
                self._partial[key] = lines[-1]
        for line in lines[:-1]:
            self._logger.info("%s", line.rstrip("\r"))
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        with self._lock:
            pending = self._partial.pop(threading.get_ident(), "")
        if pending:
            self._logger.info("%s", pending)

    def isatty(self):
        return False

    def __getattr__(self, name):
        return getattr(self._original, name)


def setup_serve_logging():
    """Every log record, whoever logs it, to stderr in the g4fdiag-log format."""
    handler = LineHandler(ORIGINAL_STDERR)
    handler.setFormatter(PrefixFormatter(process_start_wall()))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    sys.stdout = PrintToLog(ORIGINAL_STDOUT, "stdout")
    sys.stderr = PrintToLog(ORIGINAL_STDERR, "stderr")
    return handler


def adopt_loggers(handler):
    """Loggers that print on their own (g4f's, or any set up on import)
    hand their records to the root handler instead, so every line has the
    prefix. Loggers writing to files keep their handlers."""
    manager = logging.Logger.manager
    for logger in [logging.getLogger()] + list(manager.loggerDict.values()):
        if not isinstance(logger, logging.Logger):
            continue
        for old in list(logger.handlers):
            if old is handler or isinstance(old, logging.FileHandler):
                continue
            if isinstance(old, logging.StreamHandler):
                logger.removeHandler(old)
                logger.propagate = True


def request_id_of(context):
    """The request id carried by the handle/task an asyncio error is about."""
    for key in ("handle", "task", "future"):
        obj = context.get(key)
        ctx = getattr(obj, "_context", None)
        if ctx is None and callable(getattr(obj, "get_context", None)):
            try:
                ctx = obj.get_context()
            except Exception:
                ctx = None
        if isinstance(ctx, contextvars.Context):
            value = ctx.get(REQUEST_ID, "-")
            if value != "-":
                return value
    return "-"


def loop_exception_handler(loop, context):
    """asyncio's default handler ("Exception in callback", "Task exception was
    never retrieved"), logged with the ids of every request it concerns: the
    running context's (a nested run inside a request) and the handle's or
    task's. nest_asyncio's "Cannot enter into task A while another task B is
    being executed" is raised in B's request and leaves A's hanging: both
    requests' evidence needs it. A task of no request may be one whose
    request has not been read yet (its first step is what failed): "-"
    among the ids shares the record with every request of its time."""
    running, concerned = REQUEST_ID.get(), request_id_of(context)
    ids = [running] if running != "-" else []
    if concerned not in ids and (concerned != "-" or ids):
        ids.append(concerned)
    token = REQUEST_ID.set(",".join(ids)) if ids else None
    try:
        loop.default_exception_handler(context)
    finally:
        if token is not None:
            REQUEST_ID.reset(token)


class RequestIdMiddleware(object):
    """ASGI wrapper: the X-G4fdiag-Request header into REQUEST_ID; on its
    first call (lifespan startup, or the first request) it installs the loop
    exception handler on the running loop."""

    def __init__(self, app):
        self.app = app
        self.loop_ready = False

    async def __call__(self, scope, receive, send):
        if not self.loop_ready:
            self.loop_ready = True
            try:
                loop = asyncio.get_running_loop()
                if loop.get_exception_handler() is None:
                    loop.set_exception_handler(loop_exception_handler)
            except Exception as exc:
                logging.getLogger("g4fdiag").warning("no loop exception handler: %s", safe_str(exc))
        if scope.get("type") not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        request_id = "-"
        for name, value in scope.get("headers") or ():
            if name.lower() == REQUEST_HEADER:
                request_id = clean_request_id(value)
                break
        token = REQUEST_ID.set(request_id)
        try:
            return await self.app(scope, receive, send)
        finally:
            try:
                REQUEST_ID.reset(token)
            except ValueError:  # finished in another context: nothing to undo
                pass


def api_app(module, g4f):
    """The ASGI app of g4f.api, whatever the release: create_app() (0.3.2
    and later, a uvicorn factory), a module-level `app`, or the 0.2.x
    `Api(engine=g4f).app`."""
    factory = getattr(module, "create_app", None)
    if callable(factory):
        return factory(), "create_app()"
    app = getattr(module, "app", None)
    if app is not None:
        return app, "app"
    api_class = getattr(module, "Api", None)
    if inspect.isclass(api_class):
        try:
            params = inspect.signature(api_class).parameters
        except (TypeError, ValueError):
            params = {}
        if "engine" in params:
            return api_class(engine=g4f).app, "Api(engine=g4f).app"
    raise HarnessError("g4f.api has no create_app, no app and no Api(engine=...)")


def serve_fatal(message, exc=None):
    """Exit 3 with one clear line on stderr (and, for an exception, its
    traceback as log lines before it)."""
    if exc is not None:
        logging.getLogger("g4fdiag").error("%s", message, exc_info=(type(exc), exc, exc.__traceback__))
    try:
        ORIGINAL_STDERR.write("g4fdiag-serve fatal: %s\n" % message.replace("\n", " "))
        ORIGINAL_STDERR.flush()
    except Exception:
        pass
    logging.shutdown()
    os._exit(3)


def dist_or_module_version(module, name):
    return getattr(module, "__version__", "") or dist_version(name)


def serve_setup(args):
    """What both serve modes do before any server runs: the loop variant
    (before g4f sees any import), the log format, the stack-dump file,
    uvicorn and g4f.api imported, the app built and wrapped. Returns
    (uvicorn, app, handler); exits 3 when any of it fails."""
    global VARIANT, DUMP_FILE
    VARIANT = setup_variant(args.loop)
    handler = setup_serve_logging()
    log = logging.getLogger("g4fdiag")
    if not VARIANT.available:
        serve_fatal("loop variant %s unavailable: %s" % (VARIANT.name, VARIANT.reason))
    DUMP_FILE = register_dump(args.dump)
    try:
        import uvicorn
    except BaseException as exc:
        serve_fatal("uvicorn not importable: %s: %s" % (type_name(exc), safe_str(exc)), exc)
    try:
        g4f = importlib.import_module("g4f")
        settle_nest(VARIANT)
    except BaseException as exc:
        serve_fatal("g4f.api not usable: %s: %s" % (type_name(exc), safe_str(exc)), exc)
    if not VARIANT.available:
        serve_fatal("loop variant %s unavailable: %s" % (VARIANT.name, VARIANT.reason))
    try:
        register_probes(g4f, log.warning)  # before the app: its routes resolve names in g4f.Provider
        module = importlib.import_module("g4f.api")
        app, source = api_app(module, g4f)
    except BaseException as exc:
        serve_fatal("g4f.api not usable: %s: %s" % (type_name(exc), safe_str(exc)), exc)
    adopt_loggers(handler)
    path = g4f_path(g4f)
    log.info("g4f %s at %s, app from g4f.api.%s, nest module %s, uvicorn %s, loop %s %s",
             g4f_version(g4f, path) or "?", path, source, nest_module_of_g4f() or "-",
             dist_or_module_version(uvicorn, "uvicorn") or "?", VARIANT.package,
             VARIANT.version)
    return uvicorn, RequestIdMiddleware(app), handler


def serve_api(args):
    """--serve-api --port N: one server in this process, on the variant's
    loop. Returns when uvicorn does (SIGTERM / SIGINT, uvicorn's own
    handling)."""
    uvicorn, app, handler = serve_setup(args)
    become_subreaper()
    try:
        return run_uvicorn(uvicorn, app, handler, args.host, args.port)
    finally:
        kill_descendants()


def run_uvicorn(uvicorn, app, handler, host, port):
    """Serve app until uvicorn stops; the exit status (0, or 130 on
    KeyboardInterrupt), or exit 3 when uvicorn could not start."""
    config = make_uvicorn_config(uvicorn, app, host, port)
    server = ready_server_class(uvicorn)(config)
    try:
        server.run()
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            return 130
        if isinstance(exc, SystemExit) and not getattr(server, "started", False):
            serve_fatal("uvicorn could not start on %s:%d (exit %s)" % (host, port, exc.code))
        raise
    finally:
        adopt_loggers(handler)
    if not getattr(server, "started", False):
        serve_fatal("uvicorn did not start on %s:%d" % (host, port))
    return 0


def make_uvicorn_config(uvicorn, app, host, port):
    """Same options on every uvicorn since 0.1x: an explicit loop (uvloop for
    the uvloop variant, the stdlib one otherwise), the access log, and no
    log_config (uvicorn then leaves logging to us)."""
    options = {"host": host, "port": port,
               "loop": "uvloop" if VARIANT.name == "uvloop" else "asyncio",
               "lifespan": "auto", "access_log": True, "log_config": None,
               "log_level": "info"}
    try:
        return uvicorn.Config(app, **options)
    except TypeError:  # a uvicorn that lacks one of them: the essentials
        for name in ("log_config", "access_log", "lifespan", "log_level"):
            options.pop(name, None)
        return uvicorn.Config(app, **options)


def ready_server_class(uvicorn):
    """uvicorn.Server that prints the ready line once it listens."""

    class ReadyServer(uvicorn.Server):
        async def startup(self, *args, **kwargs):
            result = await uvicorn.Server.startup(self, *args, **kwargs)
            if getattr(self, "started", True) and not self.should_exit:
                print_ready(self)
            return result

    return ReadyServer


def print_ready(server):
    port = server.config.port
    try:
        for srv in getattr(server, "servers", None) or ():
            for sock in srv.sockets or ():
                port = sock.getsockname()[1]
                break
    except Exception:
        pass
    try:
        ORIGINAL_STDERR.write("g4fdiag-serve ready port=%d loop=%s pid=%d\n"
                              % (port, VARIANT.name, os.getpid()))
        ORIGINAL_STDERR.flush()
    except Exception:
        pass


# ---------------------------------------------------------------------------
# Serve mode's fork server: a fresh API server per cell
# ---------------------------------------------------------------------------
#
# Why: nest_asyncio patches asyncio process-wide at the first re-entry, so a
# server that has answered one request is not the server a user starts:
# its next stream no longer meets the task-switch hang that a fresh server's
# first overlapping requests do. A re-import costs about half a second; a
# fork of a process that imported everything and never ran a loop costs
# milliseconds, and uvicorn's start in the child a few more.

SERVE_CONTROL_FD = 3       # --fork-server: Go's SOCK_SEQPACKET socket
SERVE_REQUEST_LIMIT = 1 << 16  # bytes of one request record
SERVE_MAX_FDS = 4              # room for more than the one expected, to refuse them


def serve_send(control, obj):
    """One record to Go; Go gone means nothing is left to serve: exit, and
    the children follow (PR_SET_PDEATHSIG)."""
    try:
        control.send(json.dumps(obj, ensure_ascii=True, default=str).encode("ascii"))
    except OSError:
        os._exit(0)


def received_fds(ancdata):
    """The file descriptors an SCM_RIGHTS message carried."""
    import array
    import socket
    fds = array.array("i")
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
    return list(fds)


def warm_uvicorn(uvicorn, app):
    """Load a throw-away config, so the protocol and lifespan modules uvicorn
    picks are imported here once instead of in every child."""
    try:
        config = make_uvicorn_config(uvicorn, app, "127.0.0.1", 0)
        if hasattr(config, "load"):
            config.load()
    except Exception as exc:
        logging.getLogger("g4fdiag").info("uvicorn warm-up skipped: %s", safe_str(exc))


API_SERVERS = set()  # pids of the servers a fork server forked, until reaped


def reap_api_servers(control):
    """SIGCHLD: report every server that ended, so Go knows when a server's
    process group is gone; kill what a killed one left behind (orphans
    adopted by this subreaper are reaped here too, and not reported)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid not in API_SERVERS:
            continue
        API_SERVERS.discard(pid)
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
        serve_send(control, {"event": "exited", "pid": pid, "status": exit_status(status),
                             "code": code})
        if not os.WIFEXITED(status):
            signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])
            try:
                kill_descendants(keep=API_SERVERS)
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGCHLD])


def fork_server(args):
    """--serve-api --fork-server: import once, then fork an API server per
    request (see the module doc). Returns the exit status."""
    import socket
    try:
        control = socket.socket(fileno=SERVE_CONTROL_FD)
    except OSError as exc:
        diag("file descriptor %d is not the control socket: %s" % (SERVE_CONTROL_FD, exc))
        return 2
    started = time.monotonic()
    uvicorn, app, handler = serve_setup(args)
    warm_uvicorn(uvicorn, app)
    prepare_fork()
    for stream in (ORIGINAL_STDOUT, ORIGINAL_STDERR):
        stream.flush()
    serve_send(control, {"event": "ready", "fork": FORKING, "reason": FORK_REASON,
                         "pid": os.getpid(),
                         "setup_ms": round((time.monotonic() - started) * 1000.0, 3)})
    if not FORKING:
        return 0
    become_subreaper()
    contain_on_sigterm()
    try:
        return fork_api_servers(control, uvicorn, app, handler)
    finally:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # Go may be gone: nobody to tell
        kill_descendants()


def fork_api_servers(control, uvicorn, app, handler):
    """The fork server's loop: a server per request until Go is done."""
    import array
    import socket
    signal.signal(signal.SIGCHLD, lambda signum, frame: reap_api_servers(control))
    fd_space = socket.CMSG_SPACE(SERVE_MAX_FDS * array.array("i").itemsize)
    while True:
        try:
            data, ancdata, flags, _ = control.recvmsg(SERVE_REQUEST_LIMIT, fd_space)
        except OSError:
            return 0
        fds = received_fds(ancdata)
        if not data:
            return 0  # EOF: Go is done with us
        req_id = None
        try:
            if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
                raise HarnessError("request cut short (over %d bytes, or over %d fds)"
                                   % (SERVE_REQUEST_LIMIT, SERVE_MAX_FDS))
            req = json.loads(data.decode("utf-8", "replace"))
            if not isinstance(req, dict):
                raise HarnessError("request is not a JSON object")
            req_id = req.get("id")
            op = req.get("op")
            if op == "exit":
                return 0
            if op != "fork":
                raise HarnessError("unknown op %r" % (op,))
            if len(fds) != 1:
                raise HarnessError("a fork request carries one file descriptor, got %d" % len(fds))
            fork_api_server(control, req, fds[0], uvicorn, app, handler)
        except Exception as exc:
            serve_send(control, {"id": req_id, "event": "error",
                                 "error": "%s: %s" % (type_name(exc), safe_str(exc))})
        finally:
            for fd in fds:
                try:
                    os.close(fd)
                except OSError:
                    pass


def fork_api_server(control, req, out_fd, uvicorn, app, handler):
    """Fork one API server; tell Go its pid before any "exited" of it can go
    out (SIGCHLD stays blocked until then)."""
    host = req.get("host") or "127.0.0.1"
    port = req.get("port") or 0
    dump = req.get("dump") or ""
    if not isinstance(host, str) or not isinstance(port, int) or not isinstance(dump, str):
        raise HarnessError("fork wants host (string), port (integer), dump (string)")
    parent = os.getpid()
    begun = time.monotonic()
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])
    try:
        pid = os.fork()
        if pid == 0:
            status = 3
            try:
                status = api_server_child(control, out_fd, parent, host, port, dump,
                                          uvicorn, app, handler)
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                try:
                    traceback.print_exc(file=ORIGINAL_STDERR)
                except BaseException:
                    pass
            finally:
                for stream in (ORIGINAL_STDOUT, ORIGINAL_STDERR):
                    try:
                        stream.flush()
                    except BaseException:
                        pass
                kill_descendants()
                os._exit(status)
        API_SERVERS.add(pid)
        try:
            os.setpgid(pid, pid)  # also here: Go may signal the group at once
        except OSError:
            pass
        serve_send(control, {"id": req.get("id"), "event": "forked", "pid": pid,
                             "fork_ms": round((time.monotonic() - begun) * 1000.0, 3)})
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGCHLD])


def api_server_child(control, out_fd, parent, host, port, dump, uvicorn, app, handler):
    """A forked API server: its own process group (Go ends it and whatever it
    started at once), dead with the fork server, its own output pipe and
    stack-dump file, log times counted from its own start."""
    global DUMP_FILE
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGCHLD])
    try:
        os.setpgid(0, 0)
    except OSError:
        pass
    die_with_parent(parent)
    become_subreaper()
    control.close()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.close(out_fd)
    if dump:
        DUMP_FILE = register_dump(dump)
    if isinstance(handler.formatter, PrefixFormatter):
        handler.formatter.start_wall = time.time()
    return run_uvicorn(uvicorn, app, handler, host, port)


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def register_dump(path):
    """SIGUSR1 -> every thread's stack into PATH (Go sends it at a deadline).
    faulthandler writes from C, so it works while Python threads are stuck."""
    if not hasattr(faulthandler, "register"):
        diag("faulthandler.register unavailable on this platform")
        return None
    target = open(path, "a") if path else ORIGINAL_STDERR
    faulthandler.register(signal.SIGUSR1, file=target, all_threads=True, chain=False)
    return target  # keep it open for the life of the process


def serve(g4f):
    stdin = sys.stdin
    while True:
        line = stdin.readline()
        if not line:
            return  # EOF: Go is done with us
        line = line.strip()
        if not line:
            continue
        req_id = None
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise HarnessError("request is not a JSON object")
            req_id = req.get("id")
            op = req.get("op")
            if op == "exit":
                return
            if op == "catalog":
                emit({"id": req_id, "event": "catalog", "providers": catalog(g4f)})
            elif op == "run":
                start_cell(req, g4f)
            elif op == "tasks":
                # Own thread: reading another thread's tasks must never
                # hold up the requests behind it.
                threading.Thread(target=answer_tasks, args=(req,), daemon=True,
                                 name="g4fdiag-tasks-%s" % req_id).start()
            else:
                raise HarnessError("unknown op %r" % (op,))
        except Exception as exc:
            error_reply(req_id, exc)


def quit_now(status):
    """os._exit: stuck cell threads (or executor workers joined at exit)
    must not keep the worker alive; nor must what they started."""
    flush_all()
    kill_descendants()
    os._exit(status)


def flush_all():
    """What is written before os._exit: the real streams and the protocol."""
    for stream in (ORIGINAL_STDOUT, ORIGINAL_STDERR):
        try:
            stream.flush()
        except Exception:
            pass
    if CHANNEL is not None:
        CHANNEL.flush()


def main(argv=None):
    global CHANNEL, VARIANT, API, DUMP_FILE, G4F
    parser = argparse.ArgumentParser(description="g4fdiag worker harness")
    parser.add_argument("--loop", required=True, choices=LOOPS)
    parser.add_argument("--dump", default="", help="file SIGUSR1 stack dumps are appended to")
    parser.add_argument("--serve-api", action="store_true",
                        help="serve g4f.api under uvicorn instead of the worker protocol")
    parser.add_argument("--port", type=int, default=None, help="--serve-api: port to listen on")
    parser.add_argument("--host", default="127.0.0.1", help="--serve-api: address to bind")
    parser.add_argument("--fork-server", action="store_true",
                        help="--serve-api: fork a fresh server per request on fd 3")
    args = parser.parse_args(argv)

    if args.serve_api:
        if args.fork_server:
            if args.port is not None:
                parser.error("--fork-server takes no --port: each server it forks binds its own")
            return fork_server(args)
        if args.port is None:
            parser.error("--serve-api needs --port or --fork-server")
        return serve_api(args)
    if args.port is not None or args.fork_server:
        parser.error("--port and --fork-server only go with --serve-api")

    try:
        CHANNEL = Channel(PROTOCOL_FD)
    except OSError as exc:
        diag("file descriptor %d is not open for the protocol: %s" % (PROTOCOL_FD, exc))
        return 2

    VARIANT = setup_variant(args.loop)   # 1. before g4f sees any import
    DUMP_FILE = register_dump(args.dump)  # 2.
    install_router()
    try:
        g4f = import_g4f()                # 3.
    except BaseException as exc:
        emit({"event": "fatal", "error": exception_record(exc)})
        quit_now(3)
    settle_nest(VARIANT)
    register_probes(g4f)
    API = Api(g4f)
    G4F = g4f
    prepare_fork()                        # 4.
    if not FORKING:
        become_subreaper()  # a worker per cell: the cell's leftovers come here
    contain_on_sigterm()
    emit(ready_event(g4f))                # 5.
    if FORKING:
        server = ForkServer()
        try:
            server.run()
        finally:
            server.close()
        quit_now(0)
    threading.Thread(target=watchdog, daemon=True, name="g4fdiag-watchdog").start()
    serve(g4f)
    quit_now(0)


if __name__ == "__main__":
    sys.exit(main())
