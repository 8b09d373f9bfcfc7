"""A fictional county, 青禾县, generated reproducibly for demos, tests and benchmarks.

The shipped demo (``geodata/demo/``) is made by::

    python -m services.demo --units 2000 --seed 7 --out geodata/demo

and looks like the county of seed 004: about a fifth of the enterprises are above-scale and
only 8.87 % of those have their own party org, shared coverage (joint branches, grid
branches, park and building orgs) is common, many units are blind spots, and units with fixed
premises and 6 or more employees are grouped into grids (多网格推进), each with a leader.

Everything is invented: the county, its towns, grids, parks, buildings, markets, service
centres, the units, the people and the phone numbers (masked, ``138****1234``). Every file
written says so ("虚构示例数据": a ``note`` property in the GeoJSON layers, the workbook
properties of the ledger, and ``README.txt``).

Besides a realistic random bulk, every generated county contains a small fixed set of
*deliberate cases*: rows and features built so that each coverage status, each rule flag and
each data-quality flag of ``shared/DOMAIN.md`` and each placement kind occurs at least once.
:attr:`DemoCounty.cases` lists them (case, the flags it is built to raise, ledger row, name)
and ``deliberate_cases.csv`` is written beside the ledger, so the engine's report on the demo
can be checked against it.

The generator is vectorised (numpy ``Generator``, no per-unit Python loops in the bulk), so a
county of a million units takes well under a minute; the same seed always gives the same
county. ``--units`` sets the number of ledger rows; the number of grids defaults to
``max(60, units // 100)``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import io
import json
import math
import re
import sys
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

NOTE = "虚构示例数据"
COUNTY_NAME = "青禾县"
COUNTY_SHORT = "青禾"
COUNTY_CODE = "539901"  # not a real county code (Yunnan prefectures are 5301–5334)
PREFECTURE = "禾州市"
AS_OF = dt.date(2026, 11, 22)  # the date the deliberate term cases are built against
CRS = "EPSG:4326"
MIN_UNITS = 200
XLSX_MAX_ROWS = 20_000

# The county sits around lon 102.70, lat 25.05; geometry is built in local metres and
# converted with a local equirectangular projection (an affine map, so tilings stay exact).
LON0, LAT0 = 102.70, 25.05
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(LAT0))
DEGREE_PRECISION = 1e-7  # geometry vertices snapped to ~1 cm
COORD_DECIMALS = 6  # ledger coordinates, ~0.1 m

# DOMAIN.md "Ledger template": the canonical headers, in order.
LEDGER_COLUMNS = (
    "企业名称", "统一社会信用代码", "单位类型", "行业", "地址", "经度", "纬度", "坐标系",
    "所属乡镇街道", "所属网格", "所属园区", "所属楼宇", "经营状态", "是否规上", "有固定经营场所",
    "从业人员数", "正式党员数", "预备党员数", "流动党员数", "入党积极分子数", "出资人是否党员",
    "党组织名称", "党组织类型", "党组织换届时间", "党建指导员", "群团组织", "未建党组织原因",
)
COUNT_COLUMNS = ("从业人员数", "正式党员数", "预备党员数", "流动党员数", "入党积极分子数")
INSTRUCTOR_COLUMNS = ("姓名", "派出单位", "联系电话")

# GB 32100-2015: the 31 characters of a unified social credit code and the position weights.
CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CODE_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)

# --------------------------------------------------------------------------- vocabularies

TOWN_NAMES = (
    "青禾街道", "禾丰镇", "云溪镇", "松岭镇", "石门乡", "白沙镇", "梨园乡", "金穗街道",
    "柳塘镇", "枫林乡", "双桥镇", "杏湾乡", "麦香镇", "稻花乡", "新禾街道", "翠屏镇",
    "桃源乡", "茶山镇", "玉泉乡", "鹤鸣镇", "兰溪乡", "月湖镇", "芦荡乡", "竹坪镇",
)
PARK_NAMES = (
    ("青禾县工业园区", "省级"), ("禾丰镇农产品加工园区", "市级"), ("青禾县现代物流园区", "县级"),
    ("青禾县绿色食品产业园", "县级"), ("青禾县建材产业园", "县级"), ("青禾县花卉产业园", "市级"),
    ("青禾县生物医药产业园", "省级"), ("青禾县文旅产业园", "县级"), ("青禾县新能源产业园", "市级"),
    ("青禾县高原特色农业园区", "县级"), ("青禾县电子信息产业园", "市级"), ("青禾县返乡创业园", "县级"),
)
BUILDING_NAMES = (
    "青禾金融大厦", "青禾商务中心", "禾丰国际大厦", "青禾科技大厦", "青禾财富中心", "青禾世纪大厦",
    "青禾创业大厦", "青禾时代广场写字楼", "青禾商会大厦", "青禾电商产业大楼", "青禾联创大厦", "青禾云海大厦",
)
BUILDING_WORDS = (
    "金融", "国际", "科技", "财富", "世纪", "创业", "商会", "联创", "云海", "时代", "信达", "中天",
    "银河", "东方", "宏图", "锦绣", "鼎盛", "汇金", "兴业", "嘉禾", "新城", "明珠", "阳光", "丰泽",
    "瑞祥", "通达", "同心", "和信", "金穗", "翠湖", "星光", "凯旋", "天成", "万和", "恒通", "盛世",
    "泰和", "博远", "长青", "润丰",
)
BUILDING_SUFFIXES = ("大厦", "商务中心", "广场写字楼", "大楼", "商务楼", "中心")
MARKET_NAMES = ("青禾农贸市场", "禾丰综合批发市场", "青禾小商品市场")
MARKET_WORDS = ("农贸", "综合", "蔬菜批发", "水果批发", "建材", "小商品", "花卉", "农资", "家具",
                "汽配", "茶叶", "粮油", "服装", "干货")
MARKET_SUFFIXES = ("市场", "交易市场", "商城")
ROADS = (
    "青禾大道", "禾丰路", "云溪路", "松岭路", "学府路", "文华路", "工业路", "兴业路", "康宁路",
    "和平路", "环城东路", "环城西路", "环城南路", "环城北路", "建设路", "富民路", "振兴路",
    "迎宾大道", "滨河路", "花园路", "育才路", "新民路", "金穗路", "翠湖路", "长青路", "丰泽路",
    "园区一路", "园区二路", "物流大道", "创业路",
)
VILLAGES = ("上寨", "下寨", "新村", "河口", "大营", "小营", "龙潭", "沙坝", "水井", "石桥",
            "高坡", "坝心", "松林", "杨柳", "旧寨", "中村", "团山", "马街", "田心", "清水")
ZIHAO = tuple(
    "鑫泰源丰华盛达信恒祥瑞兴隆昌旺通安宏远福佳和顺嘉鼎弘博创新诚汇晟富康联众益德金银云禾润泽"
    "鸿海天宇辰星正合永明聚豪凯锦辉腾飞扬承启卓越志成荣峰川林"
)
SURNAMES = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺"
)
GIVEN_CHARS = tuple(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红娥建国志文斌海波宁兵云辉鹏飞"
    "雪梅琳慧丹凤林燕晶浩宇轩子涵欣怡俊杰思远佳琪梓豪晨阳雨婷瑞嘉乐天佑春晓秋菊冬梅德福永"
)
PHONE_PREFIXES = ("138", "139", "137", "135", "136", "150", "151", "158", "159", "187", "188",
                  "182", "183", "177", "189")
INSTRUCTOR_UNITS = (
    "青禾县委组织部", "青禾县委两新工委", "青禾县工商联", "青禾县市场监督管理局", "青禾县人力资源和社会保障局",
    "青禾县民政局", "青禾县教育体育局", "青禾县卫生健康局", "青禾县司法局", "青禾县总工会", "共青团青禾县委",
    "青禾县妇联", "青禾县商务局", "青禾县工业和信息化局", "青禾县财政局", "青禾县税务局",
)
CENTRE_HOURS = ("周一至周五 9:00-17:30", "周一至周日 8:30-18:00", "周二至周日 9:00-17:00",
                "周一至周六 9:00-18:00", "工作日 8:30-12:00,14:30-18:00")

# (行业, word used in joint branch names, weight, name words)
ENTERPRISE_INDUSTRIES = (
    ("制造业", "工业企业", 0.20, ("机械制造", "建材", "食品", "电子科技", "包装材料", "铸造", "酒业", "茶业", "印务", "化工")),
    ("批发和零售业", "商贸企业", 0.20, ("商贸", "贸易", "百货", "医药连锁", "农资", "五金机电")),
    ("建筑业", "建筑企业", 0.09, ("建筑工程", "建设工程", "装饰工程", "市政工程")),
    ("交通运输、仓储和邮政业", "物流运输企业", 0.07, ("物流", "运输", "仓储服务")),
    ("住宿和餐饮业", "餐饮住宿企业", 0.09, ("餐饮管理", "酒店管理", "饮食服务")),
    ("信息传输、软件和信息技术服务业", "科技企业", 0.05, ("网络科技", "信息技术", "软件开发", "电子商务")),
    ("农、林、牧、渔业", "农业企业", 0.10, ("农业开发", "生态农业", "花卉", "养殖", "林业开发")),
    ("租赁和商务服务业", "商务服务企业", 0.07, ("商务咨询", "企业管理", "广告传媒", "人力资源")),
    ("房地产业", "房地产企业", 0.04, ("房地产开发", "物业服务")),
    ("居民服务、修理和其他服务业", "服务业企业", 0.05, ("汽车服务", "家政服务", "家电维修")),
    ("文化、体育和娱乐业", "文化旅游企业", 0.03, ("文化传媒", "旅游开发", "文化旅游")),
    ("采矿业", "矿山企业", 0.01, ("矿业", "石材开采")),
)
ENTERPRISE_FORMS = ("有限公司", "有限责任公司", "股份有限公司")
# (行业, joint word, weight, county-style name?, type words)
SOCIAL_TYPES = (
    ("教育", "民办教育机构", 0.35, True, ("民办学校", "培训学校", "幼儿园", "职业技能培训学校", "艺术培训中心")),
    ("卫生和社会工作", "医疗卫生机构", 0.20, True, ("民办医院", "中医诊所", "口腔门诊部", "康复中心")),
    ("租赁和商务服务业", "中介服务机构", 0.20, False, ("律师事务所", "会计师事务所", "税务师事务所")),
    ("居民服务、修理和其他服务业", "社会服务机构", 0.25, True, ("养老服务中心", "社会工作服务中心", "志愿服务中心", "家庭服务中心")),
)
MASS_ORG_VALUES = ("工会", "工会,共青团", "工会,共青团,妇联", "共青团", "妇联", "工会，妇联")
MASS_ORG_P = (0.45, 0.25, 0.10, 0.08, 0.07, 0.05)
REASONS_NONE = ("无党员", "出资人认识不足", "规模小或人员流动大", "新设立待组建", "其他：经营场所临时调整")
REASONS_NONE_P = (0.6, 0.1, 0.2, 0.05, 0.05)
REASONS_FEW = ("党员不足3名", "党员组织关系不在本单位", "规模小或人员流动大", "出资人认识不足")
REASONS_FEW_P = (0.6, 0.2, 0.1, 0.1)
REASONS_MANY = ("新设立待组建", "党员组织关系不在本单位", "其他：正在筹建党支部")
REASONS_MANY_P = (0.5, 0.3, 0.2)
CRS_LABELS = {
    "WGS84": (("WGS84", "", "wgs84", "WGS-84"), (0.60, 0.25, 0.08, 0.07)),
    "GCJ02": (("GCJ02", "GCJ-02", "gcj02"), (0.5, 0.3, 0.2)),
    "BD09": (("BD09", "BD-09", "bd09"), (0.6, 0.25, 0.15)),
}


@dataclasses.dataclass
class DemoCounty:
    """A generated county: geodata layers (WGS-84 GeoDataFrames), instructors and the ledger.

    ``ledger`` has exactly the canonical Chinese headers (row ``i`` of the frame is row
    ``i + 2`` of the spreadsheet); ``cases`` lists the deliberate cases with the flags each is
    built to raise (``row`` is the spreadsheet row, empty for a grid, park, centre or
    instructor case, whose ``name`` is then the feature or person).
    """

    units: int
    seed: int
    county: gpd.GeoDataFrame
    towns: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    parks: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    markets: gpd.GeoDataFrame
    centres: gpd.GeoDataFrame
    instructors: pd.DataFrame
    ledger: pd.DataFrame
    cases: pd.DataFrame
    as_of: dt.date = AS_OF

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """The geodata layers by file stem."""
        return {"county": self.county, "towns": self.towns, "grids": self.grids, "parks": self.parks,
                "buildings": self.buildings, "markets": self.markets, "centres": self.centres}


def generate_county(units: int, seed: int, grids: int | None = None) -> DemoCounty:
    """Generate the fictional county 青禾县 with ``units`` ledger rows.

    Parameters
    ----------
    units
        Number of ledger rows (at least 200), deliberate cases included.
    seed
        Seed of the numpy random generator; the same seed (and sizes) gives the same county.
    grids
        Number of grids; default ``max(60, units // 100)``.
    """
    if units < MIN_UNITS:
        raise ValueError(f"units must be at least {MIN_UNITS}")
    n_grids = int(grids) if grids is not None else max(60, units // 100)
    if n_grids < 1:
        raise ValueError("grids must be at least 1")
    return _Generator(units, seed, n_grids).build()


# --------------------------------------------------------------------------- geometry helpers

def _lonlat(x, y):
    """Local metres → (lon, lat)."""
    return LON0 + np.asarray(x) / M_PER_DEG_LON, LAT0 + np.asarray(y) / M_PER_DEG_LAT


def _xy(lon, lat):
    """(lon, lat) → local metres."""
    return (np.asarray(lon) - LON0) * M_PER_DEG_LON, (np.asarray(lat) - LAT0) * M_PER_DEG_LAT


def _to_degrees(geoms):
    """Geometries in local metres → WGS-84 degrees snapped to ~1 cm (valid output)."""
    def affine(coords):
        lon, lat = _lonlat(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])
    return shapely.set_precision(shapely.transform(np.asarray(geoms), affine), DEGREE_PRECISION)


def _random_points_in(rng, polygons, which):
    """One uniform random point inside ``polygons[which[i]]`` for each i (vectorised rejection)."""
    polygons = np.asarray(polygons)
    shapely.prepare(polygons)
    which = np.asarray(which, dtype=np.int64)
    bounds = shapely.bounds(polygons)
    x = np.empty(len(which))
    y = np.empty(len(which))
    todo = np.arange(len(which))
    while len(todo):
        b = bounds[which[todo]]
        cx = b[:, 0] + rng.random(len(todo)) * (b[:, 2] - b[:, 0])
        cy = b[:, 1] + rng.random(len(todo)) * (b[:, 3] - b[:, 1])
        ok = shapely.contains_xy(polygons[which[todo]], cx, cy)
        x[todo[ok]] = cx[ok]
        y[todo[ok]] = cy[ok]
        todo = todo[~ok]
    return x, y


def _blob(rng, cx, cy, radius, stretch=1.0, vertices=48):
    """An irregular closed polygon around (cx, cy): a radius modulated by a few sine waves."""
    theta = np.linspace(0.0, 2 * np.pi, vertices, endpoint=False)
    phases = rng.random(4) * 2 * np.pi
    r = radius * (1 + 0.10 * np.sin(2 * theta + phases[0]) + 0.07 * np.sin(3 * theta + phases[1])
                  + 0.045 * np.sin(5 * theta + phases[2]) + 0.02 * np.sin(9 * theta + phases[3]))
    ring = np.column_stack([cx + stretch * r * np.cos(theta), cy + r * np.sin(theta) / stretch])
    return r, theta, shapely.Polygon(ring)


def _tile(region, seeds):
    """Voronoi cells of ``seeds`` clipped to ``region``: polygons in seed order that tile it.

    A clipped cell that falls apart (the region folds in) keeps its largest part; the other
    parts join the neighbour they share the longest border with, so every cell is one polygon.
    """
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=region, ordered=True)
    cells = np.asarray(shapely.get_parts(cells))
    if len(cells) != len(seeds):
        raise RuntimeError("duplicate Voronoi seeds")
    return _single_parts(shapely.intersection(cells, region))


def _single_parts(pieces, grid_size=None):
    """Make every piece one polygon: a piece in several parts keeps its largest part and
    hands each other part to the neighbour it shares the longest border with."""
    out = np.empty(len(pieces), dtype=object)
    leftovers = []
    for i, piece in enumerate(pieces):
        parts = sorted(_polygon_parts(piece), key=lambda p: -p.area)
        out[i] = parts[0]
        leftovers.extend((i, p) for p in parts[1:])
    for owner, part in leftovers:
        shared = shapely.length(shapely.intersection(part.boundary, shapely.boundary(out), grid_size=grid_size))
        shared[owner] = -1.0
        target = int(np.argmax(shared))
        if shared[target] <= 0:
            target = owner  # an island: nothing to give it to
        merged = shapely.union(out[target], part, grid_size=grid_size)
        if merged.geom_type == "Polygon":
            out[target] = merged
    return out


def _planar(polygons, grid_size):
    """Polygons that tile exactly after snapping: the faces of their noded boundaries, each
    given back to the polygon containing it (a sliver left between two polygons by the
    snapping goes to the nearest one), so neighbours share every vertex of a common edge."""
    polygons = np.asarray(polygons, dtype=object)
    lines = shapely.union_all(shapely.boundary(polygons), grid_size=grid_size)
    faces = np.asarray(shapely.get_parts(shapely.polygonize(shapely.get_parts(lines))))
    tree = shapely.STRtree(polygons)
    inner = shapely.point_on_surface(faces)
    hit_face, hit_poly = tree.query(inner, predicate="within")
    owner = np.full(len(faces), -1, dtype=np.int64)
    first = np.unique(hit_face, return_index=True)[1]
    owner[hit_face[first]] = hit_poly[first]
    lost = np.flatnonzero(owner < 0)
    if len(lost):
        near_face, near_poly = tree.query_nearest(inner[lost], all_matches=False)
        owner[lost[near_face]] = near_poly
    out = polygons.copy()
    counts = np.bincount(owner, minlength=len(polygons))
    single = counts[owner] == 1
    out[owner[single]] = faces[single]
    multi = np.flatnonzero(counts > 1)
    for i in multi:
        out[i] = shapely.union_all(faces[owner == i], grid_size=grid_size)
    return _single_parts(out, grid_size) if len(multi) else out


def _polygon_parts(geom):
    """The polygonal parts of a clip result (a clip can also return lines or points)."""
    return [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and p.area > 0]


# --------------------------------------------------------------------------- naming helpers

_CN_DIGITS = "零一二三四五六七八九"


def _cn_number(k: int) -> str:
    """1 → 一, 12 → 十二, 105 → 一百零五 (up to 9999)."""
    if k < 10:
        return _CN_DIGITS[k]
    if k < 20:
        return "十" + (_CN_DIGITS[k % 10] if k % 10 else "")
    if k < 100:
        return _CN_DIGITS[k // 10] + "十" + (_CN_DIGITS[k % 10] if k % 10 else "")
    if k < 1000:
        rest = k % 100
        tail = "" if rest == 0 else ("零" + _CN_DIGITS[rest] if rest < 10 else (
            "一十" + (_CN_DIGITS[rest % 10] if rest % 10 else "") if rest < 20 else _cn_number(rest)))
        return _CN_DIGITS[k // 100] + "百" + tail
    rest = k % 1000
    tail = "" if rest == 0 else ("零" + _cn_number(rest) if rest < 100 else _cn_number(rest))
    return _CN_DIGITS[k // 1000] + "千" + tail


def _cat(*parts):
    """Element-wise string concatenation of object arrays and scalars."""
    out = np.asarray(parts[0], dtype=object)
    for part in parts[1:]:
        out = out + np.asarray(part, dtype=object)
    return out


def _text(numbers):
    """Integers as an object array of decimal strings."""
    return np.asarray(numbers).astype(str).astype(object)


def _choice(rng, values, size, p=None):
    """Random picks from a tuple of strings, as an object array."""
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=size, p=p)]


def _dedupe(rng, names, regenerate, taken=()):
    """Regenerate the entries of ``names`` that repeat (or are in ``taken``) until all are unique.

    ``regenerate(idx)`` returns new names for the positions ``idx``.
    """
    names = np.asarray(names, dtype=object).copy()
    taken = pd.Index(np.asarray(taken, dtype=object), dtype=object)
    for _ in range(100):
        series = pd.Series(names, dtype=object)
        bad = series.duplicated().to_numpy().copy()
        if len(taken):
            bad |= series.isin(taken).to_numpy()
        bad = np.flatnonzero(bad)
        if not len(bad):
            return names
        names[bad] = regenerate(bad)
    raise RuntimeError("could not make names unique; too many units for the name space")


def _person_names(rng, n, taken=()):
    """``n`` distinct fictional Chinese names (surname + one or two given characters)."""
    def make(idx):
        k = len(idx)
        given = _choice(rng, GIVEN_CHARS, k)
        second = np.where(rng.random(k) < 0.8, _choice(rng, GIVEN_CHARS, k), "")
        return _cat(_choice(rng, SURNAMES, k), given, second)
    return _dedupe(rng, make(np.arange(n)), make, taken)


def _phones(rng, n):
    """Masked fictional mobile numbers such as 138****1234."""
    last = np.char.zfill(rng.integers(0, 10_000, n).astype(str), 4).astype(object)
    return _cat(_choice(rng, PHONE_PREFIXES, n), "****", last)


def _pick_names(rng, fixed, parts, n):
    """``n`` unique names: ``fixed`` first, then random products of ``parts`` (then 二期…)."""
    fixed = list(fixed[:n])
    if n <= len(fixed):
        return np.array(fixed, dtype=object)
    product = np.array([""], dtype=object)
    for part in parts:
        product = (product[:, None] + np.asarray(part, dtype=object)[None, :]).ravel()
    product = product[~pd.Series(product).isin(fixed).to_numpy()]
    product = pd.unique(product)
    need = n - len(fixed)
    pool = product[rng.permutation(len(product))]
    phase = 2
    while len(pool) < need:
        pool = np.concatenate([pool, product + _cn_number(phase) + "期"])
        phase += 1
    return np.concatenate([np.array(fixed, dtype=object), pool[:need]])


def _check_characters(bodies: np.ndarray) -> np.ndarray:
    """GB 32100-2015 check character indices for an (n, 17) array of alphabet indices."""
    total = (np.asarray(bodies, dtype=np.int64) * CODE_WEIGHTS).sum(axis=1) % 31
    return (31 - total) % 31


def _credit_codes(rng, prefixes, taken=()):
    """Unique valid credit codes: 2-char prefix + county code + 9 random chars + check char."""
    n = len(prefixes)
    index = {c: i for i, c in enumerate(CODE_ALPHABET)}
    head = np.array([[index[c] for c in p + COUNTY_CODE] for p in ("91", "52", "51")], dtype=np.int64)
    kind = pd.Series(prefixes).map({"91": 0, "52": 1, "51": 2}).to_numpy()
    letters = np.frombuffer(CODE_ALPHABET.encode(), dtype=np.uint8)

    def make(idx):
        body = np.empty((len(idx), 17), dtype=np.int64)
        body[:, :8] = head[kind[idx]]
        body[:, 8:] = rng.integers(0, 31, (len(idx), 9))
        full = np.column_stack([body, _check_characters(body)])
        return np.ascontiguousarray(letters[full]).view("S18").ravel().astype(str).astype(object)
    return _dedupe(rng, make(np.arange(n)), make, taken)


# --------------------------------------------------------------------------- the generator

class _Generator:
    """Builds one county; the methods run in order and share the random generator."""

    def __init__(self, units: int, seed: int, n_grids: int):
        self.n = units
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.n_grids = n_grids
        self.n_towns = min(len(TOWN_NAMES), max(1, round(math.sqrt(n_grids))), n_grids)
        self.n_parks = min(len(PARK_NAMES), 3 + units // 100_000)
        self.n_buildings = max(1, round(units * 0.006))
        self.n_markets = min(300, max(2, round(units / 700)))
        self.n_instructors = max(120, round(units * 0.06))
        self._trees: dict[int, tuple] = {}

    def build(self) -> DemoCounty:
        self._county()
        self._towns()
        self._parks()
        self._unit_points()
        self._grids()
        self._grid_leaders()
        self._buildings_and_markets()
        self._centres()
        self._bulk_units()
        self._bulk_orgs()
        self._bulk_people()
        self._cases()
        return self._assemble()

    # ----------------------------------------------------------------- geography

    def _county(self):
        r, theta, _ = _blob(self.rng, 0.0, 0.0, 14_000.0, vertices=120)
        r = np.minimum(r, 16_300.0)
        self.county_xy = shapely.Polygon(np.column_stack([1.05 * r * np.cos(theta), 0.95 * r * np.sin(theta)]))
        shapely.prepare(self.county_xy)

    def _towns(self):
        """Town seats spread over the county (the county seat near the middle), Voronoi towns."""
        rng, n = self.rng, self.n_towns
        spacing = 0.75 * math.sqrt(self.county_xy.area / n)
        seats = [(rng.normal(0, 1500), rng.normal(0, 1500))]
        while len(seats) < n:
            cx, cy = _random_points_in(rng, [self.county_xy.buffer(-1500)], np.zeros(64, dtype=int))
            for x, y in zip(cx, cy):
                if len(seats) < n and min(math.hypot(x - a, y - b) for a, b in seats) >= spacing:
                    seats.append((x, y))
            spacing *= 0.9
        self.seats = np.array(seats)
        self.towns_xy = _tile(self.county_xy, self.seats)
        shapely.prepare(self.towns_xy)
        self.town_names = np.array(TOWN_NAMES[:n], dtype=object)
        self.town_short = np.array([re.sub("(街道|镇|乡)$", "", t) for t in self.town_names], dtype=object)
        counters = {"街道": 1, "镇": 100, "乡": 200}
        codes = []
        for name in self.town_names:
            suffix = "街道" if name.endswith("街道") else name[-1]
            codes.append(f"{COUNTY_CODE}{counters[suffix]:03d}")
            counters[suffix] += 1
        self.town_codes = np.array(codes, dtype=object)

    def _parks(self):
        """Parks: irregular polygons 2–4 km from a town seat, inside the county, apart."""
        rng = self.rng
        parks, levels, names = [], [], []
        inner = self.county_xy.buffer(-300)
        seats = shapely.points(self.seats)
        for i in range(self.n_parks):
            anchor = 0 if i == 0 else (1 % self.n_towns if i == 1 else int(rng.integers(0, self.n_towns)))
            for attempt in range(2000):
                if attempt == 400:
                    anchor = int(rng.integers(0, self.n_towns))  # no room there: try another town
                angle = rng.random() * 2 * np.pi
                dist = rng.uniform(2000, 4000) * (1 + (attempt % 400) / 200)
                cx = self.seats[anchor, 0] + dist * math.cos(angle)
                cy = self.seats[anchor, 1] + dist * math.sin(angle)
                _, _, poly = _blob(rng, cx, cy, rng.uniform(800, 1300), stretch=rng.uniform(0.8, 1.3))
                if (poly.within(inner) and shapely.distance(poly, seats).min() >= 1300
                        and all(poly.distance(p) > 500 for p in parks)):
                    break
            else:
                raise RuntimeError("no room for another park")
            parks.append(poly)
            names.append(PARK_NAMES[i][0])
            levels.append(PARK_NAMES[i][1])
        self.parks_xy = np.array(parks, dtype=object)
        shapely.prepare(self.parks_xy)
        self.park_names = np.array(names, dtype=object)
        self.park_levels = np.array(levels, dtype=object)
        # Every third park (the county-level logistics park first) has no service centre.
        self.park_has_centre = np.arange(self.n_parks) % 3 != 2

    def _unit_points(self):
        """Points for units with a location of their own: town-seat clusters, the countryside
        and the parks (markets and buildings are added once the grids exist)."""
        rng, n = self.rng, self.n
        # Mixture weights: county seat, other seats, countryside, parks.
        other = rng.dirichlet(np.full(max(self.n_towns - 1, 1), 2.0)) * 0.40
        parks = np.full(self.n_parks, 0.15 / self.n_parks)
        weights = np.concatenate([[0.30], other if self.n_towns > 1 else [], [0.15], parks])
        weights = weights / weights.sum()
        # One point per unit; the units draw from this pool, and so do the grid seeds.
        pool = n
        comp = rng.choice(len(weights), size=pool, p=weights)
        x = np.empty(pool)
        y = np.empty(pool)
        nt = self.n_towns
        cluster = comp < nt
        sigma = np.where(comp == 0, 1000.0, 600.0)
        todo = np.flatnonzero(cluster)
        while len(todo):
            c = comp[todo]
            cx = self.seats[c, 0] + rng.normal(0, 1, len(todo)) * sigma[todo]
            cy = self.seats[c, 1] + rng.normal(0, 1, len(todo)) * sigma[todo]
            ok = shapely.contains_xy(self.county_xy, cx, cy)
            x[todo[ok]], y[todo[ok]] = cx[ok], cy[ok]
            todo = todo[~ok]
        rural = np.flatnonzero(comp == nt)
        x[rural], y[rural] = _random_points_in(rng, [self.county_xy], np.zeros(len(rural), dtype=int))
        park = np.flatnonzero(comp > nt)
        x[park], y[park] = _random_points_in(rng, self.parks_xy, comp[park] - nt - 1)
        self.pool_x, self.pool_y = x, y
        self.pool_zone = np.where(cluster, 0, np.where(comp == nt, 1, 2))  # 0 seat, 1 rural, 2 park
        self.pool_park = np.where(comp > nt, comp - nt - 1, -1)

    def _locate(self, polygons, x, y):
        """Index of the polygon containing each point (nearest when none: never in practice)."""
        key = id(polygons)
        if key not in self._trees:
            self._trees[key] = (polygons, shapely.STRtree(polygons))
        tree = self._trees[key][1]
        pts = shapely.points(x, y)
        hit_in, hit_poly = tree.query(pts, predicate="intersects")
        out = np.full(len(x), -1, dtype=np.int64)
        first = np.unique(hit_in, return_index=True)[1]
        out[hit_in[first]] = hit_poly[first]
        missing = np.flatnonzero(out < 0)
        if len(missing):
            near = tree.query_nearest(pts[missing], max_distance=1.0, all_matches=False)
            out[missing[near[0]]] = near[1]
        return out

    def _grids(self):
        """Grids: per town, Voronoi cells of seeds drawn from the unit points (so dense areas
        get small grids), numbered outward from the town seat."""
        rng, nt = self.rng, self.n_towns
        sample = rng.choice(len(self.pool_x), size=min(len(self.pool_x), 30 * self.n_grids), replace=False)
        town_of = self._locate(self.towns_xy, self.pool_x[sample], self.pool_y[sample])
        counts = np.bincount(town_of[town_of >= 0], minlength=nt).astype(float)
        base = 2 if self.n_grids >= 2 * nt else 1
        quota = np.full(nt, base)
        share = counts / counts.sum() * (self.n_grids - base * nt)
        quota += np.floor(share).astype(int)
        order = np.argsort(-(share - np.floor(share)), kind="stable")
        quota[order[: self.n_grids - quota.sum()]] += 1
        polys, towns, numbers = [], [], []
        for t in range(nt):
            candidates = sample[town_of == t]
            k = quota[t]
            take = candidates[rng.permutation(len(candidates))[:k]]
            sx, sy = self.pool_x[take], self.pool_y[take]
            if len(take) < k:
                ex, ey = _random_points_in(rng, [self.towns_xy[t]], np.zeros(k - len(take), dtype=int))
                sx, sy = np.concatenate([sx, ex]), np.concatenate([sy, ey])
            dist = np.hypot(sx - self.seats[t, 0], sy - self.seats[t, 1])
            rank = np.argsort(dist, kind="stable")
            cells = _tile(self.towns_xy[t], np.column_stack([sx[rank], sy[rank]]))
            polys.extend(cells)
            towns.extend([t] * len(cells))
            numbers.extend(range(1, len(cells) + 1))
        self.grids_xy = np.array(polys, dtype=object)
        self.grid_town = np.array(towns)
        self.grid_number = np.array(numbers)
        width = max(2, len(str(max(numbers))))
        self.grid_ids = np.array([f"QH-{t + 1:02d}-{k:0{width}d}" for t, k in zip(towns, numbers)],
                                 dtype=object)
        self.grid_names = _cat(self.town_names[self.grid_town], "第", _text(self.grid_number), "网格")
        self.grids_deg = _planar(_to_degrees(self.grids_xy), DEGREE_PRECISION)
        shapely.prepare(self.grids_deg)
        # Towns and the county in degrees are the unions of their grids, so they share the
        # grids' (snapped) vertices and the three layers nest exactly.
        self.towns_deg = np.array([
            shapely.union_all(self.grids_deg[self.grid_town == t], grid_size=DEGREE_PRECISION) for t in range(nt)
        ], dtype=object)
        self.county_deg = shapely.union_all(self.towns_deg, grid_size=DEGREE_PRECISION)
        self.grid_of_seat = self._locate(self.grids_xy, self.seats[:, 0], self.seats[:, 1])
        self.grid_boundaries_xy = shapely.boundary(self.grids_xy)

    def _grid_leaders(self):
        """A leader (fictional name, masked phone) for every grid but a few (about 5 %)."""
        rng = self.rng
        leaders = _person_names(rng, self.n_grids)
        phones = _phones(rng, self.n_grids)
        n_without = min(self.n_grids, max(2, round(0.05 * self.n_grids)))
        self.leaderless = np.sort(rng.choice(self.n_grids, size=n_without, replace=False))
        leaders[self.leaderless] = ""
        phones[self.leaderless] = ""
        self.grids_gdf = gpd.GeoDataFrame(
            {"id": self.grid_ids, "name": self.grid_names, "town": self.town_names[self.grid_town],
             "leader": leaders, "leader_phone": phones, "note": NOTE}, geometry=self.grids_deg, crs=CRS)

    def _buildings_and_markets(self):
        """Buildings and markets: small rectangles on a 150 m lattice (so they never overlap),
        in the town-seat clusters (half the buildings downtown in the county seat; only very
        large counties spill into the countryside), clear of the parks, each inside one grid."""
        rng = self.rng
        lattice = 150.0
        cells = pd.DataFrame({"x": np.round(self.pool_x / lattice) * lattice,
                              "y": np.round(self.pool_y / lattice) * lattice,
                              "rural": self.pool_zone == 1})
        cells = cells[self.pool_zone != 2].sort_values("rural", kind="stable").drop_duplicates(["x", "y"])
        kx, ky, rural = cells["x"].to_numpy(), cells["y"].to_numpy(), cells["rural"].to_numpy()
        grid = self._locate(self.grids_xy, kx, ky)
        home = self.grids_xy[np.maximum(grid, 0)]

        def fits(half_w, half_h):
            box = shapely.box(kx - half_w, ky - half_h, kx + half_w, ky + half_h)
            return (grid >= 0) & shapely.within(box, home)
        clear = shapely.distance(shapely.points(kx, ky)[:, None], self.parks_xy[None, :]).min(axis=1) > 200
        fit_building = clear & fits(31, 21)
        fit_market = clear & fits(56, 56)
        core = ~rural & (np.hypot(kx - self.seats[0, 0], ky - self.seats[0, 1]) < 2500)

        def shuffled(mask):
            idx = np.flatnonzero(mask)
            return idx[rng.permutation(len(idx))]
        n_core = (self.n_buildings + 1) // 2
        core_idx = shuffled(fit_building & core)[:n_core]
        rest = np.concatenate([shuffled(fit_building & ~core & ~rural),
                               shuffled(fit_building & ~core & rural)])
        b_idx = np.concatenate([core_idx, rest])[: self.n_buildings]
        taken = np.zeros(len(kx), dtype=bool)
        taken[b_idx] = True
        m_idx = np.concatenate([shuffled(fit_market & ~taken & ~rural),
                                shuffled(fit_market & ~taken & rural)])[: self.n_markets]
        if len(b_idx) < self.n_buildings or len(m_idx) < self.n_markets:
            raise RuntimeError("not enough room for the buildings and markets")
        bx, by, mx, my = kx[b_idx], ky[b_idx], kx[m_idx], ky[m_idx]
        w = rng.uniform(20, 30, len(bx))
        h = rng.uniform(12, 20, len(bx))
        self.buildings_xy = shapely.box(bx - w, by - h, bx + w, by + h)
        self.building_xy_pt = np.column_stack([bx, by])
        self.building_grid = self._locate(self.grids_xy, bx, by)
        places = [COUNTY_SHORT, *self.town_short]
        self.building_names = _pick_names(rng, BUILDING_NAMES, (places, BUILDING_WORDS, BUILDING_SUFFIXES), len(bx))
        self.building_floors = rng.integers(8, 33, len(bx))
        s = rng.uniform(40, 55, len(mx))
        self.markets_xy = shapely.box(mx - s, my - s, mx + s, my + s)
        self.market_xy_pt = np.column_stack([mx, my])
        self.market_grid = self._locate(self.grids_xy, mx, my)
        self.market_names = _pick_names(rng, MARKET_NAMES, (places, MARKET_WORDS, MARKET_SUFFIXES), len(mx))

    def _centres(self):
        """Service centres: 市级 and 县级 in the county seat, 乡镇街道 in about 60 % of the towns,
        园区 in two parks of three, 楼宇 in a third of the buildings of towns with a centre."""
        rng = self.rng
        rows = []  # (name, level, area, x, y)

        def near(t, lo, hi):
            a = rng.random() * 2 * np.pi
            d = rng.uniform(lo, hi)
            return self.seats[t, 0] + d * math.cos(a), self.seats[t, 1] + d * math.sin(a)

        second = 1 if self.n_towns > 1 else 0
        rows.append((f"{PREFECTURE}两新组织党群服务中心{COUNTY_SHORT}分中心", "市级", 520.0, *near(0, 150, 400)))
        rows.append((f"{PREFECTURE}非公经济党群服务中心{self.town_short[second]}工作站", "市级", 360.0,
                     *near(second, 100, 300)))
        rows.append((f"{COUNTY_NAME}党群服务中心", "县级", 860.0, *near(0, 100, 300)))
        rows.append((f"{COUNTY_NAME}非公经济组织党群服务中心", "县级", 180.0, *near(0, 300, 600)))
        n_with = max(1, math.ceil(0.6 * self.n_towns))
        others = [int(t) for t in rng.permutation(np.arange(2, self.n_towns))]
        with_centre = sorted({0, second, *others[: max(0, n_with - 2)]})
        self.town_has_centre = np.zeros(self.n_towns, dtype=bool)
        self.town_has_centre[with_centre] = True
        for t in with_centre:
            area = float(rng.integers(12, 40) * 10)
            rows.append((f"{self.town_names[t]}党群服务中心", "乡镇街道", area, *near(t, 0, 120)))
        for p in np.flatnonzero(self.park_has_centre):
            pt = self.parks_xy[p].representative_point()
            rows.append((f"{self.park_names[p]}党群服务中心", "园区", float(rng.integers(20, 60) * 10), pt.x, pt.y))
        building_town = self.grid_town[self.building_grid]
        eligible = np.flatnonzero(self.town_has_centre[building_town])
        n_b = min(len(eligible), max(2, round(self.n_buildings / 3)))
        for b in np.sort(rng.choice(eligible, size=n_b, replace=False)):
            area = float(rng.integers(6, 20) * 10)
            rows.append((f"{self.building_names[b]}党群服务站", "楼宇", area, *self.building_xy_pt[b]))
        names, levels, areas, x, y = (np.array(v) for v in zip(*rows))
        self.centres_xy = np.column_stack([x.astype(float), y.astype(float)])
        self.centre_names = names.astype(object)
        self.centre_levels = levels.astype(object)
        self.centre_areas = areas.astype(float)
        self.centre_hours = _choice(rng, CENTRE_HOURS, len(rows))

    # ----------------------------------------------------------------- units: the bulk

    def _bulk_units(self):
        """Kinds, sizes and locations of the bulk units (all but the deliberate cases)."""
        rng = self.rng
        nb = self.n - len(_CASE_SPECS)
        self.nb = nb
        # Tenants of buildings and units of markets first, then units with their own points.
        tenants = rng.integers(10, 41, self.n_buildings)
        while tenants.sum() > 0.3 * nb and tenants.max() > 10:
            tenants = np.maximum(10, tenants - 1)
        market_units = rng.integers(8, 16, self.n_markets)
        n_t, n_m = int(tenants.sum()), int(market_units.sum())
        n_p = nb - n_t - n_m
        if n_p < 0:
            raise ValueError("too few units for the buildings and markets")
        zone = np.concatenate([np.full(n_p, -1), np.full(n_m, 3), np.full(n_t, 4)])
        x = np.full(nb, np.nan)
        y = np.full(nb, np.nan)
        pick = rng.choice(len(self.pool_x), size=n_p, replace=n_p > len(self.pool_x))
        x[:n_p], y[:n_p] = self.pool_x[pick], self.pool_y[pick]
        zone[:n_p] = self.pool_zone[pick]
        park = np.full(nb, -1)
        park[:n_p] = self.pool_park[pick]
        market = np.full(nb, -1)
        market[n_p:n_p + n_m] = np.repeat(np.arange(self.n_markets), market_units)
        mx, my = _random_points_in(rng, self.markets_xy, market[n_p:n_p + n_m])
        x[n_p:n_p + n_m], y[n_p:n_p + n_m] = mx, my
        building = np.full(nb, -1)
        building[n_p + n_m:] = np.repeat(np.arange(self.n_buildings), tenants)
        # Shuffle so that the kinds of unit are not tied to the zones.
        perm = rng.permutation(nb)
        zone, x, y, park, market, building = (a[perm] for a in (zone, x, y, park, market, building))
        tenant = building >= 0

        lon, lat = _lonlat(x, y)
        lon, lat = np.round(lon, COORD_DECIMALS), np.round(lat, COORD_DECIMALS)
        grid = np.full(nb, -1)
        has_pt = ~tenant
        grid[has_pt] = self._locate(self.grids_deg, lon[has_pt], lat[has_pt])
        grid[tenant] = self.building_grid[building[tenant]]
        self.u = u = {
            "zone": zone, "x": x, "y": y, "lon": lon, "lat": lat, "grid": grid,
            "park": park, "market": market, "building": building,
        }
        u["town"] = self.grid_town[grid]

        social = rng.random(nb) < 0.25
        u["social"] = social
        status = _choice(rng, ("正常", "停产", "半停产", "注销"), nb, p=(0.935, 0.02, 0.015, 0.03))
        u["status"] = status
        above = ~social & (rng.random(nb) < 0.20)
        u["above"] = above
        median = np.where(above, 70.0, np.where(social, 8.0, 12.0))
        sigma = np.where(above, 0.8, np.where(social, 0.8, 0.75))
        employees = np.rint(median * np.exp(rng.normal(0, 1, nb) * sigma)).astype(np.int64)
        employees = np.clip(employees, np.where(above, 20, 1), 1500)
        u["employees"] = employees
        u["fixed"] = rng.random(nb) < np.where(above, 0.98, 0.92)
        u["fixed"] |= tenant | (zone == 2)

        # Location evidence written to the ledger (the true location is kept above): tenants
        # give their building only, a quarter of the park units their park only, a few units
        # their grid only.
        park_only = (zone == 2) & (rng.random(nb) < 0.25)
        grid_only = np.isin(zone, (0, 1)) & (rng.random(nb) < 0.04)
        u["park_only"], u["grid_only"] = park_only, grid_only
        u["write_coords"] = ~(park_only | grid_only | tenant)

        # Industries and names.
        ind_p = np.array([w for _, _, w, _ in ENTERPRISE_INDUSTRIES])
        soc_p = np.array([w for _, _, w, _, _ in SOCIAL_TYPES])
        ent_ind = rng.choice(len(ENTERPRISE_INDUSTRIES), nb, p=ind_p / ind_p.sum())
        soc_ind = rng.choice(len(SOCIAL_TYPES), nb, p=soc_p / soc_p.sum())
        industry = np.where(social, np.array([s[0] for s in SOCIAL_TYPES], dtype=object)[soc_ind],
                            np.array([e[0] for e in ENTERPRISE_INDUSTRIES], dtype=object)[ent_ind])
        sector = np.where(social, np.array([s[1] for s in SOCIAL_TYPES], dtype=object)[soc_ind],
                          np.array([e[1] for e in ENTERPRISE_INDUSTRIES], dtype=object)[ent_ind])
        u["industry"], u["sector"] = industry, sector
        # Words: flatten (industry, word) tables and pick a word of the unit's industry.
        ent_words = [np.array(e[3], dtype=object) for e in ENTERPRISE_INDUSTRIES]
        soc_words = [np.array(s[4], dtype=object) for s in SOCIAL_TYPES]
        r = rng.random(nb)
        word = np.empty(nb, dtype=object)
        for i, words in enumerate(ent_words):
            m = ~social & (ent_ind == i)
            word[m] = words[(r[m] * len(words)).astype(int)]
        for i, words in enumerate(soc_words):
            m = social & (soc_ind == i)
            word[m] = words[(r[m] * len(words)).astype(int)]
        county_style = np.array([s[3] for s in SOCIAL_TYPES])[soc_ind]
        place = np.where(rng.random(nb) < 0.4, COUNTY_SHORT, self.town_short[u["town"]])
        prefix = np.where(social & county_style, COUNTY_NAME, place).astype(object)
        form_p = np.where(above, 0.35, 0.08)
        form = np.where(rng.random(nb) < form_p, ENTERPRISE_FORMS[2],
                        np.where(rng.random(nb) < 0.75, ENTERPRISE_FORMS[0], ENTERPRISE_FORMS[1]))
        form = np.where(social, "", form).astype(object)

        def names(idx, chars=2):
            zihao = _cat(*(_choice(rng, ZIHAO, len(idx)) for _ in range(chars)))
            return _cat(prefix[idx], zihao, word[idx], form[idx])
        # A name already taken is drawn again with a three-character 字号 (large counties).
        u["name"] = _dedupe(rng, names(np.arange(nb)), lambda idx: names(idx, 3),
                            taken=[s["name"] for s in _CASE_SPECS])
        u["code"] = _credit_codes(rng, np.where(social, np.where(word == "志愿服务中心", "51", "52"), "91"))

        # Addresses.
        road = _choice(rng, ROADS, nb)
        number = _text(rng.integers(1, 400, nb))
        town_name = self.town_names[u["town"]]
        village = _choice(rng, VILLAGES, nb)
        addr = np.where(zone == 1, _cat(COUNTY_NAME, town_name, village, "村", number, "号"),
                        _cat(COUNTY_NAME, town_name, road, number, "号"))
        floor = rng.integers(1, 30, nb)
        floor = np.minimum(floor, self.building_floors[np.maximum(building, 0)])
        room = _cat(_text(floor), "层", _text(floor * 100 + rng.integers(1, 20, nb)), "室")
        building_name = self.building_names[np.maximum(building, 0)]
        addr = np.where(tenant, _cat(COUNTY_NAME, town_name, building_name, room), addr)
        stall = _cat(self.market_names[np.maximum(market, 0)], _text(rng.integers(1, 300, nb)), "号商铺")
        addr = np.where(market >= 0, stall, addr)
        u["address"] = addr

        # Party members; the orgs adjust them (own orgs need 3, joint branches are filled up).
        u["formal"] = np.minimum(rng.poisson(0.03 * employees ** 0.7), employees)

    def _bulk_orgs(self):
        """Own orgs, regional orgs (parks, buildings, markets), grid branches, joint branches,
        functional branches and a few orgs of an unknown type."""
        rng, u, nb = self.rng, self.u, self.nb
        in_scope = u["status"] != "注销"
        grid = u["grid"]
        # Grids kept bare (eligible units, no org at all) for grid_without_branch; never a seat,
        # building, market or park grid, so no deliberate case or regional org lands in one.
        blocked = np.zeros(self.n_grids, dtype=bool)
        blocked[self.grid_of_seat] = True
        blocked[self.building_grid] = True
        blocked[self.market_grid] = True
        blocked |= shapely.intersects(self.grids_xy[:, None], self.parks_xy[None, :]).any(axis=1)
        eligible = in_scope & u["fixed"] & (u["employees"] >= 6) & u["write_coords"]
        has_eligible = np.bincount(grid[eligible], minlength=self.n_grids) > 0
        candidates = np.flatnonzero(~blocked & has_eligible)
        n_bare = min(len(candidates), max(2, round(0.04 * self.n_grids)))
        self.bare_grids = np.sort(rng.choice(candidates, size=n_bare, replace=False)).astype(int)
        bare = np.isin(grid, self.bare_grids)
        u["bare"] = bare

        org = np.full(nb, "", dtype=object)
        otype = np.full(nb, "", dtype=object)
        formal = u["formal"]
        emp = u["employees"]

        # Own orgs: 8.87 % of the above-scale units (seed 004), a few of the others.
        # The deliberate cases count too: k is chosen so that the whole ledger hits the rate.
        above_in = np.flatnonzero(u["above"] & in_scope & ~bare)
        case_above = [s for s in _CASE_SPECS if s.get("above") == "是" and s.get("status", "正常") != "注销"]
        case_above_own = [s for s in case_above if s.get("org_type") in ("党委", "党总支", "党支部")]
        n_above = int((u["above"] & in_scope).sum()) + len(case_above)
        k = min(len(above_in), max(0, round(0.0887 * n_above) - len(case_above_own)))
        own = np.zeros(nb, dtype=bool)
        if k:
            w = emp[above_in].astype(float)
            own[rng.choice(above_in, size=k, replace=False, p=w / w.sum())] = True
        own |= ~u["above"] & ~bare & ~u["social"] & (emp >= 15) & (rng.random(nb) < 0.015)
        own |= ~bare & u["social"] & (emp >= 10) & (rng.random(nb) < 0.03)
        shell = own & (rng.random(nb) < 0.08)
        boost = rng.poisson(0.03 * emp) + 3
        formal = np.where(own & ~shell, np.maximum(formal, boost), formal)
        formal = np.where(shell, rng.integers(1, 3, nb), formal)
        # Units without an own org rarely have 3 members or more (some do: should_form_own).
        many = ~own & (formal >= 3) & (rng.random(nb) < 0.7)
        formal = np.where(many, rng.integers(1, 3, nb), formal)
        u["formal"] = formal
        # 100 members or more: 党委; 50 or more: mostly 党总支 (a few stay too-large 党支部).
        large = np.where(rng.random(nb) < 0.9, "党总支", "党支部")
        middle = np.where((formal >= 30) & (rng.random(nb) < 0.3), "党总支", "党支部")
        own_type = np.where(formal >= 100, "党委", np.where(formal >= 50, large, middle))
        org[own] = _cat(u["name"][own], own_type[own])
        otype[own] = own_type[own]

        free = ~own & ~bare
        # Building orgs: three buildings in four have one, covering most tenants.
        b_has_org = rng.random(self.n_buildings) < 0.75
        b_has_org[0] = True
        cover = free & (u["building"] >= 0) & b_has_org[np.maximum(u["building"], 0)] & (rng.random(nb) < 0.8)
        org[cover] = _cat(self.building_names[u["building"][cover]], "党支部")
        otype[cover] = "区域性党组织"
        free &= ~cover
        # Park committees cover most park units; market orgs most market units.
        cover = free & (u["park"] >= 0) & (rng.random(nb) < 0.65)
        org[cover] = _cat(self.park_names[u["park"][cover]], "综合党委")
        otype[cover] = "区域性党组织"
        free &= ~cover
        cover = free & (u["market"] >= 0) & (rng.random(nb) < 0.7)
        org[cover] = _cat(self.market_names[u["market"][cover]], "党支部")
        otype[cover] = "区域性党组织"
        free &= ~cover
        # Grid branches in a little over half of the grids, for eligible units.
        g_branch = rng.random(self.n_grids) < 0.55
        g_branch[self.bare_grids] = False
        self.grid_has_branch = g_branch
        cover = free & g_branch[grid] & u["fixed"] & (emp >= 6) & (rng.random(nb) < 0.5)
        org[cover] = _cat(self.grid_names[grid[cover]], "党支部")
        otype[cover] = "网格党支部"
        free &= ~cover
        # Joint branches: 2–6 units of one town, mostly 3, a third of them over the cap.
        joint = np.flatnonzero(free & (rng.random(nb) < 0.22))
        if len(joint):
            sector = u["sector"][joint].astype(str)
            joint = joint[np.lexsort((rng.random(len(joint)), sector, u["town"][joint]))]
            town = u["town"][joint]
            starts = np.flatnonzero(np.r_[True, town[1:] != town[:-1]])
            ends = np.r_[starts[1:], len(joint)]
            group = np.full(len(joint), -1)
            next_id = 0
            for s, e in zip(starts, ends):  # one pass per town, vectorised inside
                sizes = rng.choice([2, 3, 4, 5, 6], size=(e - s) // 2 + 1, p=[0.2, 0.45, 0.17, 0.12, 0.06])
                bounds = np.cumsum(sizes)
                bounds = bounds[bounds <= e - s]
                if not len(bounds):
                    continue
                ids = np.searchsorted(bounds, np.arange(e - s), side="right")
                ids[ids >= len(bounds)] = -1  # the remainder stays without an org
                group[s:e] = np.where(ids >= 0, ids + next_id, -1)
                next_id += len(bounds)
            member = group >= 0
            joint, group = joint[member], group[member]
            first = np.r_[True, group[1:] != group[:-1]]
            head_sector = u["sector"][joint][first]
            head_town = u["town"][joint][first]
            key = pd.Series(self.town_names[head_town] + head_sector)
            numbers = key.groupby(key).cumcount().to_numpy() + 1
            cn = np.array([_cn_number(int(k)) for k in range(0, int(numbers.max()) + 1)], dtype=object)
            group_names = _cat(COUNTY_NAME, self.town_names[head_town], head_sector, "第", cn[numbers], "联合党支部")
            org[joint] = group_names[np.cumsum(first) - 1]
            otype[joint] = "联合党支部"
            free[joint] = False
            # Fill up most joint branches that would be empty shells (fewer than 3 members).
            codes, uniq = pd.factorize(org[joint])
            total = np.bincount(codes, weights=formal[joint] * in_scope[joint])
            size = np.bincount(codes)
            deficit = np.where((total < 3) & (rng.random(len(uniq)) < 0.85), 3 - total, 0).astype(int)
            pos = pd.Series(codes).groupby(codes).cumcount().to_numpy()
            d, sz = deficit[codes], size[codes]
            add = d // sz + (pos < d % sz)
            formal[joint] = np.maximum(formal[joint], np.minimum(formal[joint] + add, emp[joint]))
        # Functional branches for units with many mobile members; a few unknown org types.
        mobile = np.where(rng.random(nb) < 0.08, rng.integers(1, 4, nb), 0)
        mobile = np.where(rng.random(nb) < 0.006, rng.integers(4, 8, nb), mobile)
        u["mobile"] = mobile
        func = free & (mobile > 3) & (rng.random(nb) < 0.5)
        org[func] = _cat(COUNTY_NAME, self.town_names[u["town"][func]], "流动党员功能型党支部")
        otype[func] = "功能型党支部"
        free &= ~func
        unknown = free & (rng.random(nb) < 0.003)
        unknown_type = _choice(rng, ("临时党小组", "党小组"), nb)
        org[unknown] = _cat(u["name"][unknown], unknown_type[unknown])
        otype[unknown] = unknown_type[unknown]
        u["org"], u["otype"], u["formal"] = org, otype, formal
        u["covered"] = np.isin(otype, ("党委", "党总支", "党支部", "联合党支部", "网格党支部", "区域性党组织"))

        # Election dates per org: most within the last three years, some older, a few blank.
        with_org = org != ""
        codes, uniq = pd.factorize(org[with_org])
        n_org = len(uniq)
        recent = rng.random(n_org) < 0.7
        start_recent = (np.datetime64("2023-12-01") - np.datetime64("2016-01-01")).astype(int)
        span_recent = (np.datetime64("2025-12-31") - np.datetime64("2023-12-01")).astype(int)
        days = np.where(recent, start_recent + rng.integers(0, span_recent + 1, n_org),
                        rng.integers(0, start_recent, n_org))
        dates = (np.datetime64("2016-01-01") + days.astype("timedelta64[D]")).astype(str).astype(object)
        dates[rng.random(n_org) < 0.06] = ""
        elected = np.full(nb, "", dtype=object)
        elected[with_org] = dates[codes]
        u["elected"] = elected

    def _bulk_people(self):
        """Instructors (about half the units without an org, some instructors over five
        units), mass orgs, reasons, activists and the smaller counts."""
        rng, u, nb = self.rng, self.u, self.nb
        in_scope = u["status"] != "注销"
        emp = u["employees"]
        self.instructor_names = _person_names(rng, self.n_instructors)
        town_committees = [t + ("党工委" if t.endswith("街道") else "党委") for t in self.town_names]
        self.instructor_units = _choice(rng, (*INSTRUCTOR_UNITS, *town_committees), self.n_instructors)
        self.instructor_phones = _phones(rng, self.n_instructors)
        need = np.flatnonzero(in_scope & ~u["covered"] & (rng.random(nb) < 0.5))
        shared = u["covered"] & ~np.isin(u["otype"], ("党委", "党总支", "党支部"))
        weak = np.flatnonzero(in_scope & shared & (rng.random(nb) < 0.05))
        assigned = np.concatenate([need, weak])
        assigned = assigned[rng.permutation(len(assigned))]
        loads = rng.choice(np.arange(1, 10), size=self.n_instructors,
                           p=[0.06, 0.11, 0.18, 0.24, 0.31, 0.05, 0.03, 0.015, 0.005])
        loads[0] = 7  # one instructor certainly over five units (instructor_overload)
        loads[-len(_CASE_INSTRUCTORS):] = 0  # kept for the deliberate cases
        slots = np.repeat(np.arange(self.n_instructors), loads)[: len(assigned)]
        instructor = np.full(nb, "", dtype=object)
        instructor[assigned[: len(slots)]] = self.instructor_names[slots]
        u["instructor"] = instructor

        has_mass = rng.random(nb) < np.where(u["covered"], 0.30, 0.20)
        u["mass"] = np.where(has_mass, _choice(rng, MASS_ORG_VALUES, nb, p=MASS_ORG_P), "").astype(object)

        formal = u["formal"]
        reason = np.where(formal == 0, _choice(rng, REASONS_NONE, nb, p=REASONS_NONE_P),
                          np.where(formal < 3, _choice(rng, REASONS_FEW, nb, p=REASONS_FEW_P),
                                   _choice(rng, REASONS_MANY, nb, p=REASONS_MANY_P))).astype(object)
        reason[u["covered"] | (rng.random(nb) < 0.08)] = ""
        joined = np.isin(u["otype"], ("联合党支部", "网格党支部")) & (rng.random(nb) < 0.3)
        reason[joined] = "已纳入联合党支部"
        u["reason"] = reason

        u["prob"] = np.where(rng.random(nb) < 0.06, np.where(rng.random(nb) < 0.15, 2, 1), 0)
        small = (rng.random(nb) < 0.05).astype(int)
        u["activists"] = np.where(emp >= 100, rng.poisson(1.6, nb), np.where(emp >= 50, rng.poisson(0.9, nb), small))
        u["owner_member"] = np.where(rng.random(nb) < np.where(formal > 0, 0.18, 0.03), "是", "否").astype(object)

    # ----------------------------------------------------------------- deliberate cases

    def _case_point(self, town: int, grid: int | None = None, far: bool = False):
        """A WGS-84 point for a deliberate unit, a few metres inside its grid: within 400 m of
        a town seat, inside a given grid, or (far) anywhere in a town without a centre but
        more than 1.5 km from every centre. Candidates are drawn 256 at a time."""
        rng, k = self.rng, 256
        for margin_m in (20.0, 3.0, 0.5):
            for _ in range(20):
                keep = np.ones(k, dtype=bool)
                if grid is not None:
                    x, y = _random_points_in(rng, self.grids_xy, np.full(k, grid))
                elif far:
                    x, y = _random_points_in(rng, self.towns_xy, np.full(k, town))
                    gap = np.hypot(self.centres_xy[:, 0][None, :] - x[:, None], self.centres_xy[:, 1][None, :] - y[:, None])
                    keep = gap.min(axis=1) > 1500
                else:
                    r, a = 400 * np.sqrt(rng.random(k)), rng.random(k) * 2 * np.pi
                    x, y = self.seats[town, 0] + r * np.cos(a), self.seats[town, 1] + r * np.sin(a)
                lon, lat = _lonlat(x, y)
                lon, lat = np.round(lon, COORD_DECIMALS), np.round(lat, COORD_DECIMALS)
                g = self._locate(self.grids_deg, lon, lat)
                margin = shapely.distance(shapely.points(x, y), self.grid_boundaries_xy[g])
                ok = np.flatnonzero(keep & (margin > margin_m))
                if len(ok):
                    i = ok[0]
                    return float(lon[i]), float(lat[i]), int(g[i])
        raise RuntimeError("no room for a deliberate case")

    def _cases(self):
        """The deliberate rows (see _CASE_SPECS), with locations chosen in this county."""
        rng = self.rng
        centre_towns = np.flatnonzero(self.town_has_centre)
        far_towns = np.flatnonzero(~self.town_has_centre)
        home = int(centre_towns[0])
        rows, cases = [], []
        inst = dict(zip(_CASE_INSTRUCTORS, self.instructor_names[-len(_CASE_INSTRUCTORS):]))
        for spec in _CASE_SPECS:
            row = {c: "" for c in LEDGER_COLUMNS}
            for c in COUNT_COLUMNS:
                row[c] = 0
            row.update({"企业名称": spec["name"], "单位类型": spec.get("kind", "非公企业"),
                        "行业": spec.get("industry", "批发和零售业"), "经营状态": spec.get("status", "正常"),
                        "是否规上": spec.get("above", "否"), "有固定经营场所": spec.get("fixed", "是"),
                        "从业人员数": spec.get("employees", 12), "正式党员数": spec.get("formal", 0),
                        "预备党员数": spec.get("prob", 0), "流动党员数": spec.get("mobile", 0),
                        "入党积极分子数": spec.get("activists", 0), "出资人是否党员": spec.get("owner", "否"),
                        "党组织名称": spec.get("org", ""), "党组织类型": spec.get("org_type", ""),
                        "党组织换届时间": spec.get("elected", ""), "群团组织": spec.get("mass", ""),
                        "未建党组织原因": spec.get("reason", "")})
            if spec.get("instructor"):
                row["党建指导员"] = inst[spec["instructor"]]
            place = spec.get("place", "home")
            if place == "far" and len(far_towns):
                lon, lat, g = self._case_point(int(far_towns[0]), far=True)
            elif place == "bare" and len(self.bare_grids):
                lon, lat, g = self._case_point(home, grid=int(self.bare_grids[0]))
            else:
                lon, lat, g = self._case_point(home)
            town = int(self.grid_town[g])
            row["所属乡镇街道"] = self.town_names[town]
            row["地址"] = f"{COUNTY_NAME}{self.town_names[town]}{ROADS[len(rows) % len(ROADS)]}{10 + len(rows)}号"
            grid_id = self.grid_ids[g]
            kind = spec.get("location", "coords")
            if kind == "coords":
                row["经度"], row["纬度"], row["坐标系"], row["所属网格"] = lon, lat, spec.get("crs", "WGS84"), grid_id
                if spec.get("crs") in ("GCJ-02", "gcj02", "BD09"):
                    row["经度"], row["纬度"] = self._forward(lon, lat, spec["crs"])
            elif kind == "swapped":
                row["经度"], row["纬度"], row["坐标系"], row["所属网格"] = lat, lon, "WGS84", grid_id
            elif kind == "mismatch_id":
                elsewhere = int(far_towns[0]) if len(far_towns) else (home + 1) % self.n_towns
                other = int(self.grid_of_seat[elsewhere])
                other = other if other != g else (g + 1) % self.n_grids
                row["经度"], row["纬度"], row["所属网格"] = lon, lat, self.grid_ids[other]
                row["坐标系"] = "WGS84"
            elif kind == "mismatch_name":
                other = (g + 1) % self.n_grids
                row["经度"], row["纬度"], row["所属网格"] = lon, lat, self.grid_names[other]
                row["坐标系"] = "WGS84"
            elif kind == "outside_grid":
                row["经度"], row["纬度"], row["坐标系"], row["所属网格"] = 103.98, 25.61, "WGS84", grid_id
            elif kind == "outside_none":
                row["经度"], row["纬度"], row["坐标系"] = 104.41, 26.07, "WGS84"
            elif kind == "grid_id":
                row["所属网格"] = grid_id
            elif kind == "grid_name":
                row["所属网格"] = self.grid_names[g]
            elif kind == "park":
                p = int(np.flatnonzero(~self.park_has_centre)[0])
                row["所属园区"] = self.park_names[p]
                point = self.parks_xy[p].representative_point()
                park_town = self._locate(self.towns_xy, np.array([point.x]), np.array([point.y]))[0]
                row["所属乡镇街道"] = self.town_names[park_town]
            elif kind == "none":
                pass
            if spec.get("org", "").startswith("{park}"):
                p = int(np.flatnonzero(~self.park_has_centre)[0])
                row["党组织名称"] = spec["org"].replace("{park}", self.park_names[p])
            rows.append(row)
            cases.append({k: spec[k] for k in ("case", "flags", "name", "detail")})
        self.case_rows = pd.DataFrame(rows, columns=list(LEDGER_COLUMNS))
        # An org named both by bulk units and by a case has the case's election date.
        dated = self.case_rows[self.case_rows["党组织换届时间"] != ""]
        case_dates = dict(zip(dated["党组织名称"], dated["党组织换届时间"]))
        override = pd.Series(self.u["org"], dtype=object).map(case_dates).to_numpy()
        self.u["elected"] = np.where(pd.isna(override), self.u["elected"], override).astype(object)
        self.case_rows["统一社会信用代码"] = _credit_codes(
            rng, np.where(self.case_rows["单位类型"] == "社会组织", "52", "91"), taken=self.u["code"])
        self.case_list = cases

    @staticmethod
    def _forward(lon, lat, label):
        """A WGS-84 point as GCJ-02 or BD-09 (label spelled as in the ledger)."""
        from services.coords import wgs84_to_bd09, wgs84_to_gcj02

        convert = wgs84_to_bd09 if label.upper().startswith("BD") else wgs84_to_gcj02
        x, y = convert(np.array([lon]), np.array([lat]))
        return round(float(x[0]), COORD_DECIMALS), round(float(y[0]), COORD_DECIMALS)

    # ----------------------------------------------------------------- assembly

    def _assemble(self) -> DemoCounty:
        rng, u, nb = self.rng, self.u, self.nb
        from services.coords import wgs84_to_bd09, wgs84_to_gcj02

        # Coordinates and their datum: ~10 % GCJ-02, ~5 % BD-09, away from grid borders so
        # the reverse conversion can never move a point into the neighbouring grid.
        write = u["write_coords"]
        lon = np.where(write, u["lon"], np.nan)
        lat = np.where(write, u["lat"], np.nan)
        datum = np.where(rng.random(nb) < 0.10, "GCJ02",
                         np.where(rng.random(nb) < 0.0556, "BD09", "WGS84")).astype(object)
        datum[~write] = ""
        converted = np.flatnonzero(datum != "WGS84")
        converted = converted[write[converted]]
        if len(converted):
            pts = shapely.points(u["x"][converted], u["y"][converted])
            margin = shapely.distance(pts, self.grid_boundaries_xy[u["grid"][converted]])
            datum[converted[margin < 5]] = "WGS84"
        for name, convert in (("GCJ02", wgs84_to_gcj02), ("BD09", wgs84_to_bd09)):
            m = datum == name
            if m.any():
                cx, cy = convert(u["lon"][m], u["lat"][m])
                lon[m], lat[m] = np.round(cx, COORD_DECIMALS), np.round(cy, COORD_DECIMALS)
        label = np.full(nb, "", dtype=object)
        for name, (spellings, p) in CRS_LABELS.items():
            m = datum == name
            label[m] = _choice(rng, spellings, int(m.sum()), p=p)

        # Ledger location columns: grid by id (mostly) or name, blank for some; town mostly.
        grid = u["grid"]
        grid_value = np.where(rng.random(nb) < 0.8, self.grid_ids[grid], self.grid_names[grid]).astype(object)
        grid_value[(write & (rng.random(nb) < 0.10)) | u["park_only"]] = ""
        town_value = self.town_names[u["town"]].copy()
        town_value[rng.random(nb) < 0.03] = ""
        park_value = np.where(u["park"] >= 0, self.park_names[np.maximum(u["park"], 0)], "").astype(object)
        park_value[(u["park"] >= 0) & ~u["park_only"] & (rng.random(nb) < 0.1)] = ""
        building_value = np.where(u["building"] >= 0, self.building_names[np.maximum(u["building"], 0)], "")

        def count(values, blank_p):
            blank = (np.asarray(values) == 0) & (rng.random(nb) < blank_p)
            out = pd.array(values, dtype="Int64")
            out[blank] = pd.NA
            return out

        text = lambda values: pd.Series(np.asarray(values, dtype=object), dtype=object)  # noqa: E731
        bulk = pd.DataFrame({
            "企业名称": text(u["name"]), "统一社会信用代码": text(u["code"]),
            "单位类型": text(np.where(u["social"], "社会组织", "非公企业")), "行业": text(u["industry"]),
            "地址": text(u["address"]),
            "经度": lon, "纬度": lat, "坐标系": text(label), "所属乡镇街道": text(town_value), "所属网格": text(grid_value),
            "所属园区": text(park_value), "所属楼宇": text(building_value), "经营状态": text(u["status"]),
            "是否规上": text(np.where(u["above"], "是", "否")), "有固定经营场所": text(np.where(u["fixed"], "是", "否")),
            "从业人员数": pd.array(u["employees"], dtype="Int64"), "正式党员数": pd.array(u["formal"], dtype="Int64"),
            "预备党员数": count(u["prob"], 0.3), "流动党员数": count(u["mobile"], 0.3),
            "入党积极分子数": count(u["activists"], 0.3), "出资人是否党员": text(u["owner_member"]),
            "党组织名称": text(u["org"]), "党组织类型": text(u["otype"]), "党组织换届时间": text(u["elected"]),
            "党建指导员": text(u["instructor"]), "群团组织": text(u["mass"]), "未建党组织原因": text(u["reason"]),
        })
        cases = self.case_rows.astype(object)
        for c in COUNT_COLUMNS:
            cases[c] = pd.array(cases[c].astype("int64"), dtype="Int64")
        for c in ("经度", "纬度"):
            cases[c] = pd.to_numeric(cases[c].replace("", np.nan)).astype(float)
        ledger = pd.concat([bulk, cases], ignore_index=True)
        # Order like a county ledger: by town (blank towns last), shuffled within each town.
        town_rank = dict(zip(self.town_names, range(self.n_towns)))
        town_key = ledger["所属乡镇街道"].map(town_rank).fillna(self.n_towns).to_numpy(dtype=np.int64)
        order = np.lexsort((rng.random(len(ledger)), town_key))
        ledger = ledger.iloc[order].reset_index(drop=True)

        # Case table with ledger rows, plus the structural cases (grids, parks, centres…).
        row_of = pd.Series(np.arange(len(ledger)) + 2, index=ledger["企业名称"].to_numpy())
        case_table = pd.DataFrame(self.case_list)
        case_table.insert(2, "row", row_of.reindex(case_table["name"]).to_numpy())
        overloaded = self.instructor_names[0]
        structural = [
            {"case": "instructor_overload", "flags": "instructor_overload", "name": overloaded,
             "detail": f"指导员{overloaded}联系7家单位（超过5家）"},
            *({"case": "grid_without_branch", "flags": "grid_without_branch", "name": self.grid_ids[g],
               "detail": f"{self.grid_names[g]}：有符合条件的单位但没有任何党组织覆盖"} for g in self.bare_grids),
            *({"case": "grid_without_leader", "flags": "grid_without_leader", "name": self.grid_ids[g],
               "detail": f"{self.grid_names[g]}未配备网格长"} for g in self.leaderless),
            *({"case": "park_without_centre", "flags": "park_without_centre", "name": self.park_names[p],
               "detail": "园区内没有党群服务中心"} for p in np.flatnonzero(~self.park_has_centre)),
            *({"case": "centre_too_small", "flags": "centre_too_small", "name": n,
               "detail": f"{lvl}中心面积{a:g}㎡，低于标准"}
              for n, lvl, a in zip(self.centre_names, self.centre_levels, self.centre_areas)
              if (lvl == "县级" and a < 200) or (lvl == "市级" and a < 400)),
            *({"case": "outside_service_radius", "flags": "outside_service_radius", "name": self.town_names[t],
               "detail": "该乡镇（街道）没有党群服务中心，多数单位在服务半径之外"} for t in np.flatnonzero(~self.town_has_centre)),
        ]
        case_table = pd.concat([case_table, pd.DataFrame(structural)], ignore_index=True)
        case_table["row"] = case_table["row"].astype("Int64")

        return DemoCounty(
            units=self.n, seed=self.seed, county=self._county_frame(), towns=self._towns_frame(),
            grids=self.grids_gdf, parks=self._frame(self.parks_xy, name=self.park_names, level=self.park_levels),
            buildings=self._frame(self.buildings_xy, name=self.building_names,
                                  floors=self.building_floors.astype(int)),
            markets=self._frame(self.markets_xy, name=self.market_names),
            centres=self._frame(shapely.points(self.centres_xy), name=self.centre_names, level=self.centre_levels,
                                area_m2=self.centre_areas, hours=self.centre_hours),
            instructors=pd.DataFrame({"姓名": self.instructor_names, "派出单位": self.instructor_units,
                                      "联系电话": self.instructor_phones}),
            ledger=ledger, cases=case_table,
        )

    def _frame(self, geoms_xy, degrees=None, **columns) -> gpd.GeoDataFrame:
        data = {k: np.asarray(v) for k, v in columns.items()}
        data["note"] = NOTE
        geometry = degrees if degrees is not None else _to_degrees(geoms_xy)
        return gpd.GeoDataFrame(data, geometry=np.asarray(geometry, dtype=object), crs=CRS)

    def _county_frame(self):
        return self._frame(None, [self.county_deg], name=[COUNTY_NAME], code=[COUNTY_CODE])

    def _towns_frame(self):
        return self._frame(None, self.towns_deg, name=self.town_names, code=self.town_codes)

# --------------------------------------------------------------------------- deliberate cases

# Instructors kept free for the deliberate cases (the last ones of instructors.csv).
_CASE_INSTRUCTORS = ("i1", "i2", "i3", "i4", "i5", "i6", "i7", "i8")

# Each deliberate unit: its name, the flags it is built to raise and the ledger values that
# raise them. "place": home (the seat grid of a town with a centre, within reach of it),
# far (a town without a centre), bare (a grid kept without any org). "location": how the
# ledger locates it. Values not given take ordinary defaults (12 employees, no members…).
_CASE_SPECS: tuple[dict, ...] = (
    dict(case="own_ok", flags="status=own", name="青禾鼎盛机械制造股份有限公司", above="是", industry="制造业",
         employees=260, formal=18, prob=1, activists=3, org="青禾鼎盛机械制造股份有限公司党支部", org_type="党支部",
         elected="2024-06-20", mass="工会,共青团,妇联", owner="是", detail="规上企业单独组建党支部，各项达标"),
    dict(case="branch_too_large", flags="status=own; branch_too_large", name="青禾恒远建设集团有限公司", above="是",
         industry="建筑业", employees=820, formal=56, activists=3, org="青禾恒远建设集团有限公司党支部", org_type="党支部",
         elected="2025-03-10", mass="工会", detail="党支部正式党员56名（超过50名，应设党总支）"),
    dict(case="term_overdue_committee", flags="status=own; term_overdue", name="青禾云海实业集团有限公司", above="是",
         industry="制造业", employees=1200, formal=112, activists=4, org="青禾云海实业集团有限公司党委", org_type="党委",
         elected="2020-05-15", mass="工会,共青团", detail="党委2020-05-15换届，超过5年任期"),
    dict(case="term_ok_committee", flags="status=own (no term_overdue: 党委 5 years)", name="青禾嘉禾食品集团有限公司",
         industry="制造业", employees=640, formal=104, activists=3, org="青禾嘉禾食品集团有限公司党委", org_type="党委",
         elected="2022-05-01", mass="工会", detail="党委2022-05-01换届，5年任期未满（对照：支部3年会超期）"),
    dict(case="term_overdue_branch", flags="status=own; term_overdue", name="禾丰嘉源食品有限公司", industry="制造业",
         employees=45, formal=5, org="禾丰嘉源食品有限公司党支部", org_type="党支部", elected="2019-06-18",
         detail="党支部2019-06-18换届，超过3年任期"),
    dict(case="empty_shell_own", flags="status=own; empty_shell", name="青禾瑞丰商贸有限公司", employees=18, formal=2,
         org="青禾瑞丰商贸有限公司党支部", org_type="党支部", elected="2024-10-01", detail="党支部仅2名正式党员（空壳）"),
    dict(case="few_activists", flags="status=own; few_activists", name="青禾汇通物流有限公司",
         industry="交通运输、仓储和邮政业", employees=150, formal=6, activists=1, org="青禾汇通物流有限公司党支部",
         org_type="党支部", elected="2024-08-08", detail="从业150人，入党积极分子仅1名（应≥2）"),
    dict(case="members_exceed_employees", flags="status=own; members_exceed_employees", name="青禾正信律师事务所",
         kind="社会组织", industry="租赁和商务服务业", employees=3, formal=5, org="青禾正信律师事务所党支部",
         org_type="党支部", elected="2024-09-01", detail="正式党员5名多于从业人员3名（数据质量）"),
    dict(case="shared_party_branch_a", flags="status=joint (党支部 named by two units)", name="青禾星辰电子科技有限公司",
         industry="制造业", employees=40, formal=2, org="青禾星辰电子科技有限公司党支部", org_type="党支部",
         elected="2024-05-20", detail="两家单位共用一个党支部：按联合组建计"),
    dict(case="shared_party_branch_b", flags="status=joint", name="青禾星辰电子科技有限公司禾丰分公司", industry="制造业",
         employees=22, formal=2, org="青禾星辰电子科技有限公司党支部", org_type="党支部", elected="2024-05-20",
         detail="与总公司共用党支部"),
    *(dict(case="joint_over_cap", flags="status=joint; joint_over_cap" + ("; should_form_own" if i == 1 else ""),
           name=n, industry="住宿和餐饮业", employees=e, formal=f, org="青禾县青禾街道餐饮企业联合党支部",
           org_type="联合党支部", elected="2024-04-12",
           detail="联合党支部覆盖5家单位（超过上限3家）" + ("；本单位正式党员4名，应单独组建" if i == 1 else ""))
      for i, (n, e, f) in enumerate((("青禾味香餐饮管理有限公司", 14, 1), ("青禾味道餐饮管理有限公司", 26, 4),
                                     ("青禾福满楼酒店管理有限公司", 35, 0), ("青禾聚鲜饮食服务有限公司", 9, 1),
                                     ("青禾和顺酒店管理有限公司", 20, 0)))),
    dict(case="empty_shell_joint", flags="status=joint; empty_shell", name="松岭青山生态农业有限公司",
         industry="农、林、牧、渔业", employees=16, formal=1, org="青禾县松岭镇农业企业联合党支部", org_type="联合党支部",
         elected="2024-03-03", detail="联合党支部在册单位正式党员合计1名（注销单位的3名不计）"),
    dict(case="empty_shell_joint_b", flags="status=joint", name="松岭绿源养殖有限公司", industry="农、林、牧、渔业",
         employees=8, formal=0, org="青禾县松岭镇农业企业联合党支部", org_type="联合党支部", elected="2024-03-03",
         reason="已纳入联合党支部", detail="同上联合党支部"),
    dict(case="deregistered_in_joint", flags="注销: outside scope (not in units, not in org sizes)",
         name="松岭旧林农业开发有限公司",
         status="注销", industry="农、林、牧、渔业", employees=30, formal=3, org="青禾县松岭镇农业企业联合党支部",
         org_type="联合党支部", elected="2024-03-03", detail="已注销，仍列在联合党支部名下"),
    dict(case="deregistered_large", flags="注销: outside scope (would be over100_without_org)", name="青禾旧城百货有限公司",
         status="注销", employees=160, reason="其他：已注销", detail="已注销的大企业，不计入任何指标"),
    dict(case="priority_blind_over100",
         flags="status=blind; priority; over100_without_org; over50_without_member; no_instructor; few_activists",
         name="青禾宏达矿业有限公司", above="是", industry="采矿业", employees=130, reason="出资人认识不足",
         detail="规上企业130人，无党员、无党组织、无指导员、无群团组织"),
    dict(case="over100_work", flags="status=work; over100_without_org; few_activists", name="青禾永盛包装材料有限公司",
         industry="制造业", employees=105, formal=1, activists=1, instructor="i1", reason="党员不足3名",
         detail="105人未建党组织，已派指导员（工作覆盖）"),
    dict(case="over50_without_member", flags="status=work; over50_without_member", name="禾丰鑫源建材有限公司",
         industry="制造业", employees=65, activists=1, instructor="i2", reason="无党员", detail="65人，党员0名"),
    dict(case="priority_blind_social30", flags="status=blind; priority; social30_without_org; no_instructor",
         name="青禾县博雅民办学校", kind="社会组织", industry="教育", employees=42, formal=2, reason="党员不足3名",
         detail="社会组织42人，未建党组织，无工作覆盖"),
    dict(case="should_form_own_no_org", flags="status=work; should_form_own", name="青禾卓越信息技术有限公司",
         industry="信息传输、软件和信息技术服务业", employees=28, formal=3, instructor="i3", reason="新设立待组建",
         detail="正式党员3名（3名以上即应单独组建），尚未组建"),
    dict(case="no_instructor_mass_only", flags="status=work; no_instructor", name="青禾康泰家政服务有限公司",
         industry="居民服务、修理和其他服务业", employees=24, mass="工会", reason="无党员",
         detail="只有工会（工作覆盖），未派指导员"),
    dict(case="missing_reason", flags="status=work; missing_reason", name="青禾佳和广告传媒有限公司",
         industry="租赁和商务服务业", employees=11, instructor="i4", detail="未建党组织且未填写原因"),
    dict(case="blind_plain", flags="status=blind; no_instructor", name="青禾顺发五金机电有限公司", employees=9,
         reason="规模小或人员流动大", detail="小企业，无任何覆盖"),
    dict(case="suggest_functional_branch", flags="status=work; suggest_functional_branch", name="云溪顺达运输有限公司",
         industry="交通运输、仓储和邮政业", employees=38, formal=1, mobile=6, org="青禾县运输行业流动党员功能型党支部",
         org_type="功能型党支部", elected="2024-07-01", instructor="i5", reason="党员组织关系不在本单位",
         detail="流动党员6名（超过3名），编入功能型党支部（不计组织覆盖）"),
    dict(case="functional_branch_member",
         flags="status=blind; no_instructor (a functional branch gives no coverage and is never an empty shell)",
         name="云溪通达运输有限公司", industry="交通运输、仓储和邮政业", employees=15, mobile=2,
         org="青禾县运输行业流动党员功能型党支部", org_type="功能型党支部", elected="2024-07-01", reason="无党员",
         detail="功能型党支部成员单位"),
    dict(case="unknown_org_type", flags="status=blind; unknown_org_type; no_instructor", name="禾丰宏昌汽车服务有限公司",
         industry="居民服务、修理和其他服务业", employees=13, formal=1, org="禾丰宏昌汽车服务有限公司临时党小组",
         org_type="临时党小组", reason="党员不足3名", detail="党组织类型“临时党小组”不在规定类型中，不计覆盖"),
    dict(case="production_halted", flags="production_halted", name="松岭金穗农业开发有限公司", status="停产",
         industry="农、林、牧、渔业", employees=20, instructor="i6", reason="无党员", detail="停产企业（仍计入）"),
    dict(case="production_half_halted", flags="production_halted", name="石门隆昌铸造有限公司", status="半停产",
         industry="制造业", employees=35, formal=1, mass="工会", reason="党员不足3名", detail="半停产企业"),
    dict(case="crs_gcj02", flags="placed_by=coordinates (GCJ-02)", name="青禾泽润茶业有限公司", industry="制造业",
         employees=17, crs="GCJ-02", instructor="i7", reason="无党员", detail="坐标为GCJ-02（高德）"),
    dict(case="crs_gcj02_lower", flags="placed_by=coordinates (gcj02)", name="青禾宏图商务咨询有限公司",
         industry="租赁和商务服务业", employees=7, crs="gcj02", reason="规模小或人员流动大", detail="坐标系写作小写gcj02"),
    dict(case="crs_bd09", flags="placed_by=coordinates (BD-09)", name="青禾天宇网络科技有限公司",
         industry="信息传输、软件和信息技术服务业", employees=21, crs="BD09", mass="共青团", reason="无党员",
         detail="坐标为BD-09（百度）"),
    dict(case="coordinates_swapped", flags="coordinates_swapped", name="禾丰福源饲料有限公司", industry="制造业",
         employees=19, location="swapped", reason="无党员", detail="经度、纬度两列填反"),
    dict(case="outside_county_grid", flags="outside_county; placed_by=grid", name="青禾远航国际贸易有限公司",
         employees=10, location="outside_grid", reason="无党员", detail="坐标在县外（不采用），按所属网格定位"),
    dict(case="outside_county_unplaced", flags="outside_county; unplaced", name="青禾飞云电子商务有限公司",
         industry="信息传输、软件和信息技术服务业", employees=6, location="outside_none", reason="规模小或人员流动大",
         detail="坐标在县外且无其他位置信息：无法定位"),
    dict(case="unplaced", flags="unplaced", name="青禾乐居家装服务有限公司", industry="居民服务、修理和其他服务业",
         employees=8, location="none", reason="无党员", detail="无坐标、楼宇、园区、网格：无法定位（乡镇不作定位依据）"),
    dict(case="unplaced_social", flags="unplaced", name="青禾县爱心志愿服务中心", kind="社会组织",
         industry="居民服务、修理和其他服务业", employees=5, location="none", mass="妇联", reason="无党员",
         detail="社会组织无位置信息"),
    dict(case="grid_mismatch_id", flags="grid_mismatch", name="青禾盛世文化传媒有限公司", industry="文化、体育和娱乐业",
         employees=12, location="mismatch_id", instructor="i8", reason="无党员", detail="坐标所在网格与所属网格编号不一致"),
    dict(case="grid_mismatch_name", flags="grid_mismatch", name="青禾锦绣装饰工程有限公司", industry="建筑业",
         employees=23, location="mismatch_name", reason="党员不足3名", formal=1, detail="坐标所在网格与所属网格名称不一致"),
    dict(case="placed_by_grid_id", flags="placed_by=grid", name="禾丰宏福农资有限公司", employees=7, location="grid_id",
         reason="无党员", detail="只有所属网格编号"),
    dict(case="placed_by_grid_name", flags="placed_by=grid", name="青禾益康口腔门诊部", kind="社会组织",
         industry="卫生和社会工作", employees=9, location="grid_name", reason="无党员", detail="只有所属网格名称"),
    dict(case="placed_by_park", flags="placed_by=park; outside_service_radius (park without centre)",
         name="青禾捷运仓储服务有限公司", industry="交通运输、仓储和邮政业", employees=33, location="park",
         org="{park}综合党委", org_type="区域性党组织", elected="2020-03-01",
         detail="只有所属园区；园区综合党委2020-03-01换届（党委5年，超期）"),
    dict(case="outside_service_radius", flags="outside_service_radius", name="石门永兴石材开采有限公司", place="far",
         industry="采矿业", employees=27, reason="无党员", detail="所在乡镇无党群服务中心，离最近的中心超过1.5公里"),
    dict(case="grid_without_branch_unit", flags="grid_without_branch (its grid)", name="石门鑫达建材有限公司",
         place="bare", industry="制造业", employees=12, reason="无党员",
         detail="所在网格有符合条件单位但无任何党组织"),
)


# --------------------------------------------------------------------------- writing

def write_county(county: DemoCounty, out_dir: str | Path, fmt: str = "auto") -> dict[str, Path]:
    """Write the layers (GeoJSON), instructors.csv, the ledger, README.txt and
    deliberate_cases.csv into ``out_dir``; return the paths by name.

    ``fmt``: "xlsx", "csv" (UTF-8 with BOM) or "auto" (xlsx up to 20,000 rows, else csv).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if fmt not in ("auto", "xlsx", "csv"):
        raise ValueError("fmt must be auto, xlsx or csv")
    if fmt == "auto":
        fmt = "xlsx" if len(county.ledger) <= XLSX_MAX_ROWS else "csv"
    paths: dict[str, Path] = {}
    for stem, frame in county.layers().items():
        paths[stem] = out / f"{stem}.geojson"
        _write_geojson(frame, stem, paths[stem])
    paths["instructors"] = out / "instructors.csv"
    county.instructors.to_csv(paths["instructors"], index=False, encoding="utf-8-sig", lineterminator="\n")
    stale = out / ("ledger.csv" if fmt == "xlsx" else "ledger.xlsx")
    if stale.exists():
        stale.unlink()
    paths["ledger"] = out / f"ledger.{fmt}"
    if fmt == "xlsx":
        _write_xlsx(county.ledger, paths["ledger"])
    else:
        county.ledger.to_csv(paths["ledger"], index=False, encoding="utf-8-sig", lineterminator="\n")
    paths["cases"] = out / "deliberate_cases.csv"
    county.cases.to_csv(paths["cases"], index=False, encoding="utf-8-sig", lineterminator="\n")
    paths["readme"] = out / "README.txt"
    paths["readme"].write_text(_readme(county, paths), encoding="utf-8")
    return paths


def _write_geojson(frame: gpd.GeoDataFrame, name: str, path: Path) -> None:
    """A compact, deterministic GeoJSON FeatureCollection (WGS-84, properties in Chinese)."""
    geometry = shapely.to_geojson(np.asarray(frame.geometry.values, dtype=object))
    props = frame.drop(columns=frame.geometry.name)
    records = props.astype(object).where(props.notna(), None).to_dict("records")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('{"type":"FeatureCollection","name":%s,"features":[\n' % json.dumps(name))
        for i, (g, p) in enumerate(zip(geometry, records)):
            p = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in p.items()}
            fh.write(("," if i else "") + '{"type":"Feature","properties":%s,"geometry":%s}\n'
                     % (json.dumps(p, ensure_ascii=False, separators=(",", ":")), g))
        fh.write("]}\n")


_FIXED_ZIP_TIME = (2026, 1, 1, 0, 0, 0)


def _write_xlsx(ledger: pd.DataFrame, path: Path) -> None:
    """The ledger as one sheet, header in row 1, written in openpyxl's streaming mode; zip
    entry times and document dates are fixed so the same county gives the same bytes."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    wb.properties.title = f"{COUNTY_NAME}非公企业和社会组织党建台账（{NOTE}）"
    wb.properties.description = f"{NOTE}：单位、人员、电话、信用代码均为虚构。"
    wb.properties.creator = "services.demo"
    fixed = dt.datetime(*_FIXED_ZIP_TIME)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    ws = wb.create_sheet("台账")
    ws.append(list(ledger.columns))
    columns = []
    for c in ledger.columns:
        col = ledger[c]
        if c in COUNT_COLUMNS:
            values = [None if v is pd.NA else int(v) for v in col.tolist()]
        elif c in ("经度", "纬度"):
            values = [None if v != v else float(v) for v in col.tolist()]
        else:
            values = [v if v != "" else None for v in col.tolist()]
        columns.append(values)
    for row in zip(*columns):
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    # Rewrite the archive with fixed entry times and document dates.
    stamp = fixed.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as src, \
            zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), data)
            entry = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, data)


def _readme(county: DemoCounty, paths: dict[str, Path]) -> str:
    ledger = county.ledger
    status = ledger["经营状态"].value_counts()
    above = ledger["是否规上"].eq("是") & ledger["经营状态"].ne("注销")
    own_types = ledger["党组织类型"].isin(["党委", "党总支", "党支部"])
    shared = ledger.loc[own_types, "党组织名称"].duplicated(keep=False)
    own = own_types.copy()
    own[own_types] = ~shared.to_numpy()
    rate = (above & own).sum() / max(1, above.sum())
    files = "\n".join(f"  {p.name}" for p in paths.values())
    return f"""{NOTE}（fictional demo data）
==========================

{COUNTY_NAME}（{PREFECTURE}）及其乡镇街道、网格、园区、商务楼宇、商圈市场、党群服务中心、
全部单位名称、统一社会信用代码、人名和电话均为虚构，仅用于演示和测试，与任何真实地区、
单位和个人无关。电话号码已打码（如 138****1234）。

Everything here is invented: the county, its places, the units, credit codes, people and
phone numbers. The deliberate cases are listed in deliberate_cases.csv (case, flags it is
built to raise, ledger row, name). Terms of office are built against the as-of date
{county.as_of.isoformat()} (report with --as-of {county.as_of.isoformat()}).

Regenerate: python -m services.demo --units {county.units} --seed {county.seed} --out <dir>

Ledger: {len(ledger)} rows ({", ".join(f"{k} {v}" for k, v in status.items())});
above-scale enterprises in scope: {int(above.sum())}, with their own org: {int((above & own).sum())}
({rate:.2%}); grids: {len(county.grids)}; towns: {len(county.towns)}; parks: {len(county.parks)};
buildings: {len(county.buildings)}; markets: {len(county.markets)}; service centres: {len(county.centres)};
instructors: {len(county.instructors)}.

Files:
{files}
"""


# --------------------------------------------------------------------------- CLI

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.demo",
                                     description=f"Generate the fictional county {COUNTY_NAME} ({NOTE}).")
    parser.add_argument("--units", type=int, default=2000, help="ledger rows (default 2000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--grids", type=int, default=None,
                        help="number of grids (default max(60, units // 100))")
    parser.add_argument("--format", choices=("auto", "xlsx", "csv"), default="auto",
                        help="ledger format: xlsx up to 20,000 rows with auto, else csv (UTF-8 with BOM)")
    args = parser.parse_args(argv)
    try:
        start = time.perf_counter()
        county = generate_county(args.units, args.seed, args.grids)
        generated = time.perf_counter()
        paths = write_county(county, args.out, args.format)
    except (ValueError, OSError) as exc:
        print(f"services.demo: {exc}", file=sys.stderr)
        return 2
    done = time.perf_counter()
    print(f"{COUNTY_NAME}（{NOTE}）: {len(county.ledger)} units, {len(county.grids)} grids, "
          f"{len(county.towns)} towns, {len(county.buildings)} buildings, {len(county.centres)} centres, "
          f"{len(county.instructors)} instructors")
    print(f"generated in {generated - start:.1f} s, written in {done - generated:.1f} s → {Path(args.out)}")
    for path in paths.values():
        print(f"  {path.name}  {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
