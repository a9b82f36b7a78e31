"""Gongkai's per-document analysis in one native call (see native/src/lib.rs).

Used through ``analysis.native``; the pure-Python path in ``analysis`` is its reference.
"""

class Analyzer:
    def __init__(
        self,
        fold: bytes,
        word_chars: bytes,
        terms: list[str],
        stop_words: list[str],
        frequency: int,
    ) -> None: ...
    def analyze_text(
        self, title: str, body: str, title_derived: bool
    ) -> tuple[str, str, str, str]: ...
    def token_text(self, text: str) -> str: ...
    def tokens(self, text: str) -> list[str]: ...
    def normalise(self, text: str) -> str: ...
    def bigram_text(self, text: str) -> str: ...
