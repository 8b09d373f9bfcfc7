"""Reading the county's map layers and instructor list as staff actually hand them over.

Each test builds its own small files in ``tmp_path`` (GeoJSON, GeoPackage, a zipped Shapefile
with a GBK ``.dbf``, CSV in GBK, an Excel sheet) and reads them the way the dashboard does.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pyproj
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon, box

from services.geodata import (
    LAYER_SPECS,
    find_grid_gaps,
    find_grid_overlaps,
    layer_to_4326_points,
    read_instructors,
    read_layer,
)
from services.problems import InputError

# Writing the fixtures: GDAL shortens long Chinese field names in a .dbf (which the reader must
# cope with) and warns about a layer written without a CRS on purpose.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Could not decode error message:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning"),
]

# A known place in the county (near CM 114°E, so EPSG:4547 is its natural zone).
LON, LAT = 114.30, 30.60
GEOD = pyproj.Geod(ellps="WGS84")


def projected(epsg: int, lon: float = LON, lat: float = LAT) -> tuple[float, float]:
    """(x, y) of a longitude/latitude in a projected CRS."""
    return pyproj.Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)


def metres_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def write_geojson(path: Path, frame: gpd.GeoDataFrame) -> Path:
    frame.to_file(path, driver="GeoJSON")
    return path


def zipped_shapefile(
    folder: Path,
    frame: gpd.GeoDataFrame,
    stem: str,
    *,
    encoding: str = "GBK",
    parts: tuple[str, ...] = (".shp", ".shx", ".dbf", ".prj", ".cpg"),
) -> Path:
    """Write a Shapefile (attributes in ``encoding``) and zip the chosen parts of it."""
    work = folder / f"{stem}_parts"
    work.mkdir()
    frame.to_file(work / f"{stem}.shp", encoding=encoding)
    archive = folder / f"{stem}.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for suffix in parts:
            part = work / f"{stem}{suffix}"
            if part.exists():
                zipped.write(part, part.name)
    return archive


def grids_frame(ids=("001", "002"), crs="EPSG:4326", boxes=None) -> gpd.GeoDataFrame:
    boxes = boxes or [
        box(LON + i * 0.01, LAT, LON + (i + 1) * 0.01, LAT + 0.01) for i in range(len(ids))
    ]
    return gpd.GeoDataFrame(
        {
            "网格编号": list(ids),
            "网格名称": [f"第{i}网格" for i in ids],
            "所属乡镇街道": ["城关镇"] * len(ids),
            "网格长": ["张三"] * len(ids),
            "联系电话": ["13800000001"] * len(ids),
        },
        geometry=boxes,
        crs=crs,
    )


def reasons(result) -> list[str]:
    return [problem.reason for problem in result.problems]


# --------------------------------------------------------------------------------------------
# Headers and values
# --------------------------------------------------------------------------------------------


def test_chinese_property_names_read_to_canonical_columns(tmp_path):
    towns = gpd.GeoDataFrame(
        {" 名称\u3000": ["城关镇", "东门街道"], "区划代码": ["420100001", "420100002"]},
        geometry=[box(114.0, 30.0, 114.1, 30.1), box(114.1, 30.0, 114.2, 30.1)],
        crs="EPSG:4326",
    )
    result = read_layer(write_geojson(tmp_path / "towns.geojson", towns), "towns")

    assert list(result.frame.columns) == ["name", "code", "source_row", "geometry"]
    assert result.frame.crs.equals("EPSG:4326")
    assert result.frame["name"].tolist() == ["城关镇", "东门街道"]
    assert result.frame["code"].tolist() == ["420100001", "420100002"]
    assert result.frame["source_row"].tolist() == [1, 2]
    assert result.problems == []


def test_grid_headers_and_ids_stay_text(tmp_path):
    result = read_layer(write_geojson(tmp_path / "grids.geojson", grids_frame()), "grids")

    assert list(result.frame.columns) == [*LAYER_SPECS["grids"].columns, "source_row", "geometry"]
    assert result.frame["id"].tolist() == ["001", "002"]
    assert result.frame.loc[0, "town"] == "城关镇"
    assert result.frame.loc[0, "leader_phone"] == "13800000001"


def test_centre_area_header_with_unit_and_sloppy_numbers(tmp_path):
    centres = gpd.GeoDataFrame(
        {
            "名称": ["甲中心", "乙中心", "丙中心", "丁中心"],
            "级别": ["县级", "市级", "乡镇街道", "楼宇"],
            "面积（平方米）": ["320平方米", "１２０", "约200", "很大"],
            "开放时间": ["9:00-17:00"] * 4,
        },
        geometry=[Point(LON + i * 0.01, LAT) for i in range(4)],
        crs="EPSG:4326",
    )
    result = read_layer(write_geojson(tmp_path / "centres.geojson", centres), "centres")

    area = result.frame["area_m2"]
    assert area.tolist()[:3] == [320.0, 120.0, 200.0]
    assert np.isnan(area.iloc[3])
    [problem] = result.problems
    assert (problem.row, problem.column, problem.value, problem.rejected) == (
        4,
        "面积（平方米）",
        "很大",
        False,
    )
    assert "无法识别为数字" in problem.reason


@pytest.mark.parametrize("header", ["面积(m²)", "面积（㎡）", " 面积 ", "AREA_M2"])
def test_area_header_variants(tmp_path, header):
    centres = gpd.GeoDataFrame(
        {"名称": ["甲中心"], header: [250]}, geometry=[Point(LON, LAT)], crs="EPSG:4326"
    )
    result = read_layer(write_geojson(tmp_path / "centres.geojson", centres), "centres")
    assert result.frame["area_m2"].tolist() == [250.0]


def test_optional_column_missing_is_reported_not_fatal(tmp_path):
    buildings = gpd.GeoDataFrame({"名称": ["甲大厦"]}, geometry=[Point(LON, LAT)], crs="EPSG:4326")
    result = read_layer(write_geojson(tmp_path / "buildings.geojson", buildings), "buildings")

    assert list(result.frame.columns) == ["name", "floors", "source_row", "geometry"]
    assert np.isnan(result.frame.loc[0, "floors"])
    assert any("楼层数/floors" in r and "按空值处理" in r for r in reasons(result))


# --------------------------------------------------------------------------------------------
# Coordinate systems
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("epsg", "fmt"),
    [(4547, "gpkg"), (3857, "geojson"), (4547, "zip")],
)
def test_projected_layers_are_reprojected_to_wgs84(tmp_path, epsg, fmt):
    x, y = projected(epsg)
    frame = grids_frame(ids=("001",), crs=f"EPSG:{epsg}", boxes=[box(x, y, x + 500, y + 500)])
    if fmt == "gpkg":
        path = tmp_path / "grids.gpkg"
        frame.to_file(path, layer="grids")
    elif fmt == "geojson":
        path = write_geojson(tmp_path / "grids.geojson", frame)
    else:
        path = zipped_shapefile(tmp_path, frame, "grids")

    result = read_layer(path, "grids")

    assert result.frame.crs.equals("EPSG:4326")
    corners = shapely.get_coordinates(result.frame.geometry.iloc[0])
    nearest = min(metres_between((LON, LAT), tuple(c)) for c in corners)
    assert nearest < 1.0
    assert result.problems == []


def test_projected_coordinates_without_crs_are_refused(tmp_path):
    x, y = projected(4547)
    frame = grids_frame(ids=("001",), crs=None, boxes=[box(x, y, x + 500, y + 500)])
    path = write_geojson(tmp_path / "grids.geojson", frame)  # no "crs" member: GeoJSON says 4326

    with pytest.raises(InputError, match=r"^grids\.geojson: 坐标超出经纬度范围"):
        read_layer(path, "grids")


# --------------------------------------------------------------------------------------------
# Shapefiles from Chinese Windows
# --------------------------------------------------------------------------------------------


def test_zipped_gbk_shapefile_without_cpg_or_prj(tmp_path):
    frame = grids_frame(ids=("001", "002"))
    path = zipped_shapefile(tmp_path, frame, "grids", parts=(".shp", ".shx", ".dbf"))

    result = read_layer(path, "grids")

    assert result.frame["name"].tolist() == ["第001网格", "第002网格"]
    assert result.frame["leader"].tolist() == ["张三", "张三"]
    # dBASE cut 所属乡镇街道 (12 bytes in GBK) to 所属乡镇街; it still lands in `town`.
    assert result.frame["town"].tolist() == ["城关镇", "城关镇"]
    assert result.frame.crs.equals("EPSG:4326")
    assert "缺少.prj文件，按WGS-84(EPSG:4326)处理" in reasons(result)


def test_zipped_gbk_shapefile_with_cpg_and_prj(tmp_path):
    path = zipped_shapefile(tmp_path, grids_frame(), "网格")

    result = read_layer(path, "grids")

    assert result.frame["id"].tolist() == ["001", "002"]
    assert result.frame["name"].tolist() == ["第001网格", "第002网格"]
    assert result.problems == []


def test_utf8_shapefile_without_cpg(tmp_path):
    frame = gpd.GeoDataFrame(
        {"名称": ["城关镇"]}, geometry=[box(114, 30, 114.1, 30.1)], crs="EPSG:4326"
    )
    path = zipped_shapefile(
        tmp_path, frame, "towns", encoding="UTF-8", parts=(".shp", ".shx", ".dbf", ".prj")
    )

    assert read_layer(path, "towns").frame["name"].tolist() == ["城关镇"]


def test_shapefile_without_prj_in_metres_is_refused(tmp_path):
    x, y = projected(4547)
    frame = grids_frame(ids=("001",), crs="EPSG:4547", boxes=[box(x, y, x + 500, y + 500)])
    path = zipped_shapefile(tmp_path, frame, "grids", parts=(".shp", ".shx", ".dbf", ".cpg"))

    with pytest.raises(InputError, match=r"^grids\.zip: 坐标超出经纬度范围"):
        read_layer(path, "grids")


def test_utf8_shapefile_with_cut_chinese_field_names_says_why(tmp_path):
    # 12 bytes of UTF-8 cut at 10: the last character is broken, GDAL cannot decode the name.
    path = zipped_shapefile(tmp_path, grids_frame(), "grids", encoding="UTF-8")
    with pytest.raises(InputError, match=r"^grids\.zip: .*字段名最长10字节"):
        read_layer(path, "grids")


def test_zip_without_shapefile_is_refused(tmp_path):
    path = tmp_path / "grids.zip"
    with zipfile.ZipFile(path, "w") as zipped:
        zipped.writestr("readme.txt", "网格")
    with pytest.raises(InputError, match=r"^grids\.zip: .*没有\.shp"):
        read_layer(path, "grids")


# --------------------------------------------------------------------------------------------
# GeoPackage layers
# --------------------------------------------------------------------------------------------


def test_geopackage_with_several_layers_reads_the_one_named_like_the_kind(tmp_path):
    path = tmp_path / "county.gpkg"
    towns = gpd.GeoDataFrame(
        {"名称": ["城关镇"]}, geometry=[box(114, 30, 115, 31)], crs="EPSG:4326"
    )
    towns.to_file(path, layer="towns")
    grids_frame().to_file(path, layer="grids")

    assert read_layer(path, "grids").frame["id"].tolist() == ["001", "002"]
    assert read_layer(path, "towns").frame["name"].tolist() == ["城关镇"]


# --------------------------------------------------------------------------------------------
# Geometry problems
# --------------------------------------------------------------------------------------------


def test_bow_tie_grid_is_repaired_and_reported(tmp_path):
    bow_tie = Polygon([(LON, LAT), (LON + 0.01, LAT + 0.01), (LON + 0.01, LAT), (LON, LAT + 0.01)])
    frame = grids_frame(ids=("001", "002"))
    frame.loc[1, "geometry"] = bow_tie
    result = read_layer(write_geojson(tmp_path / "grids.geojson", frame), "grids")

    assert len(result.frame) == 2
    repaired = result.frame.geometry.iloc[1]
    assert repaired.is_valid and repaired.geom_type in ("Polygon", "MultiPolygon")
    assert repaired.area == pytest.approx(0.01 * 0.01 / 2)
    [problem] = result.problems
    assert (problem.row, problem.column, problem.rejected) == (2, "geometry", False)
    assert problem.reason.startswith("几何图形无效（Self-intersection")
    assert problem.reason.endswith("），已自动修复")


def test_collapsed_polygon_is_rejected(tmp_path):
    frame = grids_frame(ids=("001", "002"))
    frame.loc[0, "geometry"] = Polygon(
        [(LON, LAT), (LON + 0.01, LAT), (LON + 0.02, LAT), (LON, LAT)]
    )
    result = read_layer(write_geojson(tmp_path / "grids.geojson", frame), "grids")

    assert result.frame["id"].tolist() == ["002"]
    [problem] = result.problems
    assert problem.row == 1 and problem.rejected


def test_point_in_grid_layer_is_rejected_with_its_feature_number(tmp_path):
    frame = grids_frame(ids=("001", "002", "003"))
    frame.loc[1, "geometry"] = Point(LON, LAT)
    result = read_layer(write_geojson(tmp_path / "grids.geojson", frame), "grids")

    assert result.frame["id"].tolist() == ["001", "003"]
    assert result.frame["source_row"].tolist() == [1, 3]
    [problem] = result.problems
    assert (problem.file, problem.row, problem.rejected) == ("grids.geojson", 2, True)
    assert type(problem.row) is int
    assert "点（Point）" in problem.reason and "网格图层" in problem.reason


def test_feature_without_geometry_is_rejected(tmp_path):
    frame = grids_frame(ids=("001", "002"))
    frame.loc[0, "geometry"] = None
    result = read_layer(write_geojson(tmp_path / "grids.geojson", frame), "grids")

    assert result.frame["id"].tolist() == ["002"]
    assert [(p.row, p.rejected) for p in result.problems] == [(1, True)]
    assert "缺少几何图形" in result.problems[0].reason


def test_buildings_may_be_points_or_footprints_and_are_drawn_at_a_point(tmp_path):
    footprint = Polygon([(0, 0), (3, 0), (3, 1), (1, 1), (1, 3), (0, 3)])  # an L-shaped block
    footprint = shapely.affinity.translate(
        shapely.affinity.scale(footprint, 0.0001, 0.0001, origin=(0, 0)), LON, LAT
    )
    buildings = gpd.GeoDataFrame(
        {"名称": ["甲大厦", "乙大厦"], "楼层数": ["32层", 18]},
        geometry=[Point(LON + 0.05, LAT), footprint],
        crs="EPSG:4326",
    )
    result = read_layer(write_geojson(tmp_path / "buildings.geojson", buildings), "buildings")
    points = layer_to_4326_points(result.frame)

    assert result.frame["floors"].tolist() == [32.0, 18.0]
    assert points.crs.equals("EPSG:4326")
    assert points.iloc[0].equals(Point(LON + 0.05, LAT))
    assert points.iloc[1].within(footprint)


def test_layer_to_4326_points_reprojects(tmp_path):
    x, y = projected(3857)
    frame = gpd.GeoDataFrame({"name": ["甲"]}, geometry=[Point(x, y)], crs="EPSG:3857")
    point = layer_to_4326_points(frame).iloc[0]
    assert metres_between((LON, LAT), (point.x, point.y)) < 1.0


def test_duplicate_grid_id_rejects_the_later_one(tmp_path):
    frame = grids_frame(ids=("001", "002", "001"))
    result = read_layer(write_geojson(tmp_path / "grids.geojson", frame), "grids")

    assert result.frame["id"].tolist() == ["001", "002"]
    [problem] = result.problems
    assert (problem.row, problem.column, problem.value, problem.rejected) == (
        3,
        "网格编号",
        "001",
        True,
    )
    assert "与第1个要素相同" in problem.reason


def test_grid_without_id_is_rejected(tmp_path):
    frame = grids_frame(ids=("001", " "))
    result = read_layer(write_geojson(tmp_path / "grids.geojson", frame), "grids")

    assert result.frame["id"].tolist() == ["001"]
    assert [(p.row, p.rejected) for p in result.problems] == [(2, True)]


# --------------------------------------------------------------------------------------------
# Files that cannot be read
# --------------------------------------------------------------------------------------------


def test_missing_required_column_names_the_file(tmp_path):
    frame = grids_frame().rename(columns={"网格编号": "备注"})
    path = write_geojson(tmp_path / "grids.geojson", frame)

    with pytest.raises(InputError) as caught:
        read_layer(path, "grids")
    message = str(caught.value)
    assert message.startswith("grids.geojson: 缺少必需字段“网格编号/id”")
    assert "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"^towns\.geojson: 文件不存在"):
        read_layer(tmp_path / "towns.geojson", "towns")


def test_not_a_geodata_file(tmp_path):
    path = tmp_path / "parks.geojson"
    path.write_text("这不是地图", encoding="utf-8")
    with pytest.raises(InputError, match=r"^parks\.geojson: 无法读取为地理数据文件"):
        read_layer(path, "parks")


def test_an_empty_layer_is_an_empty_frame(tmp_path):
    path = tmp_path / "centres.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")

    result = read_layer(path, "centres")

    assert result.frame.empty
    assert list(result.frame.columns) == [
        "name",
        "level",
        "area_m2",
        "hours",
        "source_row",
        "geometry",
    ]
    assert result.frame.crs.equals("EPSG:4326")
    assert reasons(result) == ["图层没有任何要素"]


def test_unknown_kind_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError, match="unknown layer kind"):
        read_layer(tmp_path / "x.geojson", "rivers")


# --------------------------------------------------------------------------------------------
# Grid checks
# --------------------------------------------------------------------------------------------


def metric_boxes(*boxes_m) -> list:
    """Boxes given in metres from the known place, in EPSG:4547."""
    x, y = projected(4547)
    return [box(x + a, y + b, x + c, y + d) for a, b, c, d in boxes_m]


def test_two_overlapping_grids_are_found_with_their_overlap_area(tmp_path):
    geometry = metric_boxes(
        (0, 0, 1000, 1000),  # A
        (800, 0, 1800, 1000),  # B: overlaps A by 200 m × 1000 m
        (1800, 0, 2800, 1000),  # C: only touches B
        (100, 100, 300, 300),  # D: inside A
    )
    frame = grids_frame(ids=("A", "B", "C", "D"), crs="EPSG:4547", boxes=geometry)
    grids = read_layer(write_geojson(tmp_path / "grids.geojson", frame), "grids").frame

    overlaps = find_grid_overlaps(grids)

    assert list(overlaps.columns) == ["grid_a", "grid_b", "area_m2"]
    assert list(zip(overlaps["grid_a"], overlaps["grid_b"], strict=True)) == [
        ("A", "B"),
        ("A", "D"),
    ]
    assert overlaps["area_m2"].tolist() == pytest.approx([200_000, 40_000], rel=0.01)


def test_overlap_below_threshold_is_ignored(tmp_path):
    frame = grids_frame(
        ids=("A", "B"),
        crs="EPSG:4547",
        boxes=metric_boxes((0, 0, 1000, 1000), (999.9, 0, 2000, 1000)),
    )
    grids = read_layer(write_geojson(tmp_path / "grids.geojson", frame), "grids").frame
    assert find_grid_overlaps(grids, min_area_m2=1000).empty
    assert len(find_grid_overlaps(grids)) == 1


def test_a_town_with_a_hole_between_grids_is_reported(tmp_path):
    towns = gpd.GeoDataFrame(
        {"名称": ["城关镇", "东门街道"]},
        geometry=metric_boxes((0, 0, 2000, 1000), (2000, 0, 3000, 1000)),
        crs="EPSG:4547",
    )
    grids = grids_frame(
        ids=("001", "002", "003"),
        crs="EPSG:4547",
        boxes=metric_boxes((0, 0, 900, 1000), (1000, 0, 2000, 1000), (2000, 0, 3000, 1000)),
    )
    towns = read_layer(write_geojson(tmp_path / "towns.geojson", towns), "towns").frame
    grids = read_layer(write_geojson(tmp_path / "grids.geojson", grids), "grids").frame

    gaps = find_grid_gaps(grids, towns)

    assert list(gaps.columns) == ["town", "area_m2"]
    assert gaps["town"].tolist() == ["城关镇"]
    assert gaps["area_m2"].iloc[0] == pytest.approx(100_000, rel=0.01)


def test_grid_checks_on_empty_layers():
    empty = gpd.GeoDataFrame({"id": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    assert list(find_grid_overlaps(empty).columns) == ["grid_a", "grid_b", "area_m2"]
    assert list(find_grid_gaps(empty, empty.rename(columns={"id": "name"})).columns) == [
        "town",
        "area_m2",
    ]


# --------------------------------------------------------------------------------------------
# Instructors
# --------------------------------------------------------------------------------------------


def test_instructors_csv_in_gbk(tmp_path):
    path = tmp_path / "党建指导员.csv"
    text = (
        "姓名,派出单位,联系电话\n"
        "张三,县委组织部,13800000000\n"
        "\n"  # a blank row 3: skipped, and row numbers after it still match the sheet
        "李四,县工商联,0710-1234567\n"
        ",县总工会,13900000000\n"  # row 5: no name
    )
    path.write_bytes(text.encode("gbk"))

    result = read_instructors(path)

    assert list(result.frame.columns) == ["name", "unit", "phone", "source_row"]
    assert result.frame["name"].tolist() == ["张三", "李四"]
    assert result.frame["phone"].tolist() == ["13800000000", "0710-1234567"]
    assert result.frame["source_row"].tolist() == [2, 4]
    [problem] = result.problems
    assert (problem.row, problem.rejected) == (5, True)


def test_instructors_csv_with_bom_and_english_headers(tmp_path):
    path = tmp_path / "instructors.csv"
    path.write_bytes("Name,Unit,Phone\n王五,县委组织部,13700000000\n".encode("utf-8-sig"))
    result = read_instructors(path)
    assert result.frame.loc[0, ["name", "unit", "phone"]].tolist() == [
        "王五",
        "县委组织部",
        "13700000000",
    ]


def test_instructors_xlsx_keeps_phones_as_text(tmp_path):
    path = tmp_path / "instructors.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["党建指导员名单"])  # a title row above the header, as county staff do
    sheet.append(["姓名", "派出单位", "联系电话"])
    sheet.append(["张三", "县委组织部", 13800000000])
    sheet.append(["李四", "县工商联", 13900000000.0])
    sheet.append(["张三", "县妇联", "13800000001"])
    book.save(path)

    result = read_instructors(path)

    assert result.frame["phone"].tolist() == ["13800000000", "13900000000", "13800000001"]
    assert result.frame["source_row"].tolist() == [3, 4, 5]
    assert result.frame["phone"].dtype == "str"
    [problem] = result.problems
    assert (problem.row, problem.rejected) == (5, False)
    assert "重复" in problem.reason


def test_instructors_without_name_column(tmp_path):
    path = tmp_path / "instructors.csv"
    path.write_text("单位,电话\n县委组织部,13800000000\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"^instructors\.csv: 缺少必需字段“姓名/name”"):
        read_instructors(path)


def test_instructors_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"^instructors\.xlsx: 文件不存在"):
        read_instructors(tmp_path / "instructors.xlsx")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    phone=st.integers(min_value=13_000_000_000, max_value=19_999_999_999), as_float=st.booleans()
)
def test_any_mobile_number_typed_as_a_number_comes_back_as_its_digits(tmp_path, phone, as_float):
    path = tmp_path / "instructors.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["姓名", "联系电话"])
    book.active.append(["张三", float(phone) if as_float else phone])
    book.save(path)

    assert read_instructors(path).frame["phone"].tolist() == [str(phone)]
