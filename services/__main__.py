"""Command line: ``python -m services report|import|export ...`` (see README.md).

Exit codes: 0 success (an import with rejected rows is a success: the rest is imported and the
rejected rows are listed), 2 when the input cannot be used at all (nothing was written).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import mmap
import os
import pickle
import signal
import struct
import sys
import warnings

from services.problems import InputError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services", description="网格党建覆盖一张图 — 命令行")
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="compute coverage from a ledger and geodata")
    report.add_argument("--ledger", required=True, help="台账 .xlsx or .csv")
    report.add_argument("--grids", help="网格 layer (GeoJSON/GeoPackage/zipped Shapefile)")
    report.add_argument("--folder", help="a county folder with grids.geojson, towns.geojson… (fills layers not given)")
    for layer in ("towns", "parks", "buildings", "markets", "centres", "instructors"):
        report.add_argument(f"--{layer}")
    report.add_argument("--as-of", type=_date, help="date terms are measured against (YYYY-MM-DD), default today")
    report.add_argument("--joint-cap", type=int, help="max units of a joint branch (default 3)")
    report.add_argument("--service-radius-m", type=float, help="service centre radius in metres (default 1000)")
    report.add_argument("--json", action="store_true", help="print the report as one JSON object")
    importer = commands.add_parser("import", help="import a ledger (and map layers) into the store")
    importer.add_argument("--ledger", required=True, help="台账 .xlsx or .csv")
    importer.add_argument("--geodata", help="a folder with the map layers (grids.geojson, 网格.gpkg, …)")
    importer.add_argument("--db", help="store: postgresql://… or a .gpkg path (default $DATABASE_URL, $COUNTY_STORE, data/county.gpkg)")
    importer.add_argument("--who", default=os.environ.get("USER") or "命令行", help="name recorded in the history")
    exporter = commands.add_parser("export", help="write the store as a county folder")
    exporter.add_argument("--db", help="store (as for import)")
    exporter.add_argument("--out", required=True, help="folder to write")
    exporter.add_argument("--format", default="xlsx", choices=("xlsx", "csv", "geojson", "gpkg"))
    users = commands.add_parser("users", help="sign-in accounts (the first administrator is made here)")
    user_commands = users.add_subparsers(dest="users_command", required=True)
    add = user_commands.add_parser("add", help="create an account")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=("admin", "county", "town", "grid_leader", "demo"),
                     help="admin 管理员, county 县级, town 乡镇街道, grid_leader 网格长, demo 演示")
    add.add_argument("--password-stdin", action="store_true", required=True,
                     help="read the password from standard input (never from the command line)")
    add.add_argument("--towns", default="", help="乡镇街道 accounts: their towns, comma-separated")
    add.add_argument("--grids", default="", help="网格长 accounts: their grid ids, comma-separated")
    add.add_argument("--db", help="store (as for import)")
    listing = user_commands.add_parser("list", help="list the accounts")
    listing.add_argument("--db", help="store (as for import)")
    args = parser.parse_args(argv)
    try:
        return {"report": _report, "import": _import, "export": _export, "users": _users}[args.command](args)
    except InputError as error:
        print(f"错误：{error}", file=sys.stderr)
        return 2


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text}") from None


def _report(args) -> int:
    _keep_freed_memory()
    with _imports_uncollected():
        from services.ledger import read_ledger
    # The ledger is read on the other core while this one imports geopandas and reads the
    # layers: the two are independent, and each is one Python thread's work.
    with _InBackground(read_ledger, args.ledger) as ledger_read:
        with _imports_uncollected():
            from services.analysis import analyse
            from services.county import county_files, load_county
            from services.report import build_report, report_json_chunks, summary_lines
            from services.settings import DEFAULT_POLICY
        layers = {k: getattr(args, k) for k in ("grids", "towns", "parks", "buildings", "markets",
                                                "centres", "instructors")}
        if args.folder:
            for kind, path in county_files(args.folder).items():
                if kind in layers and layers[kind] is None:
                    layers[kind] = path
        if layers["grids"] is None:
            raise InputError("缺少网格图层：请用 --grids 指定，或用 --folder 指定含 grids.geojson 的目录")
        policy = DEFAULT_POLICY.with_overrides(as_of=args.as_of, joint_cap=args.joint_cap,
                                               service_radius_m=args.service_radius_m)
        # The JSON has no place for layer problems, so it need not look for overlapping grids.
        grids = layers.pop("grids")
        # What the user hears is as if the ledger had been read first: its warnings and its
        # error, then the layers' warnings and error.
        layers_failed = None
        with _warnings_held() as layer_warnings:
            try:
                county = load_county(grids, **layers, check_overlaps=not args.json)
            except Exception as error:  # noqa: BLE001 — raised below, after the ledger's
                layers_failed = error
        ledger = ledger_read.result()
        layer_warnings.show()
        if layers_failed is not None:
            raise layers_failed
    # Neither the JSON nor the summary lists a unit's town, park, building or market name.
    analysis = analyse(ledger, county, policy, names=False)
    if args.json:
        # The same bytes as orjson.dumps(build_report(...)), written column by column: a
        # city's 200 MB report would otherwise first become a million dicts.
        for chunk in report_json_chunks(analysis):
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.write(b"\n")
        sys.stdout.flush()
    else:
        print("\n".join(summary_lines(build_report(analysis), county.problems)))
    return 0


def _keep_freed_memory() -> None:
    """Let glibc's malloc keep what this one-shot process frees, for its next allocations.

    Why: by default every array above 128 KiB gets pages of its own from the kernel and gives
    them back when freed, and the next array faults in fresh, zeroed pages again (on this VM
    ~0.8 ms per MB; a 100k-unit report took 70k page faults, a third of a second of system
    time). Kept in the heap instead (arrays up to 32 MiB, never trimmed), the report has a
    quarter fewer faults and runs ~0.05 s faster (BENCHMARKS.md, session 8); at a million
    units its peak memory grows by 5 %. The forked ledger reader inherits the setting.
    Without glibc's ``mallopt`` (macOS, Windows) this does nothing.
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # no such function, or no CDLL(None) (Windows)
        return
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3  # malloc.h
    mallopt(m_mmap_threshold, 32 << 20)  # glibc's largest allowed value
    mallopt(m_trim_threshold, 2**31 - 1)
    mallopt(m_top_pad, 64 << 20)


@contextlib.contextmanager
def _imports_uncollected():
    """Imports without garbage collection, their objects then kept out of it for good.

    Why: what the imports make (pandas, geopandas… hundreds of thousands of objects) lives
    until exit. The collector would walk them again and again while they are made (~0.06 s of
    the 0.6 s they take), and again in every full pass while a city's report allocates
    millions of objects.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


class _HeldWarnings(list):
    """Warnings kept as ``showwarning``'s arguments, to be shown later and in order."""

    def show(self) -> None:
        for message, category, filename, lineno, line in self:
            warnings.showwarning(message, category, filename, lineno, line=line)
        self.clear()


@contextlib.contextmanager
def _warnings_held():
    """Warnings decided on as usual (filters, once per place) but shown only on ``show()``.

    Why: work done out of the order the user thinks of (the layers before the ledger) still
    tells its warnings in that order.
    """
    held = _HeldWarnings()
    shown = warnings.showwarning

    def hold(message, category, filename, lineno, file=None, line=None):
        held.append((message, category, filename, lineno, line))

    warnings.showwarning = hold
    try:
        yield held
    finally:
        warnings.showwarning = shown


class _InBackground:
    """``function(*args, **kwargs)`` in a forked process while this one goes on.

    Why: on a 2-core machine two independent pieces of one Python thread's work (the GIL rules
    out threads) can run side by side: the ledger read (0.4 s of a 100k-unit report) beside
    the imports of geopandas and the layers (0.3 s). The result comes back pickled with its
    buffers out of band (protocol 5) through a shared file that this process maps: a
    ledger's columns (40 MB at 100k, 440 MB for a million units) are written once and never
    copied on this side; through a pipe a million units' ledger took 0.8 s.

    Semantics stay those of calling it in ``result()``: a warning it raises is decided on
    (filters, once per place) in the child under the filters this process had, then shown
    here through ``warnings.showwarning``; an exception, or anything that cannot be sent
    back, makes this process call it itself (the very error and traceback). Without
    ``os.fork`` (Windows) it is simply called in ``result()``.
    """

    _ALIGN = 64  # Arrow's buffer alignment

    def __init__(self, function, *args, **kwargs):
        self._call = (function, args, kwargs)
        self._pid = None

    def __enter__(self):
        if not hasattr(os, "fork"):
            return self
        self._file = _anonymous_file()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: do the work, write it out, leave without cleanup
            code = 1
            try:
                code = self._child()
            finally:
                os._exit(code)
        self._pid = pid
        return self

    def _child(self) -> int:
        function, args, kwargs = self._call
        buffers = []
        try:
            with _warnings_held() as shown:
                result = function(*args, **kwargs)
            head = pickle.dumps((result, list(shown)), protocol=5, buffer_callback=buffers.append)
            parts = [memoryview(head), *(buffer.raw() for buffer in buffers)]
        except BaseException:  # noqa: BLE001 — the parent does the work itself
            return 1
        # Layout: part count, then each part's offset and size, then the parts, each aligned.
        offset, places = self._aligned(8 + 16 * len(parts)), []
        for part in parts:
            places.append((offset, part.nbytes))
            offset = self._aligned(offset + part.nbytes)
        out = self._file
        out.write(struct.pack("<Q", len(parts)))
        out.write(struct.pack(f"<{2 * len(parts)}Q", *(n for place in places for n in place)))
        for (start, _), part in zip(places, parts):
            out.seek(start)
            out.write(part)
        out.flush()
        return 0

    def _aligned(self, offset: int) -> int:
        return -(-offset // self._ALIGN) * self._ALIGN

    def result(self):
        function, args, kwargs = self._call
        if self._pid is None:
            return function(*args, **kwargs)
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        with self._file:
            if os.waitstatus_to_exitcode(status) != 0:  # it failed: do it here, error and all
                return function(*args, **kwargs)
            # A private, copy-on-write map: the arrays stay writable, the child's pages shared.
            shared = memoryview(mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_COPY))
        (count,) = struct.unpack_from("<Q", shared)
        places = struct.unpack_from(f"<{2 * count}Q", shared, 8)
        parts = [shared[start:start + size] for start, size in zip(places[::2], places[1::2])]
        result, shown = pickle.loads(parts[0], buffers=parts[1:])
        _HeldWarnings(shown).show()
        return result

    def __exit__(self, *exc):
        if self._pid is not None:  # this side failed: the result is no longer wanted
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            self._pid = None
            self._file.close()
        return False


def _anonymous_file():
    """A file with no name that a forked child writes and its parent then maps.

    Why: in memory where the system allows it (Linux's memfd), so nothing touches a disk.
    """
    if hasattr(os, "memfd_create"):
        return os.fdopen(os.memfd_create("services-background", os.MFD_CLOEXEC), "w+b")
    import tempfile

    return tempfile.TemporaryFile()


def _import(args) -> int:
    """Read, check, then write in one transaction; print what was added, changed, unchanged,
    rejected (row, column, reason) and no longer listed. Then keep the new figures as a dated
    snapshot, so progress over time includes every import, however it was made."""
    from services.county import county_files, load_county
    from services.ledger import read_ledger
    from services.snapshots import take_snapshot
    from services.store import open_store
    from services.workspace import county_layers

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    say(f"正在读取台账 {args.ledger}……")
    ledger = read_ledger(args.ledger, keep_cells=True)
    layers, layer_problems = {}, []
    if args.geodata:
        files = county_files(args.geodata)
        files.pop("ledger", None)
        county = load_county(**files)
        layers, layer_problems = county_layers(county), county.problems
    if ledger.units.empty:
        _print_rejected(ledger)
        raise InputError(f"{ledger.source}: 没有可导入的单位（{len(ledger.rejected_rows)}行被拒收），数据库未作任何改动")
    store = open_store(args.db)
    say(f"正在写入 {store.label}……")
    result = store.import_ledger(ledger, args.who, layers=layers, source=ledger.source, progress=say)
    print(f"数据库：{store.label}")
    print(f"台账 {ledger.source}：新增 {result.added}，更新 {result.changed}，未变 {result.unchanged}，"
          f"拒收 {result.rejected}，台账中已无 {len(result.diff.absent)}（保留，待在“数据管理”页确认删除）")
    if layers:
        print("图层：" + "，".join(f"{kind} {len(frame)}" for kind, frame in layers.items()))
    for problem in layer_problems:
        where = f"第{problem.row}个要素 " if problem.row else ""
        print(f"  图层 {problem.file} {where}{problem.column or ''}：{problem.reason}")
    _print_rejected(ledger)
    flagged = ledger.flagged
    if flagged:
        print(f"已导入但需核对的值 {len(flagged)} 处（例如第{flagged[0].row}行 {flagged[0].column}：{flagged[0].reason}）")
    print(f"导入完成（数据版本 {result.version}）")
    say("正在保存快照……")
    print(f"已保存快照 #{take_snapshot(store, label=None, who=args.who)}")
    return 0


def _print_rejected(ledger) -> None:
    rejected = ledger.rejected
    if rejected:
        print(f"拒收的行（{len(ledger.rejected_rows)}行，改正后可重新导入）：")
        for problem in rejected:
            print(f"  第{problem.row}行 {problem.column}：{problem.reason}")


def _export(args) -> int:
    from services.store import default_url, open_store
    from services.store.export import export_store

    url = args.db or default_url()
    if not url.startswith("postgres") and not os.path.exists(url.removeprefix("sqlite:///").removeprefix("gpkg:")):
        raise InputError(f"{url}: 数据库文件不存在")
    store = open_store(url)
    if store.is_empty():
        raise InputError(f"{store.label}: 数据库中还没有数据")
    written = export_store(store, args.out, args.format)
    print(f"已从 {store.label} 导出 {len(written)} 个文件到 {args.out}：")
    for path in written:
        print(f"  {path.name}")
    return 0


def _users(args) -> int:
    from services import accounts
    from services.access import ROLES
    from services.store import open_store

    store = open_store(args.db)
    if args.users_command == "list":
        for row in accounts.accounts(store).itertuples(index=False):
            scope = row.towns or row.grids or "全县"
            print(f"{row.name}\t{ROLES[row.role]}\t{scope}\t{'已停用' if row.disabled else '正常'}")
        return 0
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        viewer = accounts.add_account(store, args.name, args.role, password, towns=args.towns.split(","),
                                      grids=args.grids.split(","), who=os.environ.get("USER") or "命令行")
    except accounts.AccountError as error:
        print(f"错误：{error}", file=sys.stderr)
        return 2
    print(f"已创建账号“{viewer.name}”（{viewer.role_label}）于 {store.label}；此后打开页面须先登录")
    return 0


if __name__ == "__main__":
    code = main()
    if sys.argv[1:2] == ["report"]:
        # The report has written everything and holds nothing that needs closing: leave
        # without the interpreter's teardown, which unloads pandas, geopandas, pyarrow… one
        # object at a time (0.06 s of a 100k-unit report, 0.2 s of a city's).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
