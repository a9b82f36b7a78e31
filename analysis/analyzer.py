"""Turns a `Document` into what the engines index: the same tokeniser for title and body."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

from analysis import native
from analysis.bigrams import bigram_text
from analysis.tokenizer import GovTokenizer, normalise
from gongkai.document import AnalyzedDocument, Document


def searchable_body(doc: Document) -> str:
    """The body as indexed: attachment text is searchable as part of its parent document."""
    if not doc.attachments:
        return doc.body
    return "\n".join([doc.body, *(a.text for a in doc.attachments if a.text)])


# Analyses remembered ahead of use (`remember_analysis`), at most; the oldest go first. An
# ingest holds one batch's worth (measured: 500 at most at the default batch size); the rest
# are documents that never arrive (dropped as duplicates). ~17 KB each for 2,000 characters,
# so at most ~35 MB.
MAX_REMEMBERED = 2_000

Fields = tuple[str, str, str, str]


def analysis_key(doc: Document) -> tuple[str, str, bool]:
    """What `DocumentAnalyzer.analyze_text` reads of ``doc``: an analysis made from these
    texts is the analysis of any document with the same texts."""
    return doc.title, searchable_body(doc), doc.title_derived


def body_token_counts(
    doc: Document, fields: Fields, counter: native.TokenCounter
) -> dict[str, int] | None:
    """How often each of ``doc.body``'s tokens (`GovTokenizer.tokenize`) occurs, read off
    its analysed body text, when that text is the body alone (no attachments); else None."""
    if doc.attachments:
        return None
    return counter.count(fields[1])


class DocumentAnalyzer:
    """Tokenises documents for indexing. Stateless apart from the tokeniser it is given and
    the analyses handed to it ahead of time (`remember_analysis`), each used once."""

    def __init__(self, tokenizer: GovTokenizer) -> None:
        self.tokenizer = tokenizer
        self._remembered: OrderedDict[tuple[str, str, bool], Fields] = OrderedDict()

    def remember_analysis(self, doc: Document, fields: Fields) -> None:
        """``doc``'s `analyze_text` fields, computed elsewhere (an enrichment worker) with a
        tokeniser built like this one's; used once, when a document with the same texts is
        analysed. Keyed by the texts, so they can never stand for another text."""
        remembered = self._remembered
        remembered[analysis_key(doc)] = fields
        while len(remembered) > MAX_REMEMBERED:
            remembered.popitem(last=False)

    def analyze(self, doc: Document) -> AnalyzedDocument:
        key = analysis_key(doc)
        fields = self._remembered.pop(key, None) if self._remembered else None
        if fields is None:
            fields = self.analyze_text(*key)
        # model_construct: the strings are built right here; validating them again cost a
        # fifth of the analysis time when they were lists.
        return AnalyzedDocument.model_construct(
            document=doc,
            title_text=fields[0],
            body_text=fields[1],
            title_gram_text=fields[2],
            body_gram_text=fields[3],
        )

    def analyze_many(self, docs: Sequence[Document]) -> list[AnalyzedDocument]:
        """Every document of a batch, in order (`gongkai.parallel` spreads this over cores)."""
        return [self.analyze(d) for d in docs]

    def submit(self, docs: Sequence[Document]) -> Callable[[], list[AnalyzedDocument]]:
        """Start analysing a batch; the returned function gives `analyze_many`'s result.

        Here the work is done before returning (one process: nothing to overlap with);
        `gongkai.parallel.ParallelAnalyzer` returns at once, so the pipeline indexes the
        previous batch while its workers analyse this one."""
        analysed = self.analyze_many(docs)
        return lambda: analysed

    def analyze_text(self, title: str, body: str, title_derived: bool) -> Fields:
        """(title tokens, body tokens, title bigrams, body bigrams), each joined by single
        spaces; each text is normalised once for both its tokens and its bigrams.

        One native call when the tokeniser has the native analyser (`analysis.native`)."""
        if self.tokenizer.native is not None:
            fields = self.tokenizer.native.analyze_text(title, body, title_derived)
            if fields is not None:
                return fields
        token_text = self.tokenizer.token_text
        body = normalise(body)
        if title_derived:
            # A title made from the body's first line would count that line twice, with
            # the title boost: on msga_govqa it cost 2 points of Recall@10.
            title_tokens = title_grams = ""
        else:
            title = normalise(title)
            title_tokens, title_grams = token_text(title), bigram_text(title)
        return title_tokens, token_text(body), title_grams, bigram_text(body)
