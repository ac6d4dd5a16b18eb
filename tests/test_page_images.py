"""Where a passage sits on its page (boxes in hits), and the page-image route, against live servers."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import httpx
import pymupdf
import pytest
from apiserver import LiveServer
from pagetruth import as_lines, iou, text_layer_rects
from viewercorpus import HTML_PASSAGE, make_viewer_corpus

from govqa.build import build_index
from govqa.config import Settings
from govqa.engine import Engine
from govqa.store import current_generation


def search(url: str, query: str, **extra) -> list[dict]:
    response = httpx.post(url + "/search", json={"query": query, "k": 5}, timeout=120, **extra)
    assert response.status_code == 200, response.text
    return response.json()["hits"]


def test_hits_carry_the_passage_rectangles_on_its_page(viewer_url, viewer_index):
    hit = search(viewer_url, "mooring fee per year")[0]
    assert hit["doc_id"] == "harbour-rules" and hit["page"] == 2
    assert hit["boxes"], "a text PDF's passage has rectangles"
    for x0, y0, x1, y1 in hit["boxes"]:
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
    record = Engine.open(Settings(index_dir=viewer_index)).document(hit["doc_id"])
    with pymupdf.open(record.file) as doc:
        truth = as_lines(text_layer_rects(doc[hit["page"] - 1], hit["text"]))
    assert iou(hit["boxes"], truth) >= 0.8
    assert hit["image_url"] == f"/documents/harbour-rules/pages/2/image" and hit["pages"] == 3

    html = search(viewer_url, "bicycle parking permits renewed")[0]
    assert HTML_PASSAGE in html["text"] and html["boxes"] == [] and html["image_url"] is None


def test_the_sample_scans_have_boxes_too(sample_engine):
    for doc_id in ("000160131", "000161338"):  # scanned: the OCR's word boxes place their passages
        hits = [h for h in sample_engine.search("MF登録申請に費用はかかりますか", k=10) if h.doc_id == doc_id]
        assert hits and all(h.boxes for h in hits)


def test_a_page_image_is_rendered_cached_and_served_again(viewer_url, viewer_index):
    url = viewer_url + "/documents/harbour-rules/pages/1/image?width=640"
    first = httpx.get(url, timeout=60)
    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    pixmap = pymupdf.Pixmap(first.content)
    assert pixmap.width == 640 and pixmap.height == round(640 * 842 / 595)
    cached = list((viewer_index / "cache" / "page-images").glob("*-1-640.png"))
    assert len(cached) == 1 and cached[0].read_bytes() == first.content
    again = httpx.get(url, timeout=60)
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    head = httpx.head(url, timeout=60)
    assert head.status_code == 200 and head.headers["content-type"] == "image/png" and head.content == b""


@pytest.mark.parametrize("path, status", [
    ("/documents/harbour-rules/pages/1/image?width=0", 422),
    ("/documents/harbour-rules/pages/1/image?width=1000000", 422),
    ("/documents/harbour-rules/pages/1/image?width=199", 422),
    ("/documents/harbour-rules/pages/1/image?width=-5", 422),
    ("/documents/harbour-rules/pages/1/image?width=abc", 422),
    ("/documents/harbour-rules/pages/1/image?width=1e3", 422),
    ("/documents/harbour-rules/pages/0/image", 404),
    ("/documents/harbour-rules/pages/4/image", 404),
    ("/documents/harbour-rules/pages/1000000000/image", 404),
    ("/documents/harbour-rules/pages/99999999999999999999999/image", 404),
    ("/documents/harbour-rules/pages/-1/image", 404),
    ("/documents/harbour-rules/pages/one/image", 422),
    ("/documents/no-such-doc/pages/1/image", 404),
    ("/documents/bicycles/pages/1/image", 404),  # an HTML source has no page images
    ("/documents/..%2F..%2Fetc%2Fpasswd/pages/1/image", 404),
    ("/documents/%2e%2e/pages/1/image", 404),
    ("/documents/harbour-rules/pages/1/..%2F..%2F..%2Fetc%2Fpasswd", 404),
    ("/documents/harbour-rules%00/pages/1/image", 404),
])
def test_hostile_page_image_requests_get_a_4xx_with_a_reason(viewer_url, path, status):
    response = httpx.get(viewer_url + path, timeout=60)
    assert response.status_code == status, response.text
    assert response.json()["detail"]


def test_concurrent_first_renders_give_one_correct_image_and_no_half_file(viewer_url, viewer_index):
    url = viewer_url + "/documents/harbour-rules/pages/3/image?width=1400"
    results: list[httpx.Response] = []
    barrier = threading.Barrier(12)

    def fetch() -> None:
        barrier.wait()
        results.append(httpx.get(url, timeout=120))

    threads = [threading.Thread(target=fetch) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [200] * 12
    assert len({r.content for r in results}) == 1
    assert pymupdf.Pixmap(results[0].content).width == 1400
    folder = viewer_index / "cache" / "page-images"
    assert len(list(folder.glob("*-3-1400.png"))) == 1
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")], "no temporary file is left behind"


def test_with_an_api_key_image_links_are_signed_per_document(viewer_index):
    from api.app import create_app

    key = "page-image-key"
    server = LiveServer(create_app(Settings(index_dir=viewer_index, api_key=key))).start()
    try:
        hit = search(server.url, "mooring fee per year", headers={"Authorization": f"Bearer {key}"})[0]
        signed = server.url + hit["image_url"] + "&width=300"
        assert "sig=" in signed
        assert httpx.get(signed, timeout=60).status_code == 200  # no header: the signature opens it
        other_page = signed.replace("/pages/2/", "/pages/1/")
        assert httpx.get(other_page, timeout=60).status_code == 200  # the viewer turns pages with the same link
        plain = server.url + "/documents/harbour-rules/pages/2/image"
        assert httpx.get(plain, timeout=60).status_code == 401
        assert httpx.get(signed.replace("sig=", "sig=0"), timeout=60).status_code == 401
        other_doc = signed.replace("/documents/harbour-rules/", "/documents/bicycles/")
        assert httpx.get(other_doc, timeout=60).status_code == 401  # a signature is for one document
    finally:
        server.stop()


def test_an_index_without_boxes_still_answers_and_gets_them_on_the_next_index_run(tmp_path):
    corpus = make_viewer_corpus(tmp_path / "corpus")
    settings = Settings(index_dir=tmp_path / "index", manifest=tmp_path / "none.toml")
    build_index([corpus], settings)
    db = sqlite3.connect(current_generation(settings.index_dir) / "store.sqlite")
    db.execute("DROP TABLE chunk_boxes")  # as an index written before boxes existed
    db.commit()
    db.close()
    assert [h.boxes for h in Engine.open(settings).search("mooring fee", k=3)] == [[], [], []]

    events: list[str] = []
    report = build_index([corpus], settings, on_event=events.append)
    assert report.embedded == 0, "the upgrade re-embeds nothing"
    assert any(e.startswith("index upgraded: passage positions") for e in events)
    hits = Engine.open(settings).search("mooring fee", k=3)
    assert hits[0].boxes and hits[0].doc_id == "harbour-rules"


def test_a_scanned_page_gets_boxes_from_the_ocr_that_indexed_it(tmp_path):
    from govqa.parse import ocr_available

    if not ocr_available("jpn+eng"):
        pytest.skip("Tesseract with jpn+eng is not installed")
    text = make_viewer_corpus(tmp_path / "text") / "harbour-rules.pdf"
    scan = tmp_path / "scan" / "scanned-rules.pdf"
    scan.parent.mkdir()
    with pymupdf.open(text) as source, pymupdf.open() as out:  # page 2 as a picture only: a scan
        picture = source[1].get_pixmap(dpi=200)
        page = out.new_page(width=source[1].rect.width, height=source[1].rect.height)
        page.insert_image(page.rect, pixmap=picture)
        out.save(scan)
    settings = Settings(index_dir=tmp_path / "index", manifest=tmp_path / "none.toml")
    build_index([scan.parent], settings)
    engine = Engine.open(settings)
    assert engine.document("scanned-rules").ocr_pages == [1]
    db = sqlite3.connect(settings.index_dir / "cache" / "pages.sqlite")
    parsed = [json.loads(doc) for (doc,) in db.execute("SELECT doc FROM docs")]
    db.close()
    assert parsed[0]["pages"][0]["glyphs"], "the parse kept its OCR's boxes: the positions need no second OCR"
    hit = engine.search("mooring fee per year", k=1)[0]
    with pymupdf.open(text) as source:
        truth = as_lines(text_layer_rects(source[1], hit.text))  # where the words are on the original page
    # OCR boxes hug the ink, the font's boxes are taller: the same lines, not the same heights.
    assert len(hit.boxes) == len(truth) and iou(hit.boxes, truth) >= 0.6
    for (x0, y0, x1, y1), (t0, u0, t1, u1) in zip(hit.boxes, truth):
        assert t0 <= (x0 + x1) / 2 <= t1 and u0 <= (y0 + y1) / 2 <= u1
        assert min(x1, t1) - max(x0, t0) >= 0.9 * (t1 - t0)
