"""Seeded compilations: from a name and a few seed terms and/or documents to a ranked list of
proposals, each with its reason (matched terms, similarity to a seed document, topic).

The seeds are expanded with the project thesaurus (低保 -> 最低生活保障 ...), with the seed
documents' 主题词 and, when a topic model is given (`TopicHints`), with the terms of the seed
documents' topics; the seed documents' "more like this" results are searched too. Each expansion is
searched with the ordinary `SearchService`; scores are normalised per query (best hit = 1),
weighted by how far the query is from what the librarian typed, and summed per document. A
candidate must contain at least one of the (expanded) terms literally (or, when seeded by
documents alone, be close to a seed document): bigram overlap alone, which ranks search
results, is not a reason.
Proposals go to the compilation's inbox; nothing is added without a librarian's accept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from analysis.keywords import KeywordExtractor
from analysis.tokenizer import normalise
from compilations import store
from compilations.errors import InvalidChange
from compilations.models import CompilationCreate, ProposalReason, StandingQuery
from compilations.service import CompilationService
from gongkai.document import Document
from search_api.service import SearchResponse, SearchService

# Weights of the query kinds: the librarian's own words count most.
SEED_WEIGHT = 1.0
TOGETHER_WEIGHT = 1.0
SYNONYM_WEIGHT = 0.6
SIMILAR_WEIGHT = 0.8
TOPIC_WEIGHT = 0.4
KEYWORD_WEIGHT = 0.5
SEED_KEYWORDS = 8
# Extracted keywords within this share of the best one's weight stand for a seed document;
# weaker ones (发放, 每人, 区县 on the 低保 samples) would fill the inbox with noise.
KEYWORD_SHARE = 0.9
# Hits fetched per expanded query, and the most topic terms added per seed document.
PER_QUERY = 30
TOPIC_TERMS = 5
DEFAULT_LIMIT = 50
# Share of the best similar hit's score a document-only candidate needs (measured on the
# samples: same-topic documents score 0.4-1.0, unrelated ones mostly below 0.35).
MIN_SIMILARITY = 0.4


class TopicHints(Protocol):
    """What seeding asks of a topic model: for documents, their topic label and top terms."""

    def topics_of(self, doc_ids: Sequence[str]) -> dict[str, tuple[str, list[str]]]: ...


@dataclass
class _Candidate:
    doc_id: str
    score: float = 0.0
    similarity: float | None = None
    topic: str | None = None
    matched: list[str] = field(default_factory=list)


@dataclass
class SeedResult:
    compilation_id: int
    expanded_terms: list[str]
    proposed: list[str]


def expand_terms(terms: Sequence[str], search: SearchService) -> list[tuple[str, float]]:
    """The seed terms (weight 1) and their thesaurus alternatives (weight 0.6), deduplicated."""
    expanded: dict[str, float] = {}
    for term in (t.strip() for t in terms):
        if not term:
            continue
        expanded[term] = SEED_WEIGHT
        alternatives = [*search.thesaurus.alternatives(term)]
        # Thesaurus words inside the term widen it too: 低保标准 contains 低保 (-> 最低生活保障).
        norm = normalise(term)
        for group in search.thesaurus.groups:
            if any(word != norm and word in norm for word in group):
                alternatives.extend(w for w in group if w not in norm)
        for alt in alternatives:
            expanded.setdefault(alt, SYNONYM_WEIGHT)
    return list(expanded.items())


def _strong_keywords(extractor: KeywordExtractor, text: str) -> list[str]:
    scored = extractor.scores(text, SEED_KEYWORDS)
    best = scored[0][1] if scored else 0.0
    return [word for word, weight in scored if weight >= KEYWORD_SHARE * best]


def seed_compilation(
    service: CompilationService,
    search: SearchService,
    author: str,
    name: str,
    terms: Sequence[str] = (),
    doc_ids: Sequence[str] = (),
    *,
    description: str = "",
    limit: int = DEFAULT_LIMIT,
    topics: TopicHints | None = None,
) -> SeedResult:
    """Create a draft compilation called ``name`` whose standing query is the seed terms,
    include the seed documents, and propose up to ``limit`` ranked candidates."""
    if not any(t.strip() for t in terms) and not doc_ids:
        raise InvalidChange("give seed terms, seed documents, or both")
    spec = CompilationCreate(
        title=name,
        description=description,
        query=StandingQuery(q=" ".join(t.strip() for t in terms if t.strip())),
    )
    compilation = service.create(author, spec)
    present = [d for d in doc_ids if search.backend.get(d) is not None]
    if present:
        service.add_documents(compilation.id, author, present)
    return propose_seeded(
        service, search, author, compilation.id, terms, present, limit=limit, topics=topics
    )


def propose_seeded(
    service: CompilationService,
    search: SearchService,
    author: str,
    compilation_id: int,
    terms: Sequence[str] = (),
    doc_ids: Sequence[str] = (),
    *,
    limit: int = DEFAULT_LIMIT,
    topics: TopicHints | None = None,
) -> SeedResult:
    """Propose ranked candidates for an existing compilation from seed terms and documents."""
    service.version(compilation_id)  # 404 before any searching
    expanded = expand_terms(terms, search)
    seeds = [d for d in (search.backend.get(i) for i in doc_ids) if d is not None]
    topic_of: dict[str, tuple[str, list[str]]] = (
        topics.topics_of([d.id for d in seeds]) if topics is not None and seeds else {}
    )
    # A seed document stands for its 主题词 (extracted when the source gave none).
    extractor = KeywordExtractor(search.tokenizer)
    for seed in seeds:
        for word in seed.subject_words[:SEED_KEYWORDS] or _strong_keywords(extractor, seed.body):
            expanded.append((word, KEYWORD_WEIGHT))
    for _label, topic_terms in topic_of.values():
        for term in topic_terms[:TOPIC_TERMS]:
            expanded.append((term, TOPIC_WEIGHT))
    # One query per word, at the highest weight it was reached by.
    weights: dict[str, float] = {}
    for text, weight in expanded:
        weights[text] = max(weight, weights.get(text, 0.0))
    candidates: dict[str, _Candidate] = {}

    def gather(response: SearchResponse, weight: float, similar: bool = False) -> None:
        best = max((h.score for h in response.hits), default=0.0)
        for hit in response.hits:
            share = hit.score / best if best > 0 else 0.0
            found = candidates.setdefault(hit.id, _Candidate(hit.id))
            found.score += weight * share
            if similar:
                found.similarity = max(found.similarity or 0.0, round(share, 4))

    per_query = max(PER_QUERY, limit)
    seed_words = [t.strip() for t in terms if t.strip()]
    if len(seed_words) > 1:
        # All seed words in one query: documents about several of them rank first (alone,
        # each word's own best hits would crowd in, e.g. 停车 messages into 交通).
        gather(search.search(" ".join(seed_words), limit=min(per_query, 100)), TOGETHER_WEIGHT)
    for text, weight in weights.items():
        gather(search.search(text, limit=min(per_query, 100)), weight)
    for seed in seeds:
        gather(search.similar(seed, limit=min(per_query, 50)), SIMILAR_WEIGHT, similar=True)

    with service.engine.connect() as conn:
        known = store.known_doc_ids(conn, compilation_id) | {d.id for d in seeds}
    topic_labels = {label for label, _ in topic_of.values()}
    words = list(weights)
    ranked: list[tuple[_Candidate, Document]] = []
    for candidate in sorted(candidates.values(), key=lambda c: -c.score):
        if candidate.doc_id in known:
            continue
        doc = search.backend.get(candidate.doc_id)
        if doc is None:
            continue
        text = normalise(f"{doc.title}\n{doc.body}")
        candidate.matched = [w for w in words if normalise(w) in text]
        # A candidate must contain one of the (expanded) words; similarity to a seed document
        # ranks, and only stands alone when there are no words to look for.
        if not candidate.matched and (words or (candidate.similarity or 0.0) < MIN_SIMILARITY):
            continue
        if topic_labels and topics is not None:
            own = topics.topics_of([doc.id]).get(doc.id)
            candidate.topic = own[0] if own and own[0] in topic_labels else None
        ranked.append((candidate, doc))
        if len(ranked) >= limit:
            break

    rows = [
        {
            "compilation_id": compilation_id,
            "doc_id": c.doc_id,
            "title": doc.title,
            "reason": ProposalReason(
                source="seed",
                matched_terms=c.matched,
                score=round(c.score, 4),
                similarity=c.similarity,
                topic=c.topic,
            ).model_dump(mode="json"),
        }
        for c, doc in ranked
    ]
    with service.engine.begin() as conn:
        store.insert_proposals(conn, rows)
        service.audit.record(
            author,
            "compilation.seed",
            f"compilation:{compilation_id}",
            None,
            {"terms": list(terms), "documents": list(doc_ids), "proposed": len(rows)},
            conn=conn,
        )
    return SeedResult(compilation_id, words, [c.doc_id for c, _ in ranked])
