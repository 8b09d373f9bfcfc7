"""Which county the dashboard shows, and a version stamp for caching it.

Until a county loads its own data (the store), the dashboard shows the shipped demo county in
``geodata/demo``. The data version changes whenever a file of the folder changes, so cached
computations are reused across reruns and sessions and refreshed after an edit.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from services.analysis import Analysis, analyse
from services.county import county_files, load_county
from services.ledger import read_ledger
from services.problems import InputError
from services.settings import DEFAULT_POLICY, Policy

DEMO_FOLDER = Path(__file__).resolve().parents[1] / "geodata" / "demo"
FICTIONAL_NOTE = "虚构示例数据"


def county_folder() -> Path:
    """The folder the dashboard shows: ``$COUNTY_FOLDER`` when set, else the demo county."""
    return Path(os.environ.get("COUNTY_FOLDER") or DEMO_FOLDER)


def is_fictional(folder: Path) -> bool:
    """True for the shipped demo (every screen that shows it says 虚构示例数据)."""
    readme = folder / "README.txt"
    return folder.resolve() == DEMO_FOLDER.resolve() or (
        readme.exists() and FICTIONAL_NOTE in readme.read_text(encoding="utf-8", errors="ignore"))


def data_version(folder: Path) -> str:
    """A stamp of the folder's files (names, sizes, modification times)."""
    digest = hashlib.sha1()
    for path in sorted(folder.iterdir()):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:12]


def load_folder(folder: Path, policy: Policy = DEFAULT_POLICY) -> Analysis:
    """Read and assess the county folder's ledger and layers."""
    files = county_files(folder)
    ledger = files.pop("ledger", None)
    if ledger is None:
        raise InputError(f"{folder}: 目录中没有台账（ledger.xlsx / ledger.csv / 台账.xlsx）")
    county = load_county(**files)
    return analyse(read_ledger(ledger), county, policy)
