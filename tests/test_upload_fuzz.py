"""Schemathesis on the upload, job and collection routes of a server of their own: whatever a client sends, no 5xx.

Generated multipart bodies (random names, bytes, collections) with an editor's token; an index
of its own, since a generated upload that happens to be valid is indexed.
"""

from __future__ import annotations

import os

import pytest

schemathesis = pytest.importorskip("schemathesis")
from apiserver import LiveServer, write_pdf  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from govqa.build import build_index  # noqa: E402
from govqa.config import Settings  # noqa: E402
from govqa.tokens import TokenStore  # noqa: E402

EXAMPLES = int(os.environ.get("GOVQA_SCHEMATHESIS_EXAMPLES", "30"))


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    from api.app import create_app

    root = tmp_path_factory.mktemp("upload-fuzz")
    (root / "docs").mkdir()
    write_pdf(root / "docs" / "guide.pdf", ["Staff guide: leave requests go to personnel."])
    write_pdf(root / "docs" / "memo.pdf", ["A second document, so that deleting one never empties the index."])
    index_dir = root / "index"
    build_index([root / "docs"], Settings(index_dir=index_dir, manifest=root / "none.toml"))
    token, _ = TokenStore(index_dir).create("editor", ["default"], known_collections={"default"})
    server = LiveServer(create_app(Settings(index_dir=index_dir, upload_max_mb=1))).start()
    try:
        yield server.url, token
    finally:
        server.stop()


@pytest.fixture(scope="module")
def upload_schema(fuzz_server):
    url, token = fuzz_server
    return schemathesis.openapi.from_url(f"{url}/openapi.json", headers={"Authorization": f"Bearer {token}"}).include(
        path_regex=r"^/(documents(/\{doc_id\})?|jobs/.*|collections)$")


schema = schemathesis.pytest.from_fixture("upload_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_upload_request_makes_the_server_fail(case, fuzz_server):
    _, token = fuzz_server
    if case.path == "/jobs/{job_id}/events":
        case.path_parameters = {**(case.path_parameters or {}), "job_id": "0" * 16}  # never a stream left open
    response = case.call(headers={"Authorization": f"Bearer {token}"}, timeout=300)
    case.validate_response(response, checks=[not_a_server_error])
    assert response.status_code < 500, response.text
