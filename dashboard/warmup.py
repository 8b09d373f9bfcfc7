"""Prepare the figures and the 全县一张图 map as soon as the data changes, wherever it changed.

Why: an import from the command line (``python -m services import``), or through another app
instance in front of a shared PostGIS, changes the data version behind this process's back;
the first person to open a page then waited while the whole county was assessed again (7–8 s
for a 100k-unit city). One daemon thread per store and process watches the data version
(a one-row query every ``DATA_WATCH_S`` seconds, default 5; 0 turns it off) and, when it
changes, computes the default-policy figures through the same cache the pages read
(``dashboard.state``) and renders the map a whole-county viewer sees first on 全县一张图 (no
filter, OpenStreetMap). A page opened meanwhile waits for that work instead of repeating it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

_stops: dict[str, threading.Event] = {}  # the running watchers, by store URL
_lock = threading.Lock()
_log = logging.getLogger(__name__)


#: The threads that prepare data and maps with no session: the watcher, the server's start
#: (``dashboard.serve``) and a map rendered ahead (``dashboard.map_component``).
BACKGROUND_THREADS = frozenset({"data-watcher", "start-warm-up", "render-map-ahead"})


def _not_from_background(record: logging.LogRecord) -> bool:
    """Streamlit warns "missing ScriptRunContext" each time a cached function runs outside a
    session; for these threads that is by design, and the warnings would bury the log."""
    return not (record.threadName in BACKGROUND_THREADS and "missing ScriptRunContext" in record.getMessage())


def quiet_background_threads() -> None:
    """Drop Streamlit's "missing ScriptRunContext" warnings from :data:`BACKGROUND_THREADS`."""
    context_log = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
    if _not_from_background not in context_log.filters:
        context_log.addFilter(_not_from_background)


def poll_seconds() -> float:
    return float(os.environ.get("DATA_WATCH_S", "5"))


def start(url: str, version: Callable[[], int], prepare: Callable[[int], None]) -> bool:
    """Watch the store at ``url`` (once per process): ``prepare(v)`` runs in the background for
    the version found at start and for every new one ``version()`` reports. Returns whether a
    watcher was started now."""
    interval = poll_seconds()
    quiet_background_threads()
    with _lock:
        if interval <= 0 or url in _stops:
            return False
        stopped = _stops[url] = threading.Event()
    threading.Thread(target=_watch, args=(version, prepare, interval, stopped), name="data-watcher",
                     daemon=True).start()
    return True


def stop(url: str) -> None:
    """Stop watching the store at ``url`` (a test's store, before it is deleted)."""
    with _lock:
        event = _stops.pop(url, None)
    if event is not None:
        event.set()


def _watch(version: Callable[[], int], prepare: Callable[[int], None], interval: float,
           stopped: threading.Event) -> None:
    prepared = None
    while not stopped.is_set():
        try:
            current = version()
        except Exception:  # the store went away (a deleted file, a stopped server): stop watching
            _log.info("data watcher stopped: the store cannot be read")
            return
        if current != prepared:
            try:
                prepare(current)
            except Exception:  # shown, if it happens again, when a page computes the same
                _log.exception("preparing data version %s failed", current)
            prepared = current
        stopped.wait(interval)
