"""Start the dashboard, and prepare the county before its first visitor.

``scripts/start`` runs ``python -m dashboard.serve [streamlit options]``: the same server as
``streamlit run streamlit_app.py``, plus a thread that, as soon as the server is up, opens the
store and computes the default figures and the 全县一张图 map (:func:`dashboard.state.warm_up`).

Why: Streamlit runs no app code until someone opens a page, so the first visitor after a
start (a reboot, an upgrade, a restart after loading a new ledger from the command line) waited
while the whole county was read back and assessed — 7–8 s for a 100k-unit city. Computed at
start, in the process's shared caches, that wait falls on nobody; a visitor who comes while
it is still running waits for the same work rather than starting it again.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
READY = "Prepared the county's figures and map"  # the line the operator (and a test) waits for


def main(argv: list[str]) -> None:
    from dashboard import warmup

    warmup.quiet_background_threads()
    threading.Thread(target=_warm_up_when_serving, name="start-warm-up", daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *argv]
    cli.main()


def _warm_up_when_serving() -> None:
    """Wait for the server to be up (the caches and the component registry belong to its
    runtime), then prepare; a failure is only reported, the pages will show it in context."""
    from streamlit.runtime import Runtime, RuntimeState

    while not (Runtime.exists() and Runtime.instance().state in (RuntimeState.NO_SESSIONS_CONNECTED,
                                                                 RuntimeState.ONE_OR_MORE_SESSIONS_CONNECTED)):
        time.sleep(0.1)
    started = time.perf_counter()
    try:
        from dashboard import state

        state.warm_up()
    except Exception as error:  # noqa: BLE001 — a page shows the same problem, in Chinese, in context
        print(f"  Could not prepare the county at start: {error!r}", file=sys.stderr, flush=True)
        return
    print(f"  {READY} ({time.perf_counter() - started:.1f} s).", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
