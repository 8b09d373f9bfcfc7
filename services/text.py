"""Small text helpers shared by the readers: the same name written two ways is one name.

Ledgers and layers are typed by different people; "青禾 金融大厦" and "青禾金融大厦 " must
match. :func:`compact` is that rule, and :func:`map_distinct` applies a per-value function to a
column through its distinct values, so a million-row column costs thousands of calls, not a
million.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Callable

import numpy as np
import pandas as pd

_WHITESPACE = re.compile(r"\s+")


def compact(value: object) -> str | None:
    """``value`` with full-width characters folded (NFKC) and all white space removed; None
    for a missing or blank value."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _WHITESPACE.sub("", unicodedata.normalize("NFKC", str(value)))
    return text or None


def map_distinct(values: pd.Series, function: Callable[[object], object]) -> pd.Series:
    """``values.map(function)``, calling ``function`` once per distinct value (and once with
    None for missing values); the result is a Series with the same index, typed as pandas
    would type the mapped values (text becomes pandas' Arrow-backed ``str``)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = [function(value) for value in distinct_values(uniques)]
    mapped.append(function(None))  # position -1: the missing value
    result = np.empty(len(mapped), dtype=object)
    result[:] = mapped
    return take_distinct(result, codes, values.index)


def distinct_values(uniques):
    """The distinct values ``pandas.factorize`` returned, ready to loop over: Arrow-backed
    text as one array of Python strings (looping over the Arrow array itself converts one
    value per call, several times slower)."""
    return uniques.to_numpy(dtype=object) if _arrow_text(uniques) else uniques


def take_distinct(distinct: np.ndarray, codes: np.ndarray, index=None) -> pd.Series:
    """``pd.Series(distinct[codes], index=index)``: the same values and the same dtype pandas
    infers, but text is converted to an Arrow string array once per distinct value and then
    taken, instead of once per row (a million Python strings cost a fifth of a second each
    time a column is made). Code -1 takes the last value, as numpy indexing does."""
    distinct = np.asarray(distinct, dtype=object)
    positions = np.where(codes < 0, len(distinct) + codes, codes) if len(distinct) else codes
    used = np.bincount(positions, minlength=len(distinct)).astype(bool) if len(positions) else \
        np.zeros(len(distinct), dtype=bool)
    sample = pd.Series(distinct[used])
    dtype = sample.dtype  # what pandas would infer for the full column
    if isinstance(dtype, np.dtype) and dtype.kind in "bifMm":
        # Numbers, booleans, dates: typed once per distinct value too, then taken (pandas
        # would otherwise look at a million Python objects to infer the same dtype).
        typed = np.zeros(len(distinct), dtype=dtype)
        typed[used] = sample.to_numpy()
        return pd.Series(typed[positions], index=index)
    if not isinstance(dtype, pd.StringDtype):
        return pd.Series(distinct[positions], index=index)
    values = distinct.copy()
    values[~used] = None  # never taken; keeps the conversion from judging them
    return pd.Series(pd.array(values, dtype=dtype).take(positions), index=index)


def is_in(values: pd.Series, among) -> pd.Series:
    """``values.isin(among)``; for Arrow-backed text on both sides, done in Arrow directly.

    pandas turns every value of ``among`` into an Arrow scalar and back in Python first, which
    for a city's 60,000 instructor names or 10,000 grid ids took most of a second.
    """
    if _arrow_text(values) and _arrow_text(among):
        import pyarrow as pa
        import pyarrow.compute as pc

        array = pa.array(values.array)
        value_set = pa.array(among.array if isinstance(among, pd.Series) else among).cast(array.type)
        found = pc.is_in(array, value_set=value_set)
        return pd.Series(np.array(found, dtype=np.bool_), index=values.index, name=values.name)
    return values.isin(among)


def positions_in(values: pd.Series, among: pd.Series) -> np.ndarray:
    """``pd.Index(among).get_indexer(values)`` for distinct ``among``: each value's position
    in ``among``, -1 where it is absent; for Arrow-backed text on both sides, done in Arrow
    (pandas turns both sides into Python strings first: 20 ms for 100,000 units' org names).
    """
    if _arrow_text(values) and _arrow_text(among):
        import pyarrow as pa
        import pyarrow.compute as pc

        array = pa.array(values.array)
        found = pc.index_in(array, value_set=pa.array(among.array).cast(array.type))
        return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return pd.Index(among).get_indexer(values)


def _arrow_text(values) -> bool:
    """Whether ``values`` (a Series or pandas array) is pandas' Arrow-backed text."""
    dtype = getattr(values, "dtype", None)
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"
