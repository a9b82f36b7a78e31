from __future__ import annotations

from analysis.synonyms import Thesaurus
from engines.base import NullSearchBackend
from search_api.suggest import Suggester


def test_terms_complete_from_the_project_vocabulary() -> None:
    suggester = Suggester(NullSearchBackend(), Thesaurus())
    terms = suggester.complete("住房").terms
    assert "住房公积金" in terms
    assert terms == sorted(terms, key=len)
    assert suggester.complete("  ").terms == []


def test_did_you_mean_offers_close_spellings_only() -> None:
    suggester = Suggester(NullSearchBackend(), Thesaurus())
    assert suggester.did_you_mean("最低生活保证")[0] == "最低生活保障"
    assert suggester.did_you_mean("公积金") == ["住房公积金", "公积金贷款"]
    assert suggester.did_you_mean("天气预报") == []
    assert suggester.did_you_mean("低") == []  # one character says too little
