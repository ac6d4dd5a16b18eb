"""govqa as an MCP server, driven by the official SDK's own client: over stdio and over /mcp on a live server."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

mcp = pytest.importorskip("mcp")
from mcp import Client  # noqa: E402
from mcp.client.stdio import StdioServerParameters  # noqa: E402

FEE_QUESTION = "MF登録申請に費用はかかりますか"  # answered on page 3 of the scanned 000160131.pdf


def run(coro):
    return asyncio.run(coro)


def stdio_params(index_dir: Path, **env) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "govqa.cli", "mcp", "--index-dir", str(index_dir)],
                                 env={**os.environ, **env})


async def _tools_and_search(client: Client, question: str) -> tuple[list[str], dict]:
    tools = await client.list_tools()
    result = await client.call_tool("search", {"query": question, "k": 5})
    assert not result.is_error, result.content
    return [t.name for t in tools.tools], result.structured_content


def test_stdio_lists_tools_and_finds_the_sample_page(sample_index):
    async def session():
        async with Client(stdio_params(sample_index)) as client:
            names, found = await _tools_and_search(client, FEE_QUESTION)
            tools = {t.name: t for t in (await client.list_tools()).tools}
            page = await client.read_resource("govqa://documents/000160131/pages/3")
            image = await client.read_resource("govqa://documents/000160131/pages/3/image")
            return names, found, tools, page, image

    names, found, tools, page, image = run(session())
    assert {"search", "ask", "support", "list_documents"} <= set(names)
    # Descriptions speak both languages: an assistant shows them to Japanese and English users.
    for name in ("search", "ask", "support", "list_documents"):
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", tools[name].description), name
        assert re.search(r"[A-Za-z]{4}", tools[name].description), name
    top = [(h["doc_id"], h["page"]) for h in found["hits"][:3]]
    assert ("000160131", 3) in top
    hit = found["hits"][0]
    assert {"doc_id", "title", "page", "text", "url", "lang"} <= hit.keys()
    assert hit["url"].endswith(f"#page={hit['page']}")
    assert "費用" in page.contents[0].text
    # The scanned page as the picture it is, to check the OCR'd citation by eye.
    import base64

    import pymupdf

    png = base64.b64decode(image.contents[0].blob)
    assert png.startswith(b"\x89PNG") and image.contents[0].mime_type == "image/png"
    assert pymupdf.Pixmap(png).width == 800


def test_stdio_ask_cites_only_its_passages_and_bad_arguments_are_tool_errors(sample_index):
    async def session():
        async with Client(stdio_params(sample_index)) as client:
            answer = await client.call_tool("ask", {"query": FEE_QUESTION})
            bad = [await client.call_tool("search", args) for args in (
                {"query": ""}, {"query": "   "}, {"query": "x", "k": 0}, {"query": "x", "k": 1000},
                {"query": "x" * 2001}, {"k": 3}, {"query": 12})]
            unknown_page = None
            try:
                await client.read_resource("govqa://documents/000160131/pages/999")
            except Exception as exc:  # the SDK raises the server's error for a missing resource
                unknown_page = exc
            listed = await client.call_tool("list_documents", {})
            return answer, bad, unknown_page, listed

    answer, bad, unknown_page, listed = run(session())
    assert not answer.is_error
    data = answer.structured_content
    numbers = {c["n"] for c in data["citations"]}
    assert set(map(int, re.findall(r"\[(\d+)\]", data["answer"]))) <= numbers
    for citation in data["citations"]:
        hit = data["hits"][citation["n"] - 1]
        assert (hit["doc_id"], hit["page"]) == (citation["doc_id"], citation["page"])
    assert data["abstained"] or data["citations"]
    assert all(result.is_error for result in bad)
    assert unknown_page is not None and "999" in str(unknown_page)
    assert {d["doc_id"] for d in listed.structured_content["documents"]} >= {"000160131", "000159994"}


def test_stdio_on_a_missing_index_fails_with_one_line(tmp_path):
    import subprocess

    done = subprocess.run([sys.executable, "-m", "govqa.cli", "mcp", "--index-dir", str(tmp_path / "none")],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_http_mount_answers_with_the_sdk_client(sample_api_url):
    async def session():
        async with Client(f"{sample_api_url}/mcp") as client:
            names, found = await _tools_and_search(client, FEE_QUESTION)
            answer = await client.call_tool("ask", {"query": "Is there a fee to apply for MF registration?"})
            claims = await client.call_tool("support", {"text": "MF登録申請の提出先は独立行政法人医薬品医療機器総合機構である。"})
            bad = await client.call_tool("ask", {"query": "x", "k": -1})
            return names, found, answer, claims, bad

    names, found, answer, claims, bad = run(session())
    assert "search" in names
    assert ("000160131", 3) in [(h["doc_id"], h["page"]) for h in found["hits"][:3]]
    # On the server, a local file links to the server's own file route, never to a path on its disk.
    assert all(h["url"].startswith(("/documents/", "http")) for h in found["hits"])
    data = answer.structured_content
    assert set(map(int, re.findall(r"\[(\d+)\]", data["answer"]))) <= {c["n"] for c in data["citations"]}
    verdicts = claims.structured_content["claims"]
    assert verdicts and verdicts[0]["verdict"] in ("supported", "weak", "unsupported", "contradicted")
    assert bad.is_error


# With tokens: a collection the token may not read stays invisible through MCP too.
ZAISEI = {f"zaisei-{i}.txt": f"財政課の内部資料その{i}。ゼブラ計画の予備費は{i}億円とし、年度末に精算する。" for i in range(3)}
KOHO = {f"koho-{i}.txt": f"広報課のお知らせ{i}。ゼブラ計画の市民説明会を{i}月に開きます。" for i in range(3)}


@pytest.fixture(scope="module")
def two_collections(tmp_path_factory):
    from govqa.build import build_index
    from govqa.config import Settings
    from govqa.tokens import TokenStore

    root = tmp_path_factory.mktemp("mcp-collections")
    for folder, files in (("zaisei", ZAISEI), ("koho", KOHO)):
        (root / folder).mkdir()
        for name, text in files.items():
            (root / folder / name).write_text(text, encoding="utf-8")
    index_dir = root / "index"
    settings = Settings(index_dir=index_dir, manifest=root / "none.toml")
    build_index([root / "koho"], settings, collection="koho")
    build_index([root / "zaisei"], settings, collection="zaisei")
    store = TokenStore(index_dir)
    koho_reader = store.create("reader", ["koho"])
    admin = store.create("admin", None)
    return index_dir, _token(koho_reader), _token(admin)


def _token(created) -> str:
    return created[0] if isinstance(created, tuple) else created


async def _what_a_caller_sees(client: Client) -> dict:
    found = await client.call_tool("search", {"query": "ゼブラ計画の予備費", "k": 10})
    asked = await client.call_tool("search", {"query": "ゼブラ計画", "collections": ["zaisei"]})
    invented = await client.call_tool("search", {"query": "ゼブラ計画", "collections": ["kaikei"]})
    listed = await client.call_tool("list_documents", {})
    try:
        page = await client.read_resource("govqa://documents/zaisei-1/pages/1")
    except Exception as exc:
        page = exc
    return {"hits": {h["doc_id"] for h in found.structured_content["hits"]},
            "asked_error": asked.content[0].text if asked.is_error else None,
            "invented_error": invented.content[0].text if invented.is_error else None,
            "documents": {d["doc_id"] for d in listed.structured_content["documents"]},
            "page": page}


def _assert_koho_only(seen: dict) -> None:
    assert seen["hits"] and all(d.startswith("koho-") for d in seen["hits"])
    assert seen["documents"] == set(KOHO_IDS)
    # Another collection's name is answered like one that does not exist, its page like no page.
    assert seen["asked_error"] is not None
    assert seen["asked_error"].replace("zaisei", "NAME") == seen["invented_error"].replace("kaikei", "NAME")
    assert isinstance(seen["page"], Exception) and "財政" not in str(seen["page"])


KOHO_IDS = [f"koho-{i}" for i in range(3)]


def test_stdio_with_a_token_sees_only_its_collections(two_collections):
    index_dir, koho_reader, admin = two_collections

    async def session(token):
        async with Client(stdio_params(index_dir, GOVQA_TOKEN=token)) as client:
            return await _what_a_caller_sees(client)

    _assert_koho_only(run(session(koho_reader)))
    everything = run(session(admin))
    assert any(d.startswith("zaisei-") for d in everything["hits"])
    assert "財政課" in everything["page"].contents[0].text


def test_stdio_with_an_unknown_token_fails_with_one_line(two_collections):
    import subprocess

    index_dir, _, _ = two_collections
    done = subprocess.run([sys.executable, "-m", "govqa.cli", "mcp", "--index-dir", str(index_dir), "--token", "gq_nope"],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert done.returncode == 2 and "--token" in done.stderr and "Traceback" not in done.stderr


def _http_client(url: str, token: str | None) -> Client:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client(streamable_http_client(url, http_client=httpx2.AsyncClient(headers=headers, timeout=120)))


def test_http_with_tokens_hides_other_collections_and_refuses_no_token(two_collections):
    import httpx

    from apiserver import serve

    index_dir, koho_reader, admin = two_collections

    async def session(url, token):
        async with _http_client(f"{url}/mcp", token) as client:
            return await _what_a_caller_sees(client)

    for url in serve(index_dir):
        _assert_koho_only(run(session(url, koho_reader)))
        everything = run(session(url, admin))
        assert any(d.startswith("zaisei-") for d in everything["hits"])
        # No token, no MCP: the same 401 as every other route.
        refused = httpx.post(f"{url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                             headers={"Accept": "application/json, text/event-stream"})
        assert refused.status_code == 401
