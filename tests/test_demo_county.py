"""The shipped demo county (geodata/demo, 虚构示例数据) shows everything the dashboard can show.

A county leader opening the dashboard for the first time sees the demo; it must contain every
coverage status, every rule flag, every data-quality flag and every placement kind, and look
like seed 004's county: many blind spots and joint branches, few own orgs among above-scale
enterprises.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import DEMO, REPO
from services.coverage import RULE_FLAGS


@pytest.fixture(scope="module")
def demo_report():
    result = subprocess.run(
        [sys.executable, "-m", "services", "report", "--ledger", str(DEMO / "ledger.xlsx"),
         "--folder", str(DEMO), "--as-of", "2026-11-22", "--json"],
        capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_demo_is_a_county_of_about_two_thousand_units_in_sixty_grids(demo_report):
    assert 1800 <= demo_report["totals"]["units"] <= 2100
    assert 50 <= len(demo_report["grids"]) <= 70


def test_every_status_and_priority_blind_spots_occur(demo_report):
    totals = demo_report["totals"]
    for status in ("own", "joint", "work", "blind", "priority_blind"):
        assert totals[status] > 0, status


def test_every_rule_flag_occurs(demo_report):
    assert set(demo_report["flags"]) == set(RULE_FLAGS)
    missing = [flag for flag, count in demo_report["flags"].items() if count == 0]
    assert missing == []


def test_every_data_quality_flag_and_placement_kind_occurs(demo_report):
    unit_flags = {flag for unit in demo_report["units"] for flag in unit["flags"]}
    for flag in ("grid_mismatch", "coordinates_swapped", "outside_county", "members_exceed_employees",
                 "unknown_org_type", "production_halted"):
        assert flag in unit_flags, flag
    placements = {unit["placed_by"] for unit in demo_report["units"]}
    assert placements == {"coordinates", "building", "park", "grid", None}
    assert demo_report["unplaced"], "some units cannot be placed at all"


def test_the_mix_looks_like_seed_004(demo_report):
    totals = demo_report["totals"]
    # 004: 44 of 496 above-scale firms have their own org (8.87%): few, but not none.
    assert 0.04 <= totals["above_scale_formation_rate"] <= 0.15
    assert totals["joint"] > totals["own"] * 5  # "存在大量联合支部"
    assert totals["blind"] / totals["units"] >= 0.15  # "空白点多"
    assert totals["org_coverage_rate"] < 1 and totals["work_coverage_rate"] < 1


def test_every_file_says_the_data_is_fictional():
    readme = (DEMO / "README.txt").read_text(encoding="utf-8")
    assert "虚构示例数据" in readme
    assert "虚构示例数据" in (DEMO / "county.geojson").read_text(encoding="utf-8")
