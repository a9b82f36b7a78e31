"""Fuzzing every endpoint of the app's own OpenAPI schema with schemathesis: whatever the
generated input, the real server (uvicorn on 127.0.0.1, embedded engine with the samples) must
answer without a server error. Bounded: a fixed number of examples per operation."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import APIOperation
from schemathesis.checks import not_a_server_error

from analysis.analyzer import DocumentAnalyzer
from analysis.tokenizer import GovTokenizer
from engines import make_backend
from gongkai.accounts import AccountStore, Role
from gongkai.database import create_database_engine
from gongkai.document import Document
from gongkai.pipeline import IngestPipeline
from gongkai.settings import Settings
from ingest.jsonl import JsonlIngestor
from search_api.app import create_app
from tests.support.live_server import live_server

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "sample_docs.jsonl"
EXAMPLES_PER_OPERATION = 25


def _app_schema() -> dict[str, object]:
    # The schema is needed at collection time (one test per operation); it does not depend on
    # the data, so an app over an empty temporary directory gives it.
    with tempfile.TemporaryDirectory() as empty:
        return create_app(Settings(data_dir=Path(empty))).openapi()


schema = schemathesis.openapi.from_dict(_app_schema())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """The server's URL and an admin's credentials: with them the fuzzer gets past the role
    checks into every write route (anonymous calls only meet the 401, tested elsewhere)."""
    settings_ = Settings(
        data_dir=tmp_path_factory.mktemp("fuzz"),
        # The fuzzer sends hundreds of requests from one address: no rate limits here.
        rate_limit_search="",
        rate_limit_export="",
        rate_limit_login="",
    )
    docs = [d for d in JsonlIngestor(settings_).ingest(SAMPLES) if isinstance(d, Document)]
    backend = make_backend(settings_)
    IngestPipeline(DocumentAnalyzer(GovTokenizer()), backend).run(docs)
    _user, key = AccountStore(create_database_engine(settings_)).create_user("fuzzer", Role.ADMIN)
    with live_server(create_app(settings_, backend)) as url:
        yield url, {"Authorization": f"Bearer {key}"}


OPERATIONS = [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_no_server_errors(server: tuple[str, dict[str, str]], operation: APIOperation) -> None:
    url, headers = server

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def answer_without_server_error(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=url, headers=headers, checks=[not_a_server_error])

    answer_without_server_error()
