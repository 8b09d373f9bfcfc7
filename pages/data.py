"""数据管理: where the county's data lives and what changed it; a ledger checked, placed and
compared with the database before it is imported; units the latest ledger no longer lists,
removed only when someone confirms; map layers replaced after a look at their problems; and
everything exported."""

from functools import partial
from pathlib import Path

import streamlit as st

from services.exports import to_xlsx
from services.store import export
from services.workspace import FICTIONAL_NOTE

from dashboard import data_admin, state, widgets
from dashboard.data_admin import CSV_MIME, GEOJSON_MIME, GPKG_MIME, INSTRUCTORS, LAYER_LABELS, XLSX_MIME
from dashboard.popups import markdown_text

widgets.page_header("数据管理")
store = state.store()
note = FICTIONAL_NOTE if state.fictional() else None
overview_tab, import_tab, removal_tab, layer_tab, export_tab = st.tabs(
    ["数据库概况", "导入台账", "待确认删除", "上传图层", "导出"])


def overview() -> None:
    st.markdown(f"**数据存放位置：** {markdown_text(store.label)}")
    total, absent = data_admin.unit_counts(store)
    figures = st.columns(3)
    figures[0].metric("数据版本", f"{store.version()}", help="每次导入、修改或删除都会加一，各页面据此刷新")
    figures[1].metric("单位数", f"{total:,}个")
    figures[2].metric("待确认删除", f"{absent:,}个", help="最近导入的台账中已没有、等待确认删除的单位")
    if note:
        st.caption("数据库中是虚构示例数据（青禾县），不代表任何真实单位。导入本县台账和图层后即为本县数据。")
    st.subheader("导入记录")
    st.dataframe(data_admin.import_table(store.imports()), hide_index=True, width="stretch", placeholder="—",
                 key="imports_table")
    st.subheader("最近的修改记录")
    st.dataframe(data_admin.history_table(store.history(limit=500)), hide_index=True, width="stretch",
                 placeholder="—", height=320, key="history_table")


def ledger_import() -> None:
    data_admin.show_notice("ledger")
    st.download_button("下载台账模板（Excel）", data=data_admin.template_bytes(note), file_name="台账模板.xlsx",
                       mime=XLSX_MIME, key="template_download", icon=":material/download:")
    st.caption("按模板填写后上传；也可先在“导出”中下载现有台账，修改后重新上传。单位按统一社会信用代码识别。")
    upload = st.file_uploader(f"上传台账（.xlsx / .xls / .csv，不超过{data_admin.MAX_UPLOAD_MB} MB）",
                              type=data_admin.LEDGER_TYPES, key=data_admin.uploader_key("ledger_upload"))
    if upload is None or data_admin.too_large(upload):
        return
    ledger, error = data_admin.read_once("ledger", upload, data_admin.read_ledger_upload)
    if error:
        st.error(markdown_text(error))
        return

    st.subheader("校验结果")
    for column, (label, value) in zip(st.columns(4), data_admin.ledger_counts(ledger).items()):
        column.metric(label, f"{value:,}")
    if ledger.rejected:
        st.markdown("##### 被拒收的行（不计入统计，改正后可重新上传）")
        st.dataframe(data_admin.problem_table(ledger.rejected), hide_index=True, width="stretch", placeholder="—")
        rejected_name = f"{Path(upload.name).stem}_被拒收的行.xlsx"
        st.download_button("下载被拒收的行（Excel）", file_name=rejected_name, mime=XLSX_MIME,
                           data=widgets.audited(partial(to_xlsx, {"被拒收的行": ledger.rejected_rows}), rejected_name),
                           key="rejected_download", icon=":material/download:")
    else:
        st.success("没有被拒收的行。")
    if ledger.flagged:
        st.markdown("##### 已保留、请核对的取值")
        st.dataframe(data_admin.problem_table(ledger.flagged), hide_index=True, width="stretch", placeholder="—")

    version, plan, placed = data_admin.import_preview(store, upload.file_id, ledger)
    st.subheader("单位在地图上的位置")
    left, right = st.columns([2, 3])
    with left:
        st.dataframe(data_admin.placement_table(placed), hide_index=True, width="stretch")
        reasons = data_admin.unplaced_table(placed)
        if len(reasons):
            st.dataframe(reasons, hide_index=True, width="stretch")
            with st.expander(f"未定位的单位（{int(placed['placed_by'].isna().sum()):,}个）"):
                st.dataframe(data_admin.unplaced_units(placed), hide_index=True, width="stretch")
    with right:
        fmap, drawn = data_admin.preview_map(placed, data_admin.stored_county(store).grids)
        widgets.show_map(fmap, key="ledger_preview_map", height=420)
        shown = "" if drawn == int(placed["x"].notna().sum()) else f"（地图只画出其中{drawn:,}个）"
        st.caption(f"{data_admin.placement_legend()}{shown}")

    st.subheader("导入后的变化")
    for column, (label, value) in zip(st.columns(4), data_admin.plan_counts(plan).items()):
        column.metric(label, f"{value:,}")
    if plan.returned:
        st.caption(f"其中{len(plan.returned):,}个此前已不在台账中的单位重新列入。")
    if len(plan.changes):
        st.markdown(f"##### 字段变化（{len(plan.changes):,}处）")
        st.dataframe(data_admin.change_table(plan), hide_index=True, width="stretch", placeholder="—")
    if len(plan.added):
        st.markdown(f"##### 新增的单位（{len(plan.added):,}个）")
        st.dataframe(data_admin.added_table(plan), hide_index=True, width="stretch", placeholder="—")
    if len(plan.absent):
        st.markdown(f"##### 台账中已没有的单位（{len(plan.absent):,}个）")
        st.dataframe(data_admin.absent_table(plan.absent), hide_index=True, width="stretch", placeholder="—")
        if len(plan.absent) > len(plan.changed) + plan.unchanged:
            st.warning("数据库中一半以上的单位不在这份台账中：请确认上传的是全县完整的台账，而不是其中一部分。")
        st.warning("这些单位导入后不会被删除：它们列在“待确认删除”中，核实已注销或迁出后再删除。")

    if ledger.units.empty:
        st.warning("台账中没有可导入的单位，请按被拒收的原因改正后重新上传。")
    elif plan.is_empty:
        st.info("台账与数据库中的数据一致，无需导入。")
    else:
        st.button("确认导入", type="primary", key="confirm_import", icon=":material/upload:",
                  on_click=data_admin.import_ledger, args=(store, ledger, upload.name, version))


def pending_removals() -> None:
    data_admin.show_notice("removals")
    absent = store.absent_units()
    if absent.empty:
        st.success("没有待确认删除的单位：数据库中的每个单位都在最近导入的台账中。")
        return
    st.caption("以下单位在最近导入的台账中已没有。请核实已注销或迁出后再删除；删除后其修改记录仍保留。")
    st.dataframe(data_admin.absent_table(absent), hide_index=True, width="stretch", placeholder="—")
    names = dict(zip(absent["credit_code"], absent["name"]))
    if st.checkbox(f"全部删除（{len(absent):,}个）", key="removal_all"):
        chosen = list(names)
    else:
        chosen = st.multiselect("选择要删除的单位", list(names), key="removal_codes", placeholder="请选择",
                                format_func=lambda code: f"{names[code]}（{code}）")
    confirmed = st.checkbox("我已核实所选单位已注销或迁出，确认删除", key="removal_confirmed", disabled=not chosen)
    st.button(f"删除所选的{len(chosen):,}个单位", type="primary", key="confirm_removal", icon=":material/delete:",
              disabled=not (chosen and confirmed), on_click=data_admin.remove_units, args=(store, chosen))


def layer_upload() -> None:
    data_admin.show_notice("layer")
    kind = st.selectbox("图层", list(LAYER_LABELS), format_func=LAYER_LABELS.get, key="layer_kind")
    if kind == INSTRUCTORS:
        label, types = "上传党建指导员名单（.xlsx / .xls / .csv）", data_admin.LEDGER_TYPES
    else:
        label, types = "上传图层（GeoJSON、GeoPackage，或压缩成 .zip 的 Shapefile）", data_admin.LAYER_TYPES
    upload = st.file_uploader(label, type=types, key=data_admin.uploader_key(f"layer_upload_{kind}"))
    if upload is None or data_admin.too_large(upload):
        return
    result, error = data_admin.read_once(f"layer_{kind}", upload, data_admin.layer_reader(kind))
    if error:
        st.error(markdown_text(error))
        return

    frame = result.frame
    rejected = sum(p.rejected for p in result.problems)
    figures = st.columns(3)
    figures[0].metric("读取的人数" if kind == INSTRUCTORS else "读取的要素", f"{len(frame):,}")
    figures[1].metric("已剔除", f"{rejected:,}")
    figures[2].metric("已修复或提示", f"{len(result.problems) - rejected:,}")
    if result.problems:
        st.markdown("##### 读取中发现的问题")
        st.dataframe(data_admin.problem_table(result.problems, data_admin.feature_label(kind), outcome=True),
                     hide_index=True, width="stretch", placeholder="—")
    overlaps = data_admin.grid_overlaps(kind, frame)
    if overlaps is not None and len(overlaps):
        st.warning(f"有{len(overlaps):,}对网格互相重叠：重叠处的单位无法确定所属网格，请在GIS软件中修正后再上传。")
        st.dataframe(overlaps, hide_index=True, width="stretch", key="grid_overlaps",
                     column_config={"重叠面积（平方米）": st.column_config.NumberColumn(format="localized")})
    elif overlaps is not None:
        st.success("网格之间没有重叠。")
    gaps = data_admin.grid_gaps(kind, frame, data_admin.stored_county(store))
    if gaps is not None and len(gaps):
        st.warning(f"有{len(gaps):,}个乡镇街道内有未划入任何网格的区域（与数据库中的"
                   f"{'乡镇街道' if kind == 'grids' else '网格'}图层比对）。")
        st.dataframe(gaps, hide_index=True, width="stretch", key="grid_gaps",
                     column_config={"未被网格覆盖的面积（平方米）": st.column_config.NumberColumn(format="localized")})
    elif gaps is not None:
        st.success("每个乡镇街道都已全部划入网格。")
    if kind == INSTRUCTORS:
        st.dataframe(frame.rename(columns=export.INSTRUCTOR_HEADERS | {"source_row": "行号"}), hide_index=True,
                     width="stretch", height=240)
    elif len(frame):
        widgets.show_map(data_admin.layer_map(frame, kind), key="layer_preview_map", height=420)

    if kind == "grids" and frame.empty:
        st.warning("文件中没有可用的网格，不能替换网格图层。")
        return
    st.caption(f"确认后，数据库中现有的{LAYER_LABELS[kind]}将整体替换为本文件的内容"
               + ("，单位所属网格按新网格重新判断。" if kind == "grids" else "。"))
    st.button("确认替换图层", type="primary", key="confirm_layer", icon=":material/upload:",
              on_click=data_admin.replace_layer, args=(store, kind, frame, upload.name))


def exports() -> None:
    """Whole-store downloads; each file is made on the click, which the audit log records."""
    suffix = f"（{note}）" if note else ""
    st.markdown("##### 台账")
    st.caption("导出的台账可直接修改后在“导入台账”中重新上传。")
    cells = store.unit_cells
    row = st.columns(2)
    with row[0]:
        name = f"台账{suffix}.xlsx"
        st.download_button("下载台账（Excel）", file_name=name, mime=XLSX_MIME, key="export_xlsx",
                           data=widgets.audited(lambda: export.to_bytes(export.ledger_frame(cells()), "xlsx", note=note),
                                                name),
                           icon=":material/download:")
    with row[1]:
        name = f"台账{suffix}.csv"
        st.download_button("下载台账（CSV）", file_name=name, mime=CSV_MIME, key="export_csv",
                           data=widgets.audited(lambda: export.to_bytes(export.ledger_frame(cells()), "csv"), name),
                           icon=":material/download:")
    county = data_admin.stored_county(store)
    if county.instructors is not None:
        name = f"党建指导员名单{suffix}.xlsx"
        st.download_button("下载党建指导员名单（Excel）", file_name=name, mime=XLSX_MIME,
                           key="export_instructors", icon=":material/download:",
                           data=widgets.audited(partial(to_xlsx, {"党建指导员": export.instructor_frame(county.instructors)},
                                                        note=note), name))
    st.markdown("##### 图层")
    layers = data_admin.stored_layers(county)
    name = f"图层{suffix}.gpkg"
    st.download_button("下载全部图层（GeoPackage）", file_name=name, mime=GPKG_MIME, key="export_gpkg",
                       data=widgets.audited(partial(export.layers_gpkg, layers), name), icon=":material/download:",
                       help="一个文件包含全部图层，可在QGIS、ArcGIS中直接打开")
    columns = st.columns(4)
    for position, (kind, frame) in enumerate(layers.items()):
        label = data_admin.EXPORT_LABELS[kind]
        name = f"{label}{suffix}.geojson"
        columns[position % 4].download_button(
            f"{label}（GeoJSON）", file_name=name, mime=GEOJSON_MIME, key=f"export_{kind}",
            data=widgets.audited(partial(export.layer_geojson, frame), name), icon=":material/download:")

with overview_tab:
    overview()
with import_tab:
    ledger_import()
with removal_tab:
    pending_removals()
with layer_tab:
    layer_upload()
with export_tab:
    exports()
