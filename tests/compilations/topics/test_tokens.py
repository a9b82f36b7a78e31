from __future__ import annotations

from analysis.tokenizer import GovTokenizer
from compilations.topics.tokens import document_text, keep_token, tokenize_texts, topic_tokens
from gongkai.document import Document


def test_only_tokens_that_tell_topics_apart_are_kept(tokenizer: GovTokenizer) -> None:
    assert keep_token("养老金") and keep_token("低保")
    assert not keep_token("的") and not keep_token("2024") and not keep_token("3.5")
    tokens = topic_tokens(tokenizer, "2024年基本养老金的调整。").split(" ")
    assert "养老金" in tokens and "2024" not in tokens and "的" not in tokens


def test_worker_processes_give_the_same_tokens(tokenizer: GovTokenizer) -> None:
    texts = [f"第{i}条 国有土地上房屋征收补偿 最低生活保障标准" for i in range(600)]
    seen: list[int] = []
    one = tokenize_texts(tokenizer, texts, on_progress=seen.append)
    two = tokenize_texts(tokenizer, iter(texts), n_jobs=2)
    assert one == two and len(one) == 600 and sum(seen) == 600


def test_document_text_is_title_then_body() -> None:
    assert document_text(Document(id="a", title="标题", body="正文")) == "标题\n正文"
    assert document_text(Document(id="b", body="正文")) == "正文"
