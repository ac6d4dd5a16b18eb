"""Schemathesis against the live server's /openapi.json: whatever a client sends, never a 5xx.

Bounded: a few dozen generated requests per route (GOVQA_SCHEMATHESIS_EXAMPLES to change it).
"""

from __future__ import annotations

import os

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

EXAMPLES = int(os.environ.get("GOVQA_SCHEMATHESIS_EXAMPLES", "30"))


@pytest.fixture(scope="module")
def api_schema(api_url):
    return schemathesis.openapi.from_url(f"{api_url}/openapi.json")


# Uploads and deletions change the index other tests read: test_upload_fuzz.py fuzzes them on their own server.
schema = schemathesis.pytest.from_fixture("api_schema").exclude(method=["POST", "PUT", "DELETE"], path_regex="^/documents")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_request_makes_the_server_fail(case):
    response = case.call(timeout=300)
    case.validate_response(response, checks=[not_a_server_error])
    assert response.status_code < 500, response.text
