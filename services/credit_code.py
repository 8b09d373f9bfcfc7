"""The unified social credit code (统一社会信用代码, GB 32100-2015), checked in bulk.

A code has 18 characters from the 31-character alphabet ``0-9 A-H J-N P-R T U W-Y`` (no I, O,
Z, S, V): registration authority (1), organisation kind (1), region (6), organisation code
(9) and a check character. The check character is ``(31 − Σ value(cᵢ)·wᵢ mod 31) mod 31`` over
the first 17 characters, with the weights ``wᵢ = 3^(i−1) mod 31`` (1, 3, 9, 27, 19, 26, 16, 17,
20, 29, 25, 13, 8, 24, 10, 30, 28), written back as a character of the alphabet.

The ledger rejects a row whose code is invalid (DOMAIN.md), so every code of a ledger is
normalised and checked at once: the strings are viewed as a matrix of bytes (code points),
translated to values by a lookup table and weighted column by column — about 0.2 s to
normalise and 0.4 s to check a million codes on the project's machine. Only a code with
characters other than ASCII and full-width ASCII takes a per-code Python path (NFKC).

Reasons are in Chinese, for the people who correct the ledger.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

__all__ = [
    "ALPHABET",
    "WEIGHTS",
    "check_character",
    "credit_code_problems",
    "make_code",
    "normalise_code",
]

#: The 31 characters of a code, in value order.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: The weights of positions 1-17.
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

EMPTY = "统一社会信用代码为空"
_LENGTH = ("统一社会信用代码应为18位，实为", "位")
_ILLEGAL = ("统一社会信用代码含非法字符“", "”")
_CHECK = ("统一社会信用代码校验位错误（应为", "）")

_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_INVALID = 255
# byte → value of the character, 255 when not allowed (for bytes.translate)
_VALUE_TABLE = bytes(_VALUE.get(chr(b), _INVALID) for b in range(256))
_ALPHABET_ARRAY = np.array(list(ALPHABET))


# --------------------------------------------------------------------------- single codes


def _values(first17: str) -> list[int]:
    if not isinstance(first17, str) or len(first17) != 17:
        raise ValueError(f"expected 17 characters, got {first17!r}")
    try:
        return [_VALUE[ch] for ch in first17]
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]!r} is not in the credit code alphabet") from None


def check_character(first17: str) -> str:
    """The check character (position 18) of the 17 characters ``first17``.

    ``first17`` must already be upper-case characters of :data:`ALPHABET`; anything else
    raises ``ValueError``.
    """
    total = sum(v * w for v, w in zip(_values(first17), WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def make_code(first17: str) -> str:
    """A valid code: ``first17`` followed by its check character (``ValueError`` if invalid)."""
    return first17 + check_character(first17)


# --------------------------------------------------------------------------- bulk


def _slow_normalise(text: str) -> str:
    """NFKC, without whitespace and invisible characters (zero-width space, BOM…), upper case."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if ch.isprintable() and not ch.isspace()).upper()


def _unicode_matrix(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint32 code points of codes with non-ASCII characters, NFKC-normalised, 0-padded,
    and the length of each string (NULs inside it included)."""
    strings = values.astype(str)
    n = strings.size
    width = strings.dtype.itemsize // 4
    u = np.ascontiguousarray(strings).view(np.uint32).reshape(n, width).copy()
    full = (u >= 0xFF01) & (u <= 0xFF5E)
    u[full] -= 0xFEE0
    u[u == 0x3000] = 0x20
    odd_rows = np.flatnonzero((u > 127).any(axis=1))
    if odd_rows.size:
        distinct, inverse = np.unique(strings[odd_rows], return_inverse=True)
        fixed = np.array([_slow_normalise(t) for t in distinct], dtype=str)
        fixed = fixed[inverse.reshape(-1)]
        fixed_width = fixed.dtype.itemsize // 4
        if fixed_width > width:
            u = np.pad(u, ((0, 0), (0, fixed_width - width)))
        u[odd_rows] = 0
        u[odd_rows, :fixed_width] = np.ascontiguousarray(fixed).view(np.uint32).reshape(
            odd_rows.size, fixed_width)
    return u, np.strings.str_len(strings)


def _normalised_matrix(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The normalised codes as an (n, width) matrix of code points and their lengths.

    Rows are packed on the left and 0-padded. The matrix is uint8 when every code is ASCII
    after normalising (the usual case), else uint32. Only the rare code with a character
    other than ASCII or full-width ASCII (NFKC maps U+FF01-FF5E by a fixed shift and U+3000
    to a space) goes through ``unicodedata`` in Python, once per distinct such code.
    """
    values = series.to_numpy(dtype=object, na_value="")
    n = values.size
    if n == 0:
        return np.zeros((0, 1), dtype=np.uint8), np.zeros(0, dtype=np.intp)
    try:
        raw = values.astype("S")  # one byte per character; fails on non-ASCII
    except UnicodeEncodeError:
        u, raw_length = _unicode_matrix(values)
        if u.max() <= 127:
            u = u.astype(np.uint8)
    else:
        u = raw.view(np.uint8).reshape(n, raw.dtype.itemsize).copy()
        raw_length = np.strings.str_len(raw)
    length = np.count_nonzero(u, axis=1)
    # Remove whitespace and control characters (code points 1-32 and 127, and a NUL inside a
    # string), keeping the order of the other characters; only rows that have some are touched.
    blank = ((u - u.dtype.type(1)) < 32) | (u == 127)
    dirty = blank.any(axis=1) | (raw_length != length)  # str_len counts NULs inside
    rows = np.flatnonzero(dirty)
    if rows.size:
        sub = u[rows]
        keep = (sub != 0) & ~blank[rows]
        position = np.cumsum(keep, axis=1) - 1
        packed = np.zeros_like(sub)
        r, c = np.nonzero(keep)
        packed[r, position[r, c]] = sub[r, c]
        u[rows] = packed
        length[rows] = position[:, -1] + 1
    np.subtract(u, 32, out=u, where=(u >= 97) & (u <= 122))  # a-z → A-Z
    return np.ascontiguousarray(u[:, : max(int(length.max()), 1)]), length


def _string_series(u: np.ndarray, length: np.ndarray, index, name) -> pd.Series:
    """A ``str`` Series of the rows of a normalised matrix."""
    n, width = u.shape
    if u.dtype == np.uint8:
        try:
            import pyarrow as pa
        except ImportError:  # pandas works without pyarrow; so does this, only slower
            pa = None
        if pa is not None:
            # ASCII rows, packed on the left: the non-zero bytes in row order are the
            # concatenated strings, which is what an Arrow string array holds.
            offsets = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(length, out=offsets[1:])
            data = np.ascontiguousarray(u[u != 0])
            array = pa.LargeStringArray.from_buffers(
                n, pa.py_buffer(offsets), pa.py_buffer(data))
            return pd.Series(array, index=index, name=name, dtype="str")
        u = u.astype(np.uint32)
    strings = np.ascontiguousarray(u).view(f"<U{width}").reshape(-1)
    return pd.Series(strings, index=index, name=name, dtype="str")


def normalise_code(series: pd.Series) -> pd.Series:
    """Codes as stored: NFKC (full-width → half-width), all whitespace removed, upper case.

    Control and invisible characters (zero-width space, BOM…) go with the whitespace; values
    that are not strings are written with ``str``; blank, NaN and None become "". Keeps the
    index and name; returns a ``str`` Series.
    """
    if not isinstance(series, pd.Series):
        series = pd.Series(series, dtype=object)
    return _string_series(*_normalised_matrix(series), series.index, series.name)


def _show(code_point: int) -> str:
    ch = chr(code_point)
    return ch if ch.isprintable() else f"U+{code_point:04X}"


def credit_code_problems(series: pd.Series) -> pd.Series:
    """Per code, "" when valid, else the reason in Chinese (the code is normalised first).

    Reasons: "统一社会信用代码为空"; "统一社会信用代码应为18位，实为N位"; "统一社会信用代码含
    非法字符“X”" (the first one; an invisible character is shown as U+XXXX); "统一社会信用代码
    校验位错误（应为X）". Keeps the index and name; returns a ``str`` Series.
    """
    if not isinstance(series, pd.Series):
        series = pd.Series(series, dtype=object)
    u, length = _normalised_matrix(series)
    n = u.shape[0]
    if u.shape[1] < 18:
        u = np.pad(u, ((0, 0), (0, 18 - u.shape[1])))
    u18 = u[:, :18]
    if u18.dtype != np.uint8:
        u18 = np.minimum(u18, 255).astype(np.uint8)  # 128 and above: not allowed
    value = np.frombuffer(u18.tobytes().translate(_VALUE_TABLE), dtype=np.uint8)
    value = value.reshape(n, 18)
    total = np.zeros(n, dtype=np.int32)
    for i, weight in enumerate(WEIGHTS):  # 17 columns, not rows
        total += value[:, i] * np.int32(weight)  # a row with a bad character is not used
    expected = (31 - total % 31) % 31

    empty = length == 0
    wrong_length = ~empty & (length != 18)
    right_length = length == 18
    illegal = right_length & (value.max(axis=1) == _INVALID)
    wrong_check = right_length & ~illegal & (value[:, 17] != expected)

    out = np.full(n, "", dtype=object)
    out[empty] = EMPTY
    if wrong_length.any():
        out[wrong_length] = np.strings.add(
            np.strings.add(_LENGTH[0], length[wrong_length].astype(str)), _LENGTH[1])
    if illegal.any():
        rows = np.flatnonzero(illegal)
        points = u[rows, (value[rows] == _INVALID).argmax(axis=1)]
        distinct, inverse = np.unique(points, return_inverse=True)
        shown = np.array([_show(int(p)) for p in distinct], dtype=str)[inverse.reshape(-1)]
        out[rows] = np.strings.add(np.strings.add(_ILLEGAL[0], shown), _ILLEGAL[1])
    if wrong_check.any():
        out[wrong_check] = np.strings.add(
            np.strings.add(_CHECK[0], _ALPHABET_ARRAY[expected[wrong_check]]), _CHECK[1])
    return pd.Series(out, index=series.index, name=series.name, dtype="str")
