"""How long the headless report takes on 100k- and 1M-unit counties, and where the time goes.

Run: ``scripts/bench`` (or ``.venv/bin/python -m bench.report_bench --sizes 100000 1000000``).
Each size is generated once by ``services.demo`` into ``bench/out/`` (git-ignored), then
measured in a fresh process so peak memory (ru_maxrss) belongs to that run alone:

- ``read_csv``: a bare ``pandas.read_csv`` of the same ledger, the floor any reader pays;
- ``report``: ``python -m services report --json`` end to end (wall time, peak memory), and
  its phases measured in-process: read ledger, load layers, place, assess, write the JSON
  (``services.report.report_json``, the bytes the CLI prints). The phases run one after the
  other here; the CLI reads the layers in a forked process while it reads the ledger, so its
  wall time is less than their sum.
- ``xlsx``: reading a 100k-row .xlsx ledger (calamine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"


def _county(units: int, fmt: str) -> Path:
    """The generated county folder for ``units`` (made once)."""
    folder = OUT / f"county_{units}_{fmt}"
    ledger = folder / ("ledger.xlsx" if fmt == "xlsx" else "ledger.csv")
    if not ledger.exists():
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "services.demo", "--units", str(units), "--seed", "1",
                        "--out", str(folder), "--format", fmt], check=True, cwd=REPO)
        print(f"  generated {units:,} units ({fmt}) in {time.perf_counter() - started:.1f} s", flush=True)
    return folder


def _child(code: str) -> dict:
    """Run ``code`` in a fresh interpreter that prints one JSON line; add its peak memory."""
    wrapper = code + "\nimport resource, json\nprint(json.dumps({**RESULT, 'peak_mb': " \
        "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))"
    output = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, cwd=REPO)
    if output.returncode:
        raise SystemExit(output.stderr)
    return json.loads(output.stdout.strip().splitlines()[-1])


_READ_CSV = """
import time, pandas as pd
t = time.perf_counter(); frame = pd.read_csv({path!r}, dtype=str, keep_default_na=False)
RESULT = {{'seconds': time.perf_counter() - t, 'rows': len(frame)}}
"""

_PHASES = """
import time, io
t0 = time.perf_counter()
from services.ledger import read_ledger
from services.county import county_files, load_county
from services.placement import place_units
from services.coverage import assess
from services.analysis import Analysis
from services.report import report_json
from services.settings import Policy
import datetime as dt
t_import = time.perf_counter()
files = county_files({folder!r})
ledger = read_ledger({ledger!r}); t1 = time.perf_counter()
# As the CLI's --json does: the JSON has no layer problems, so overlaps are not looked for.
county = load_county(**{{k: v for k, v in files.items() if k != 'ledger'}}, check_overlaps=False); t2 = time.perf_counter()
placed = place_units(ledger.units, county); t3 = time.perf_counter()
assessment = assess(placed, county, Policy(as_of=dt.date(2026, 11, 22))); t4 = time.perf_counter()
text = report_json(Analysis(ledger, county, assessment)); t5 = time.perf_counter()
import orjson
report = orjson.loads(text)
RESULT = {{'import': t_import - t0, 'read_ledger': t1 - t_import, 'load_layers': t2 - t1,
          'place': t3 - t2, 'assess': t4 - t3, 'report_json': t5 - t4,
          'total': t5 - t_import, 'units': report['totals']['units'], 'grids': len(report['grids']),
          'json_mb': len(text) / 1e6}}
"""

_CLI = """
import subprocess, sys, time, resource
t = time.perf_counter()
done = subprocess.run([sys.executable, '-m', 'services', 'report', '--ledger', {ledger!r},
                       '--folder', {folder!r}, '--as-of', '2026-11-22', '--json'],
                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
seconds = time.perf_counter() - t
assert done.returncode == 0, done.stderr
child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
RESULT = {{'seconds': seconds, 'child_peak_mb': child_peak}}
"""

_XLSX = """
import time
from services.ledger import read_ledger
t = time.perf_counter(); ledger = read_ledger({ledger!r})
RESULT = {{'seconds': time.perf_counter() - t, 'rows': len(ledger.units)}}
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for units in args.sizes:
        folder = _county(units, "csv")
        ledger = folder / "ledger.csv"
        bare = _child(_READ_CSV.format(path=str(ledger)))
        phases = _child(_PHASES.format(folder=str(folder), ledger=str(ledger)))
        cli = _child(_CLI.format(folder=str(folder), ledger=str(ledger)))
        print(f"\n{units:,} units, {phases['grids']:,} grids (csv {ledger.stat().st_size / 1e6:.0f} MB)")
        print(f"  report, end to end (python -m services report --json): {cli['seconds']:.2f} s, "
              f"peak memory {cli['child_peak_mb']:.0f} MB")
        print(f"  bare pandas.read_csv: {bare['seconds']:.2f} s → report/read_csv = {cli['seconds'] / bare['seconds']:.1f}×")
        print("  phases (in process): " + ", ".join(
            f"{k} {phases[k]:.2f} s" for k in ("import", "read_ledger", "load_layers", "place", "assess",
                                             "report_json")))
        print(f"  JSON {phases['json_mb']:.0f} MB")
    if args.xlsx_rows:
        folder = _county(args.xlsx_rows, "xlsx")
        xlsx = _child(_XLSX.format(ledger=str(folder / "ledger.xlsx")))
        print(f"\nread {xlsx['rows']:,}-row xlsx ledger: {xlsx['seconds']:.2f} s, peak {xlsx['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
