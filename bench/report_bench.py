"""How long the headless report takes on 100k- and 1M-unit counties, and where the time goes.

Run: ``scripts/bench report`` (or ``.venv/bin/python -m bench.report_bench --sizes 100000 1000000``).
Each size is generated once by ``services.demo`` into ``bench/out/`` (git-ignored), then
measured in fresh processes so peak memory (ru_maxrss) belongs to that run alone:

- ``report``: ``python -m services report --json`` end to end (wall time, peak memory);
- ``read_csv``: a bare ``pandas.read_csv`` of the same ledger, the floor any reader pays. The
  two are run in turn, ``--repeats`` times each (``--large-repeats`` from a million units):
  this VM's speed drifts by half from one minute to the next, and a pair run in the same
  minute drifts together, so the median of the pairs' ratios is the steady figure;
- phases, measured in-process one after the other: read ledger, load layers, place, assess,
  write the JSON (``services.report.report_json``, the bytes the CLI prints). The CLI reads
  the ledger in a forked process while it imports geopandas and reads the layers, so its
  wall time is less than their sum;
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
from statistics import median

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
    parser.add_argument("--repeats", type=int, default=9, help="report/read_csv pairs per size below 1M units")
    parser.add_argument("--large-repeats", type=int, default=3, help="pairs per size from 1M units")
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for units in args.sizes:
        folder = _county(units, "csv")
        ledger = folder / "ledger.csv"
        pairs = []
        for _ in range(args.repeats if units < 1_000_000 else args.large_repeats):
            cli = _child(_CLI.format(folder=str(folder), ledger=str(ledger)))
            bare = _child(_READ_CSV.format(path=str(ledger)))
            pairs.append((cli["seconds"], bare["seconds"], cli["child_peak_mb"]))
        phases = _child(_PHASES.format(folder=str(folder), ledger=str(ledger)))
        report, read_csv, peak = (sorted(column) for column in zip(*pairs))
        ratios = sorted(r / b for r, b, _ in pairs)
        print(f"\n{units:,} units, {phases['grids']:,} grids (csv {ledger.stat().st_size / 1e6:.0f} MB), {len(pairs)} runs")
        print(f"  report, end to end (python -m services report --json): median {median(report):.2f} s "
              f"(fastest {report[0]:.2f}, slowest {report[-1]:.2f}), peak memory {peak[-1]:.0f} MB")
        print(f"  bare pandas.read_csv: median {median(read_csv):.2f} s (fastest {read_csv[0]:.2f}, "
              f"slowest {read_csv[-1]:.2f}) → report/read_csv = {median(ratios):.1f}× "
              f"(median of the pairs; {ratios[0]:.1f}–{ratios[-1]:.1f}×)")
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
