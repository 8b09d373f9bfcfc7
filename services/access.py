"""Who sees what: the viewer, the five roles, and the analysis cut down to what a viewer may see.

Party members, instructors' phones and grid leaders' names are personal and political data. A
grid leader must see their own grid and nothing else; a briefing audience must see no person.
The rule is applied here, in ``services``, to the one :class:`~services.analysis.Analysis` every
page, figure, table, search, download and map is made from (:func:`scope`), so no page, filter,
URL parameter or export can reach past it: a page that forgot a check would still only have the
viewer's own units to show.

Roles (``ROLES``): 管理员 everything and accounts; 县级 the whole county, read only; 乡镇街道
their towns, may correct units; 网格长 their grid(s), may correct units; 演示 the whole county
anonymised (unit names masked as 某科技有限公司, no person's name or phone, no credit code).
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd

from services.analysis import Analysis
from services.county import County
from services.ledger import Ledger

ROLES = {"admin": "管理员", "county": "县级", "town": "乡镇街道", "grid_leader": "网格长", "demo": "演示"}


@dataclasses.dataclass(frozen=True)
class Viewer:
    """A signed-in person (or the open first-start session) and what their role allows."""

    name: str
    role: str
    towns: tuple[str, ...] = ()
    grids: tuple[str, ...] = ()

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")

    @property
    def role_label(self) -> str:
        return ROLES[self.role]

    @property
    def whole_county(self) -> bool:
        """Sees every unit (possibly anonymised)."""
        return self.role in ("admin", "county", "demo")

    @property
    def anonymised(self) -> bool:
        return self.role == "demo"

    @property
    def may_edit_units(self) -> bool:
        return self.role in ("admin", "town", "grid_leader")

    @property
    def may_manage_data(self) -> bool:
        """Imports, layer uploads, removals, whole-store exports (数据管理)."""
        return self.role == "admin"

    @property
    def may_manage_accounts(self) -> bool:
        return self.role == "admin"

    def sees(self, units: pd.DataFrame) -> np.ndarray:
        """Which of ``units`` (placed: ``grid_id``, ``town_name``) this viewer may see."""
        if self.whole_county:
            return np.ones(len(units), dtype=bool)
        if self.role == "grid_leader":
            return units["grid_id"].isin(self.grids).to_numpy(dtype=bool)
        return units["town_name"].isin(self.towns).to_numpy(dtype=bool)


# The open session of a fresh install: no account exists yet (the README's run command on the
# fictional demo county), so nobody can sign in and the app runs as an administrator, with a
# banner saying so. The moment the first account exists, sign-in is required.
OPEN_VIEWER = Viewer("（尚无账号）", "admin")


def scope(analysis: Analysis, viewer: Viewer) -> Analysis:
    """The analysis as ``viewer`` may see it: their units only, and anonymised for 演示.

    Every frame that names units or people is cut: the ledger, the assessed units, the orgs
    with a member in scope, the viewer's grids (and towns), the instructors serving in-scope
    units. Public places (parks, buildings, markets, service centres) stay.
    """
    if viewer.whole_county and not viewer.anonymised:
        return analysis
    if not viewer.whole_county:
        analysis = _within(analysis, viewer)
    if viewer.anonymised:
        analysis = anonymise(analysis)
    return analysis


def _within(analysis: Analysis, viewer: Viewer) -> Analysis:
    """Only the viewer's towns or grids."""
    assessment = analysis.assessment
    units = assessment.units[viewer.sees(assessment.units)]
    grids = analysis.county.grids
    if viewer.role == "grid_leader":
        grid_ids = set(viewer.grids)
    else:
        grid_ids = set(grids.loc[grids["town"].isin(viewer.towns), "id"]) | set(units["grid_id"].dropna())
    town_names = set(units["town_name"].dropna()) | set(grids.loc[grids["id"].isin(grid_ids), "town"].dropna())
    if viewer.role == "town":
        town_names |= set(viewer.towns)
    orgs = assessment.orgs[assessment.orgs["org_key"].isin(set(units["org_key"].dropna())
                                                             | set(units["covering_org"].dropna()))]
    instructor_names = set(units["instructor"].dropna())
    instructors = assessment.instructors[assessment.instructors["name"].isin(instructor_names)]
    county = dataclasses.replace(
        analysis.county,
        grids=grids[grids["id"].isin(grid_ids)],
        towns=_rows(analysis.county.towns, "name", town_names),
        instructors=_rows(analysis.county.instructors, "name", instructor_names),
        problems=[],
    )
    scoped = dataclasses.replace(
        assessment, units=units, orgs=orgs, instructors=instructors,
        grids=assessment.grids[assessment.grids["id"].isin(grid_ids)], out_of_scope=0)
    return Analysis(_ledger_of(analysis.ledger, units), county, scoped)


def _rows(frame, column: str, keep: set):
    return None if frame is None else frame[frame[column].isin(keep)]


def _ledger_of(ledger: Ledger, units: pd.DataFrame) -> Ledger:
    """The ledger cut to ``units``: their rows, their problems, no rejected rows (a rejected
    row was never placed, so only the people who import see it)."""
    codes = set(units["credit_code"])
    rows = set(units["row"])
    kept = ledger.units[ledger.units["credit_code"].isin(codes)]
    problems = [p for p in ledger.problems if p.row in rows and not p.rejected]
    return Ledger(ledger.source, ledger.header_row, kept, problems, ledger.rejected_rows.iloc[0:0], None)


# --- anonymising (演示) ---------------------------------------------------------------------

# Org forms kept at the end of a masked name, longest first; industry words kept before it.
_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "合伙企业", "个体工商户", "商行", "公司", "厂", "店",
          "协会", "商会", "学会", "研究会", "促进会", "联合会", "基金会", "服务中心", "中心", "培训学校", "学校",
          "幼儿园", "医院", "诊所", "事务所", "工作室", "服务社", "合作社", "研究院", "俱乐部")
_INDUSTRY_WORDS = ("科技", "信息", "软件", "网络", "电子", "智能", "生物", "医药", "医疗", "健康", "养老", "家政",
                   "教育", "培训", "文化", "传媒", "广告", "咨询", "设计", "会计", "律师", "法律", "物流",
                   "运输", "快递", "贸易", "商贸", "电商", "零售", "超市", "餐饮", "酒店", "旅游", "物业",
                   "房地产", "建筑", "建材", "装饰", "工程", "机械", "汽车", "化工", "能源", "电力", "环保",
                   "农业", "食品", "茶叶", "花卉", "纺织", "服装", "印刷", "金融", "投资", "保险", "体育",
                   "社会工作", "志愿", "慈善", "行业", "个体劳动者", "企业家", "商贸")
_ORG_FORMS = ("联合党支部", "网格党支部", "功能型党支部", "党总支", "党支部", "党委", "区域性党组织", "党组织")
MASKED_CODE = "（已隐去）"
MASKED_PERSON = "（已隐去）"


def mask_name(name: object) -> str | None:
    """A unit name as a briefing audience may see it: "某" + an industry word + the org form,
    e.g. 青禾远海酒店管理股份有限公司 → 某酒店股份有限公司; nothing that identifies the unit."""
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return None
    text = re.sub(r"\s+", "", str(name))
    form = next((f for f in _FORMS if text.endswith(f)), "单位")
    word = next((w for w in _INDUSTRY_WORDS if w in text[: len(text) - len(form)]), "")
    return f"某{word}{form}"


def mask_org(name: object) -> str | None:
    """An org name without the unit it is named after: 青禾远海酒店党支部 → 某党支部."""
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return None
    text = re.sub(r"\s+", "", str(name))
    return "某" + next((f for f in _ORG_FORMS if text.endswith(f)), "党组织")


def anonymise(analysis: Analysis) -> Analysis:
    """The analysis with no unit name, address, credit code, person's name or phone left.

    Figures and flags are untouched (they were computed before), so a briefing shows the same
    numbers as the county's own view. Orgs and instructors get stand-in names (某党支部,
    指导员1…) consistently in every frame, so links between them still draw.
    """
    assessment = analysis.assessment
    org_alias = _aliases(assessment.orgs["org_key"], "组织")
    people = _aliases(pd.concat([assessment.instructors["name"],
                                 pd.Series([] if analysis.county.instructors is None
                                           else analysis.county.instructors["name"])]), "指导员")
    units = _anonymous_units(assessment.units, org_alias, people)
    orgs = assessment.orgs.assign(name=assessment.orgs["name"].map(mask_org),
                                  org_key=assessment.orgs["org_key"].map(org_alias))
    instructors = _anonymous_people(assessment.instructors, people)
    grids = assessment.grids.assign(leader=_present(assessment.grids["leader"]), leader_phone=None)
    county = dataclasses.replace(
        analysis.county,
        grids=analysis.county.grids.assign(leader=_present(analysis.county.grids["leader"]), leader_phone=None),
        instructors=None if analysis.county.instructors is None else _anonymous_people(analysis.county.instructors, people),
        problems=[],
    )
    ledger = analysis.ledger
    ledger = Ledger(ledger.source, ledger.header_row, _anonymous_units(ledger.units, org_alias, people), [],
                    ledger.rejected_rows.iloc[0:0], None)
    scoped = dataclasses.replace(assessment, units=units, orgs=orgs, instructors=instructors, grids=grids)
    return Analysis(ledger, county, scoped)


def _aliases(values: pd.Series, prefix: str) -> dict:
    """Each distinct value → "<prefix>1", "<prefix>2"… (the same value, the same stand-in)."""
    distinct = pd.unique(values.dropna())
    return {value: f"{prefix}{i}" for i, value in enumerate(distinct, start=1)}


def _anonymous_units(units: pd.DataFrame, org_alias: dict, people: dict) -> pd.DataFrame:
    changes = {"name": units["name"].map(mask_name), "credit_code": MASKED_CODE, "address": None,
               "org_name": units["org_name"].map(mask_org), "org_key": units["org_key"].map(org_alias),
               "instructor": units["instructor"].map(lambda v: people.get(v, MASKED_PERSON) if isinstance(v, str) else None)}
    if "covering_org" in units:
        changes["covering_org"] = units["covering_org"].map(org_alias)
    return units.assign(**changes)


def _anonymous_people(people_frame: pd.DataFrame, people: dict) -> pd.DataFrame:
    """Instructors under their stand-in names (counts kept), no employer, no phone."""
    return people_frame.assign(name=people_frame["name"].map(people), unit=None, phone=None)


def _present(values: pd.Series) -> pd.Series:
    """A person's name replaced by whether there is one (the rules only need that)."""
    return values.map(lambda v: MASKED_PERSON if isinstance(v, str) and v.strip() else None)


# --- writes on behalf of a viewer --------------------------------------------------------------


class AccessDenied(PermissionError):
    """The viewer's role does not allow this (the message says why, in Chinese)."""


def edit_unit(store, analysis: Analysis, viewer: Viewer, credit_code: str, changes, *, expected_version: int):
    """Correct a unit as ``viewer``: only roles that may edit, only units in their grid or towns
    (judged on the whole county's ``analysis``, so a code typed by hand cannot reach past it);
    the history records the viewer's name."""
    if not viewer.may_edit_units:
        raise AccessDenied(f"{viewer.role_label}账号只能查看，不能修改单位信息")
    units = analysis.assessment.units
    unit = units[units["credit_code"] == credit_code]
    if unit.empty or not viewer.sees(unit).all():
        raise AccessDenied("只能修改本人所辖范围内的单位")
    return store.edit_unit(credit_code, changes, expected_version=expected_version, who=viewer.name)
