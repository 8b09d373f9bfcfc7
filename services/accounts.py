"""Accounts, sign-in and the audit log, kept in the store.

Passwords are kept only as salted argon2id hashes (``argon2-cffi``, the Password Hashing
Competition winner); a wrong password counts against the account and, from the third failure
on, the account refuses every attempt for a doubling wait (30 s, 60 s, … up to an hour), so
guessing is slow even across several app instances sharing one PostGIS. An unknown name costs
the same hash as a known one, so the answer time does not tell which names exist.

The audit log records sign-ins (and failed ones), imports, edits, removals, layer uploads,
exports and account changes: who, when, what.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.access import ROLES, Viewer
from services.store import Store
from services.store.store import now_text

FREE_ATTEMPTS = 2  # failures allowed before the account starts to wait
FIRST_WAIT_S = 30.0
LONGEST_WAIT_S = 3600.0
MIN_PASSWORD_LENGTH = 8
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


class SignInError(Exception):
    """A refused sign-in; ``wait_s`` is how long the account is locked (0 for a plain no)."""

    def __init__(self, message: str, wait_s: float = 0.0):
        super().__init__(message)
        self.wait_s = wait_s


class AccountError(ValueError):
    """An account that cannot be created or changed as asked (the message says why, in Chinese)."""


def has_accounts(store: Store) -> bool:
    """Whether any account exists: until then the app runs open, with a banner saying so."""
    table = store.tables["accounts"]
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() > 0


def add_account(store: Store, name: str, role: str, password: str, *, towns=(), grids=(),
                who: str = "命令行") -> Viewer:
    """Create an account (a 乡镇街道 account needs its towns, a 网格长 account its grids)."""
    name = (name or "").strip()
    if not name:
        raise AccountError("账号名不能为空")
    if role not in ROLES:
        raise AccountError(f"角色应为：{'、'.join(f'{k}（{v}）' for k, v in ROLES.items())}")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"密码至少{MIN_PASSWORD_LENGTH}位")
    towns, grids = _names(towns), _names(grids)
    if role == "town" and not towns:
        raise AccountError("乡镇街道账号须指定所辖乡镇街道")
    if role == "grid_leader" and not grids:
        raise AccountError("网格长账号须指定所管网格")
    table = store.tables["accounts"]
    with store.transaction() as conn:
        if conn.execute(sa.select(table.c.fid).where(table.c.name == name)).first():
            raise AccountError(f"账号“{name}”已存在")
        conn.execute(table.insert().values(
            name=name, role=role, towns=",".join(towns), grids=",".join(grids),
            password_hash=_HASHER.hash(password), created_at=now_text(), created_by=who, disabled=0,
            failed_count=0, locked_until=None))
        _audit(store, conn, who, "创建账号", f"{name}（{ROLES[role]}）")
    return Viewer(name, role, towns, grids)


def set_password(store: Store, name: str, password: str, who: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"密码至少{MIN_PASSWORD_LENGTH}位")
    _update(store, name, who, "重设密码", password_hash=_HASHER.hash(password), failed_count=0, locked_until=None)


def set_disabled(store: Store, name: str, disabled: bool, who: str) -> None:
    _update(store, name, who, "停用账号" if disabled else "启用账号", disabled=int(disabled))


def remove_account(store: Store, name: str, who: str) -> None:
    table = store.tables["accounts"]
    with store.transaction() as conn:
        if conn.execute(table.delete().where(table.c.name == name)).rowcount != 1:
            raise AccountError(f"账号“{name}”不存在")
        _audit(store, conn, who, "删除账号", name)


def accounts(store: Store) -> pd.DataFrame:
    """Every account without its hash: name, role, towns, grids, created, disabled, locked."""
    table = store.tables["accounts"]
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.name, table.c.role, table.c.towns, table.c.grids, table.c.created_at,
                                      table.c.created_by, table.c.disabled, table.c.failed_count,
                                      table.c.locked_until).order_by(table.c.fid)).all()
    return pd.DataFrame(rows, columns=["name", "role", "towns", "grids", "created_at", "created_by", "disabled",
                                       "failed_count", "locked_until"])


def sign_in(store: Store, name: str, password: str, *, clock: Callable[[], float] = time.time) -> Viewer:
    """The viewer for a correct name and password; :class:`SignInError` otherwise.

    Every attempt, right or wrong, is in the audit log. ``clock`` is for tests.
    """
    name = (name or "").strip()
    now = clock()
    with store.transaction() as conn:
        # The refusal is raised after the transaction commits: the failure count, the lock
        # and the audit entry must be kept, not rolled back with the error.
        outcome = _attempt(store, conn, name, password, now)
    if isinstance(outcome, SignInError):
        raise outcome
    return outcome


def _attempt(store: Store, conn, name: str, password: str, now: float) -> Viewer | SignInError:
    table = store.tables["accounts"]
    row = conn.execute(sa.select(table).where(table.c.name == name)).mappings().first()
    if row is None:
        _verify(_DUMMY_HASH, password)  # the same cost as for a real account
        _audit(store, conn, name or "（空）", "登录失败", "账号不存在")
        return SignInError("账号或密码错误")
    if row["locked_until"] and row["locked_until"] > now:
        wait = row["locked_until"] - now
        _audit(store, conn, name, "登录被拒", f"尝试过多，锁定中（剩余{wait:.0f}秒）")
        return SignInError(f"密码错误次数过多，请{_duration(wait)}后再试", wait)
    if not _verify(row["password_hash"], password):
        failures = row["failed_count"] + 1
        wait = 0.0
        if failures > FREE_ATTEMPTS:
            wait = min(FIRST_WAIT_S * 2 ** (failures - FREE_ATTEMPTS - 1), LONGEST_WAIT_S)
        conn.execute(table.update().where(table.c.name == name).values(
            failed_count=failures, locked_until=now + wait if wait else None))
        _audit(store, conn, name, "登录失败", f"密码错误（第{failures}次）")
        if wait:
            return SignInError(f"账号或密码错误；错误次数过多，请{_duration(wait)}后再试", wait)
        return SignInError("账号或密码错误")
    if row["disabled"]:
        _audit(store, conn, name, "登录被拒", "账号已停用")
        return SignInError("该账号已停用，请联系管理员")
    conn.execute(table.update().where(table.c.name == name).values(failed_count=0, locked_until=None))
    _audit(store, conn, name, "登录", ROLES[row["role"]])
    return Viewer(name, row["role"], _names(row["towns"]), _names(row["grids"]))


def current_viewer(store: Store, name: str) -> Viewer | None:
    """The account's viewer as the store has it now, or None when it was disabled or deleted:
    a signed-in session is checked on every page run, so a change takes effect at once."""
    table = store.tables["accounts"]
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(table.c.role, table.c.towns, table.c.grids, table.c.disabled)
                           .where(table.c.name == name)).first()
    if row is None or row.disabled:
        return None
    return Viewer(name, row.role, _names(row.towns), _names(row.grids))


def audit(store: Store, who: str, action: str, detail: str | None = None) -> None:
    """Record one action (an export, a sign-out…) in the audit log."""
    with store.transaction() as conn:
        _audit(store, conn, who, action, detail)


def audit_log(store: Store, limit: int | None = 1000) -> pd.DataFrame:
    """The audit log, newest first: at, who, action, detail."""
    table = store.tables["audit_log"]
    query = sa.select(table.c.at, table.c.who, table.c.action, table.c.detail).order_by(table.c.fid.desc())
    if limit:
        query = query.limit(limit)
    with store.engine.connect() as conn:
        return pd.DataFrame(conn.execute(query).all(), columns=["at", "who", "action", "detail"])


def _audit(store: Store, conn, who: str, action: str, detail: str | None) -> None:
    store.record(conn, who, action, detail)


def _update(store: Store, name: str, who: str, action: str, **values) -> None:
    table = store.tables["accounts"]
    with store.transaction() as conn:
        if conn.execute(table.update().where(table.c.name == name).values(**values)).rowcount != 1:
            raise AccountError(f"账号“{name}”不存在")
        _audit(store, conn, who, action, name)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password or "")
    except (VerificationError, InvalidHashError):
        return False


def _names(value) -> tuple[str, ...]:
    if value is None:
        return ()
    parts = value.split(",") if isinstance(value, str) else value
    return tuple(p.strip() for p in parts if p and p.strip())


def _duration(seconds: float) -> str:
    seconds = max(1, round(seconds))
    return f"{seconds}秒" if seconds < 120 else f"{round(seconds / 60)}分钟"
