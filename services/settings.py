"""Policy settings: every number the rules use, with the seed paragraph it comes from.

The rules of ``shared/DOMAIN.md`` (R1–R13) are written against these numbers and never against
literals, so a county that follows a different document (a joint cap of 5 instead of 3, a wider
service radius) changes one value here, or passes it on the command line, and every page and
report follows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from types import MappingProxyType


@dataclasses.dataclass(frozen=True)
class Policy:
    """The policy numbers in force for one computation.

    Each field's comment cites the seed text (``shared/seeds``) that sets it.
    """

    # 001 §6: 凡有正式党员3人以上的……都应当成立党组织 (R1, "以上" includes 3).
    own_org_min_formal_members: int = 3
    # 002 (二)二 caps a joint branch at 3 units; 001 §8 says 原则上不超过5家. Default 3 (R2).
    joint_cap: int = 3
    # 001 §6: enterprises with 100 employees or more must have an org (R3).
    enterprise_org_min_employees: int = 100
    # 001 §6: enterprises with 50 employees or more must have party members (R3).
    enterprise_member_min_employees: int = 50
    # 001 §6 / 002 (二)二: social orgs with 30 staff or more must have an org (R3).
    social_org_min_staff: int = 30
    # 001 §10: one instructor serves at most 5 units (R4).
    instructor_max_units: int = 5
    # 002 (二)二: a branch above 50 members should become a 党总支 (R5).
    branch_max_members: int = 50
    # 002 (二)二: 100 members or more may form a 党委 (R5, recommendation only).
    committee_min_members: int = 100
    # 004 三(三)二 / 001 §8: an org with fewer than 3 formal members is an empty shell (R6).
    empty_shell_below_members: int = 3
    # 002 (二)一: more than 3 mobile members → suggest a functional branch (R7, "超过" excludes 3).
    functional_branch_above_mobile: int = 3
    # 001 §14: terms of office in years, 党委 5, 党总支/党支部 3 (R8).
    committee_term_years: int = 5
    branch_term_years: int = 3
    # 001 §20: minimum floor area of service centres by level, m² (R9).
    centre_min_area_m2: MappingProxyType = dataclasses.field(
        default_factory=lambda: MappingProxyType({"县级": 200.0, "市级": 400.0})
    )
    # R9: a unit farther than this from every service centre is in a service gap (metres).
    service_radius_m: float = 1000.0
    # 004 三(三)二: units with fixed premises and 6 or more employees form grids (R10).
    grid_eligible_min_employees: int = 6
    # 001 §11: 50 employees or more → at least 1 activist a year, 100 or more → 2 (R13).
    activists_min_by_employees: tuple = ((100, 2), (50, 1))
    # The day terms are measured against; ``None`` means today.
    as_of: dt.date | None = None

    def as_of_date(self) -> dt.date:
        """The as-of date, today when none was set, so a report made today is current."""
        return self.as_of or dt.date.today()

    def with_overrides(self, **values) -> "Policy":
        """A copy with the given fields changed, ignoring ``None`` (an option not given)."""
        return dataclasses.replace(self, **{k: v for k, v in values.items() if v is not None})


DEFAULT_POLICY = Policy()
