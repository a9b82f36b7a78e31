"""Tests for ``analysis.numerals``: digits as government documents print them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from analysis.numerals import ascii_digits, chinese_number, digit_by_digit


def test_full_width_digits_and_separators_become_ascii() -> None:
    assert ascii_digits("２０１３－０５／０１．") == "2013-05/01."
    assert ascii_digits("二〇一三年") == "二〇一三年"  # Chinese numerals are read, not translated


@given(st.text(alphabet="０１２３４５６７８９－／．0123456789-/.年月日号一〇 \n", max_size=30))
def test_ascii_digits_is_one_character_for_one(text: str) -> None:
    folded = ascii_digits(text)
    assert len(folded) == len(text)
    assert folded == "".join(
        chr(ord(ch) - 0xFEE0) if "０" <= ch <= "９" or ch in "－／．" else ch for ch in text
    )


def test_numbers_in_words_and_digit_by_digit() -> None:
    assert chinese_number("五十九") == 59
    assert chinese_number("一百零五") == 105
    assert digit_by_digit("二〇一三") == 2013
    assert digit_by_digit("二ＯＯ七") == 2007
    assert digit_by_digit("二x一三") is None
