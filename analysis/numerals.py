"""Numbers as government documents print them: full-width digits, 二〇一三, 五十九, 一百零五.

Shared by the date and 发文字号 parsers. Nothing here guesses: a string that is not a
well-formed number gives None.
"""

from __future__ import annotations

import re

# Full-width digits and the separators dates use, one character for one character, so that
# positions found in the translated text are positions in the original.
_TO_ASCII = str.maketrans("０１２３４５６７８９－／．", "0123456789-/.")
# Any character `_TO_ASCII` changes. Most texts have none, and `str.translate` looks up every
# character in the table (~50 ns each: 0.1 ms for a 2,000-character body, several times a
# document at ingest), while this search runs in C over the text (issue 9 profile).
_NOT_ASCII = re.compile("[０-９－／．]")

# Characters printed for zero in a digit-by-digit year (二〇一三, 二○一三, 二零一三): besides 〇
# and ○, typists use the letter O (Latin, full-width, Cyrillic, Greek) for it (二ＯＯ七).
ZERO_CHARS = "〇○◯零0OＯОΟ"
DIGIT_VALUES: dict[str, int] = dict.fromkeys(ZERO_CHARS, 0) | {
    c: i for i, c in enumerate("一二三四五六七八九", start=1)
}
DIGIT_VALUES |= {str(i): i for i in range(10)}
DIGIT_VALUES["两"] = 2
_UNITS = {"十": 10, "百": 100, "千": 1000}


def ascii_digits(text: str) -> str:
    """Full-width digits (and date separators) to ASCII; the length never changes."""
    return text.translate(_TO_ASCII) if _NOT_ASCII.search(text) else text


def digit_by_digit(text: str) -> int | None:
    """``二〇一三`` / ``2013`` / ``二ＯＯ七`` -> the number its digits spell (years)."""
    if not text:
        return None
    digits = [DIGIT_VALUES.get(c) for c in text]
    if any(d is None for d in digits):
        return None
    return int("".join(str(d) for d in digits))


def chinese_number(text: str) -> int | None:
    """``59``, ``五十九``, ``十一``, ``一百零五``, ``二〇一三`` -> int; anything else None.

    Counted forms (with 十/百/千) are read with their units; a form without units is read
    digit by digit. Malformed counts (``十十``, ``二三十``, ``百五``) are refused, not repaired.
    """
    text = ascii_digits(text.strip())
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return int(text)
    if not any(unit in text for unit in _UNITS):
        return digit_by_digit(text)
    return _counted(text)


def _counted(text: str) -> int | None:
    total = 0
    pending: int | None = None  # a digit waiting for its unit
    last_unit = 10_000  # units must fall: 一百零五 yes, 五十百 no
    after_zero = False
    for char in text:
        if char in _UNITS:
            unit = _UNITS[char]
            if unit >= last_unit:
                return None
            if pending is None:
                # 十一 = 11; but 一百十 is colloquial and 百五 is not a number.
                if unit != 10 or total:
                    return None
                pending = 1
            total += pending * unit
            pending, last_unit, after_zero = None, unit, False
        elif char in DIGIT_VALUES and not char.isascii():
            value = DIGIT_VALUES[char]
            if value == 0:
                if pending is not None or after_zero or not total:
                    return None
                after_zero = True
                continue
            if pending is not None:
                return None
            pending = value
        else:
            return None
    if pending is not None:
        if last_unit == 10 and total:  # 十一 .. 九十九 end with units
            total += pending
        elif after_zero or last_unit == 10_000:
            total += pending  # 一百零五
        else:
            return None  # 一百五 (colloquial 150) is not guessed
    elif after_zero:
        return None
    return total
