"""Character bigrams as one space-joined string, computed with numpy array operations.

The bigrams of a text are the overlapping character pairs of each run of letters, digits or
Han characters (`_` ends a run); a run of one character gives that character. This is the
form the engines index. Building ~2,000 two-character str objects per document by slicing and
joining them was a sixth of the analysis time (issue 9); here each character is a 32-bit code
in an array and a bigram is two array columns, so no per-bigram Python object exists.
"""

from __future__ import annotations

import re

import numpy as np

# Characters that end a run: anything but a letter, digit or Han character, and `_`.
_NOT_WORD = re.compile(r"[\W_]")
_GAP = "\x00"  # marks a non-word character; never part of a token (see tokenizer.is_word)
_SPACE = ord(" ")


def bigram_text(text: str) -> str:
    """Bigrams of ``text`` (already normalised) joined by single spaces; "" if none."""
    if not text:
        return ""
    codes = np.frombuffer(_NOT_WORD.sub(_GAP, text).encode("utf-32-le"), dtype=np.uint32)
    word = codes != 0
    before = np.zeros_like(word)
    before[1:] = word[:-1]
    after = np.zeros_like(word)
    after[:-1] = word[1:]
    pair = word & after  # a bigram starts here
    starts = np.flatnonzero(pair | (word & ~before & ~after))  # ... or a one-character run
    if starts.size == 0:
        return ""
    # One row per token: first character, second character (0 for a one-character run), space.
    rows = np.zeros((starts.size, 3), dtype=np.uint32)
    rows[:, 0] = codes[starts]
    rows[:, 1] = np.where(pair[starts], np.append(codes, 0)[starts + 1], 0)
    rows[:, 2] = _SPACE
    flat = rows.ravel()[:-1]  # no space after the last token
    joined: bytes = flat[flat != 0].tobytes()
    return joined.decode("utf-32-le")
