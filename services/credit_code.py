"""The unified social credit code (统一社会信用代码, GB 32100-2015), checked in bulk.

A code has 18 characters from the 31-character alphabet ``0-9 A-H J-N P-R T U W-Y`` (no I, O,
Z, S, V): registration authority (1), organisation kind (1), region (6), organisation code
(9) and a check character. The check character is ``(31 − Σ value(cᵢ)·wᵢ mod 31) mod 31`` over
the first 17 characters, with the weights ``wᵢ = 3^(i−1) mod 31`` (1, 3, 9, 27, 19, 26, 16, 17,
20, 29, 25, 13, 8, 24, 10, 30, 28), written back as a character of the alphabet.

The ledger rejects a row whose code is invalid (DOMAIN.md), so a whole column of codes is
normalised and checked at once, without a Python loop over the codes: an all-ASCII column is
normalised by one ``bytes.translate`` over its bytes, the 18 characters of each code are
taken through a sliding-window view, translated to values by a lookup table and weighted
column by column — about 0.2 s to normalise and 0.4 s to check a million codes on the
project's 2-core machine. Only a code with characters other than ASCII and full-width ASCII
goes through ``unicodedata`` (NFKC) in Python, once per distinct such code.

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


def _unicode_matrix(values: np.ndarray) -> np.ndarray:
    """uint32 code points (n, width) of the codes, NFKC-normalised, 0-padded.

    Full-width ASCII and U+3000 are mapped in bulk (NFKC maps U+FF01-FF5E by a fixed shift
    and U+3000 to a space); a row with any other non-ASCII character is normalised in Python,
    once per distinct such string.
    """
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
    return u


# bytes removed while normalising: NUL, controls, whitespace (1-32) and DEL
_DELETE = bytes(range(33)) + b"\x7f"
_UPPER = bytes.maketrans(b"abcdefghijklmnopqrstuvwxyz", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _normalised(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The normalised codes, concatenated, and the n + 1 offsets of each code in them.

    The codes are uint8 bytes when every code is ASCII after normalising (the usual case),
    else uint32 code points. An all-ASCII column is normalised by one ``bytes.translate``
    over the whole column (upper case; whitespace, control characters and the padding
    removed), so it costs the same however many codes need fixing.
    """
    ascii_column = _ascii_arrow_column(series)
    if ascii_column is not None:
        content, offsets = ascii_column
        removed = np.flatnonzero((content <= 32) | (content == 127))  # few: stray spaces
        lengths = np.diff(offsets)
        if removed.size:
            rows = np.searchsorted(offsets, removed, side="right") - 1
            lengths -= np.bincount(rows, minlength=lengths.size)
        kept_offsets = np.zeros(offsets.size, dtype=np.int64)
        np.cumsum(lengths, out=kept_offsets[1:])
        return np.frombuffer(content.tobytes().translate(_UPPER, _DELETE), dtype=np.uint8), kept_offsets
    values = series.to_numpy(dtype=object, na_value="")
    n = values.size
    if n == 0:
        return np.zeros(0, dtype=np.uint8), np.zeros(1, dtype=np.int64)
    try:
        raw = values.astype("S")  # one byte per character, NUL-padded; fails on non-ASCII
    except UnicodeEncodeError:
        u = _unicode_matrix(values)
        keep = (u > 32) & (u != 127)
        length = np.count_nonzero(keep, axis=1)
        data = u[keep]  # row by row: the concatenated codes
        np.subtract(data, 32, out=data, where=(data >= 97) & (data <= 122))  # a-z → A-Z
        if data.size == 0 or data.max() <= 127:
            data = data.astype(np.uint8)
    else:
        u = raw.view(np.uint8).reshape(n, raw.dtype.itemsize)
        length = np.count_nonzero((u > 32) & (u != 127), axis=1)
        data = np.frombuffer(raw.tobytes().translate(_UPPER, _DELETE), dtype=np.uint8)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(length, out=offsets[1:])
    return data, offsets


def _ascii_arrow_column(series: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """An Arrow-backed text column's UTF-8 bytes, concatenated, and its n + 1 offsets into
    them (missing values empty), when every byte is ASCII; else None.

    Why: the bytes are already laid out as :func:`_normalised` wants them, so a million codes
    read from a CSV need no Python string each (nor a fixed-width copy).
    """
    if not (isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow"):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(series.array)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.null_count:
        array = pc.fill_null(array, "")
    offset_type = {pa.string(): np.int32, pa.large_string(): np.int64}.get(array.type)
    if offset_type is None:
        return None
    _, offsets, data = array.buffers()
    offsets = np.frombuffer(offsets, dtype=offset_type)[array.offset: array.offset + len(array) + 1]
    offsets = offsets.astype(np.int64)
    content = np.frombuffer(data, dtype=np.uint8)[offsets[0]:offsets[-1]] if data is not None else \
        np.zeros(0, dtype=np.uint8)
    if content.size and content.max() > 127:
        return None
    return content, offsets - offsets[0]


def _rows(data: np.ndarray, offsets: np.ndarray, width: int) -> np.ndarray:
    """The first ``width`` characters of each code as a matrix, 0-padded."""
    padded = np.concatenate([data, np.zeros(width, dtype=data.dtype)])
    matrix = np.lib.stride_tricks.sliding_window_view(padded, width)[offsets[:-1]]
    matrix[np.arange(width) >= np.diff(offsets)[:, None]] = 0
    return matrix


def _string_series(data: np.ndarray, offsets: np.ndarray, index, name) -> pd.Series:
    """A ``str`` Series of the codes."""
    n = offsets.size - 1
    if data.dtype == np.uint8:
        try:
            import pyarrow as pa
        except ImportError:  # pandas works without pyarrow; so does this, only slower
            pa = None
        if pa is not None:  # the concatenated bytes and offsets are an Arrow string array
            array = pa.LargeStringArray.from_buffers(
                n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data)))
            return pd.Series(array, index=index, name=name, dtype="str")
    width = max(int(np.diff(offsets).max(initial=0)), 1)
    matrix = _rows(data.astype(np.uint32), offsets, width)
    strings = np.ascontiguousarray(matrix).view(f"<U{width}").reshape(-1)
    return pd.Series(strings, index=index, name=name, dtype="str")


def normalise_code(series: pd.Series) -> pd.Series:
    """Codes as stored: NFKC (full-width → half-width), all whitespace removed, upper case.

    Control and invisible characters (zero-width space, BOM…) go with the whitespace; values
    that are not strings are written with ``str``; blank, NaN and None become "". Keeps the
    index and name; returns a ``str`` Series.
    """
    if not isinstance(series, pd.Series):
        series = pd.Series(series, dtype=object)
    return _string_series(*_normalised(series), series.index, series.name)


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
    data, offsets = _normalised(series)
    n = offsets.size - 1
    length = np.diff(offsets)
    # Each row's reason as an index into a few distinct texts (most rows: 0, valid), so a
    # million codes never become a million Python strings.
    reasons = _Reasons(n)
    reasons.set(length == 0, EMPTY)
    wrong_length = (length != 0) & (length != 18)
    if wrong_length.any():
        reasons.set_each(wrong_length, [f"{_LENGTH[0]}{k}{_LENGTH[1]}" for k in length[wrong_length]])

    rows = np.flatnonzero(length == 18)
    if rows.size:
        # the 18 characters of each such code, without copying the others
        chars = np.lib.stride_tricks.sliding_window_view(data, 18)[offsets[rows]]
        if chars.dtype != np.uint8:
            chars8 = np.minimum(chars, 255).astype(np.uint8)  # 128 and above: not allowed
        else:
            chars8 = chars
        value = np.frombuffer(
            np.ascontiguousarray(chars8).tobytes().translate(_VALUE_TABLE), dtype=np.uint8
        ).reshape(rows.size, 18)
        total = np.zeros(rows.size, dtype=np.int32)
        for i, weight in enumerate(WEIGHTS):  # 17 columns, not rows
            total += value[:, i] * np.int32(weight)  # a code with a bad character: not used
        expected = (31 - total % 31) % 31
        illegal = value.max(axis=1) == _INVALID
        wrong_check = ~illegal & (value[:, 17] != expected)
        if illegal.any():
            at = np.flatnonzero(illegal)
            points = chars[at, (value[at] == _INVALID).argmax(axis=1)]
            reasons.set_each(_positions(n, rows[at]),
                             [f"{_ILLEGAL[0]}{_show(int(p))}{_ILLEGAL[1]}" for p in points])
        if wrong_check.any():
            reasons.set_each(_positions(n, rows[wrong_check]),
                             [f"{_CHECK[0]}{ALPHABET[e]}{_CHECK[1]}" for e in expected[wrong_check]])
    return reasons.series(series.index, series.name)


def _positions(n: int, where: np.ndarray) -> np.ndarray:
    """A boolean mask of ``n`` rows, true at ``where``."""
    mask = np.zeros(n, dtype=bool)
    mask[where] = True
    return mask


class _Reasons:
    """Per row, the index of its reason among the distinct reasons so far ("" first)."""

    def __init__(self, n: int):
        self.texts: dict[str, int] = {"": 0}
        self.codes = np.zeros(n, dtype=np.int64)

    def set(self, mask: np.ndarray, text: str) -> None:
        """Give every row of ``mask`` the same reason."""
        self.codes[mask] = self.texts.setdefault(text, len(self.texts))

    def set_each(self, mask: np.ndarray, texts: list[str]) -> None:
        """Give the rows of ``mask``, in order, one reason each."""
        self.codes[mask] = [self.texts.setdefault(text, len(self.texts)) for text in texts]

    def series(self, index, name) -> pd.Series:
        """The reasons as a ``str`` Series."""
        return pd.Series(pd.array(list(self.texts), dtype="str").take(self.codes), index=index, name=name)
