"""POST /ask with `"stream": true`: the answer as server-sent events, over a real uvicorn server."""

from __future__ import annotations

import httpx
import pytest
from apiserver import sse_events

from govqa.citations import markers_in


@pytest.mark.slow
def test_post_ask_streams_hits_checked_sentences_then_the_answer(sample_api_url):
    query = "MF登録申請に費用はかかりますか"
    with httpx.stream("POST", f"{sample_api_url}/ask", json={"query": query, "stream": True}, timeout=300) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response)
    plain = httpx.post(f"{sample_api_url}/ask", json={"query": query}, timeout=300).json()

    names = [name for name, _ in events]
    assert names[0] == "hits" and names[-1] == "answer" and set(names[1:-1]) == {"delta"}
    hits, final = events[0][1], events[-1][1]
    assert plain["hits"] == final["hits"]  # the same hits as /ask, server URLs included
    # ... which the first event gives before there is an answer to mark quotations of
    assert hits["hits"] == [{**hit, "quoted": []} for hit in final["hits"]]
    assert any(hit["quoted"] for hit in final["hits"]) and not any(hit["quoted"] for hit in hits["hits"])
    assert "".join(data["text"] for name, data in events if name == "delta").strip() == final["answer"]
    assert {k: final[k] for k in ("answer", "citations", "llm", "abstained")} == \
           {k: plain[k] for k in ("answer", "citations", "llm", "abstained")}
    assert set(markers_in(final["answer"])) == {c["n"] for c in final["citations"]}


@pytest.mark.slow
@pytest.mark.parametrize("body, status", [
    ({"query": "", "stream": True}, 422),
    ({"query": "MF", "stream": "yes"}, 422),
    ({"query": "MF", "stream": True, "llm": "gpt-9"}, 422),
])
def test_bad_input_is_refused_before_the_stream_starts(sample_api_url, body, status):
    response = httpx.post(f"{sample_api_url}/ask", json=body, timeout=60)
    assert response.status_code == status and response.headers["content-type"].startswith("application/json")
    assert response.json()["detail"]
