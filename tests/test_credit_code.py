"""Unified social credit code (services/credit_code.py): real codes, every error, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.credit_code import (
    ALPHABET,
    WEIGHTS,
    check_character,
    credit_code_problems,
    make_code,
    normalise_code,
)

# Published codes of real organisations, each with its source:
PUBLISHED = {
    # Huawei Technologies Co., Ltd. (华为技术有限公司): Chinese Wikipedia, article 華為,
    # infobox 機構代碼 914403001922038216.
    "914403001922038216": "华为技术有限公司",
    # China Checkup, "Unified Social Credit Code" (Matt Slater, 27 August 2018), examples:
    # "9144030071526726XG - Tencent Technology (Shenzhen) Co., Ltd.",
    # "91110000710926094P - China Petroleum & Chemical Corporation",
    # "91310000631696382C - Baoshan Iron and Steel Co., Ltd."
    "9144030071526726XG": "腾讯科技（深圳）有限公司",
    "91110000710926094P": "中国石油化工股份有限公司",
    "91310000631696382C": "宝山钢铁股份有限公司",
    # check-china.com example report 8, Shenzhen Tencent Computer Systems Company Limited:
    # "Unified social credit code 91440300708461136T".
    "91440300708461136T": "深圳市腾讯计算机系统有限公司",
    # English Wikipedia, "Unified Social Credit Identifier", format example
    # "9 1 3 5 0 1 0 0 M 0 0 0 1 0 0 Y 4 3".
    "91350100M000100Y43": "(format example)",
}


def problems(*codes) -> list[str]:
    return credit_code_problems(pd.Series(list(codes), dtype=object)).tolist()


# --------------------------------------------------------------------------- published codes

@pytest.mark.parametrize("code", list(PUBLISHED))
def test_published_codes_are_valid(code):
    assert check_character(code[:17]) == code[17]
    assert make_code(code[:17]) == code
    assert problems(code) == [""]


@pytest.mark.parametrize("code", list(PUBLISHED))
def test_published_codes_with_a_wrong_check_character_are_rejected(code):
    wrong = ALPHABET[(ALPHABET.index(code[17]) + 1) % 31]
    assert problems(code[:17] + wrong) == [f"统一社会信用代码校验位错误（应为{code[17]}）"]


def test_constants():
    assert len(ALPHABET) == 31 and not set("IOZSV") & set(ALPHABET)
    assert WEIGHTS == tuple(pow(3, i, 31) for i in range(17))


# --------------------------------------------------------------------------- every error kind

def test_every_reason():
    assert problems(
        "914403001922038216",    # valid
        "",                      # blank
        None,
        np.nan,
        "   ",
        "91440300192203821",     # 17 characters
        "9144030019220382166",   # 19
        "91440300192203821I",    # I is not in the alphabet
        "9144O3001922038216",    # neither is O (the first bad one is reported)
        "9144030019220382Z6",
        "914403001922038217",    # wrong check character
        "甲公司",
    ) == [
        "",
        "统一社会信用代码为空",
        "统一社会信用代码为空",
        "统一社会信用代码为空",
        "统一社会信用代码为空",
        "统一社会信用代码应为18位，实为17位",
        "统一社会信用代码应为18位，实为19位",
        "统一社会信用代码含非法字符“I”",
        "统一社会信用代码含非法字符“O”",
        "统一社会信用代码含非法字符“Z”",
        "统一社会信用代码校验位错误（应为6）",
        "统一社会信用代码应为18位，实为3位",
    ]


def test_non_ascii_and_invisible_illegal_characters_are_named():
    assert problems("91440300192203821甲") == ["统一社会信用代码含非法字符“甲”"]
    assert problems("9144030019220382\u00a7\u00a7") == ["统一社会信用代码含非法字符“§”"]
    assert problems("91440300192203821\u0085") == ["统一社会信用代码应为18位，实为17位"]


def test_a_code_that_lost_its_leading_zeros_as_a_number_is_too_short():
    assert problems(12345) == ["统一社会信用代码应为18位，实为5位"]


# --------------------------------------------------------------------------- normalising

def test_full_width_lower_case_and_whitespace_are_normalised():
    raw = pd.Series(
        ["９１４４０３００１９２２０３８２１６",         # full-width digits
         "９１４４０３００７１５２６７２６ｘｇ",           # full-width lower-case letters
         "9144030071526726xg",                          # lower case
         " 9144 0300 7152 6726 XG\t\n",                # spaces, tab, newline
         "\u30009144030071526726XG\u3000",              # ideographic spaces
         "91440300\u200b71526726XG",                    # zero-width space
         "\ufeff9144030071526726XG",                    # byte-order mark
         None, np.nan, "  "],
        index=list("abcdefghij"), name="统一社会信用代码")
    out = normalise_code(raw)
    assert out.index.tolist() == list("abcdefghij") and out.name == "统一社会信用代码"
    assert out.tolist() == ["914403001922038216"] + ["9144030071526726XG"] * 6 + ["", "", ""]
    assert credit_code_problems(raw).tolist() == [""] * 7 + ["统一社会信用代码为空"] * 3
    assert out.dtype == "str"


def test_normalising_is_idempotent_and_problems_agree():
    raw = pd.Series([" 9144030071526726xg", "９１３５０１００Ｍ０００１００Ｙ４３", "bad code", ""])
    once = normalise_code(raw)
    assert normalise_code(once).tolist() == once.tolist()
    assert credit_code_problems(once).tolist() == credit_code_problems(raw).tolist()


def test_str_dtype_and_empty_input():
    codes = pd.Series(["914403001922038216", None], dtype="str")
    assert credit_code_problems(codes).tolist() == ["", "统一社会信用代码为空"]
    assert normalise_code(codes).tolist() == ["914403001922038216", ""]
    assert credit_code_problems(pd.Series([], dtype=object)).tolist() == []
    assert normalise_code(pd.Series([], dtype="str")).tolist() == []


def test_single_code_helpers_reject_bad_input():
    for bad in ["9144030019220382", "914403001922038216", "91440300192203821I", "9144030019220382a"]:
        with pytest.raises(ValueError):
            check_character(bad)
        with pytest.raises(ValueError):
            make_code(bad)


# --------------------------------------------------------------------------- properties

seventeen = st.text(alphabet=ALPHABET, min_size=17, max_size=17)


@settings(max_examples=300, deadline=None)
@given(seventeen)
def test_make_code_is_always_valid(first17):
    code = make_code(first17)
    assert len(code) == 18 and code[17] in ALPHABET
    assert problems(code, code.lower(), f" {code} ") == ["", "", ""]


@settings(max_examples=300, deadline=None)
@given(seventeen, st.integers(0, 17), st.integers(1, 30))
def test_changing_any_one_character_makes_it_invalid(first17, position, shift):
    # weights are non-zero mod 31 (a prime), so any single substitution changes the sum
    code = make_code(first17)
    changed = ALPHABET[(ALPHABET.index(code[position]) + shift) % 31]
    mutated = code[:position] + changed + code[position + 1:]
    (reason,) = problems(mutated)
    assert reason == f"统一社会信用代码校验位错误（应为{check_character(mutated[:17])}）"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(seventeen.map(make_code), st.text(max_size=25)), max_size=30))
def test_vectorised_result_equals_one_by_one(values):
    together = credit_code_problems(pd.Series(values, dtype=object)).tolist()
    assert together == [problems(v)[0] for v in values]
    normalised = normalise_code(pd.Series(values, dtype=object)).tolist()
    assert normalised == [normalise_code(pd.Series([v], dtype=object)).iloc[0] for v in values]


def test_a_large_batch_matches_the_scalar_rule():
    rng = np.random.default_rng(5)
    letters = np.array(list(ALPHABET))
    bodies = ["".join(row) for row in letters[rng.integers(0, 31, (5000, 17))]]
    last = letters[rng.integers(0, 31, 5000)]
    codes = [b + c for b, c in zip(bodies, last)]
    result = credit_code_problems(pd.Series(codes)).tolist()
    for code, reason in zip(codes, result):
        ok = check_character(code[:17]) == code[17]
        assert (reason == "") == ok
