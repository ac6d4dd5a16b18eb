"""Broken and hostile inputs: one line naming the file and the reason, the run goes on, nothing hangs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile import (
    GOOD_TEXT,
    broken_font_pdf,
    hostile_folder,
    image_page_pdf,
    many_pages_pdf,
    text_pdf,
)

from govqa.config import Settings
from govqa.engine import Engine
from govqa.errors import ParseError
from govqa.isolate import _death, parse_isolated

REASONS = {
    "truncated.pdf": "damaged",
    "empty.pdf": "empty file",
    "webpage.pdf": "not a PDF (looks like HTML)",
    "random.pdf": "not a PDF",
    "header-then-noise.pdf": "damaged PDF",
    "encrypted.pdf": "encrypted PDF (password required)",
}


def govqa(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "govqa.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "COLUMNS": "300"}, timeout=900)


def parse(path: Path, **limits) -> object:
    limits = {"timeout": 300, "memory_mb": 4096, **limits}
    warnings: list[str] = []
    return parse_isolated(path, ocr_lang="jpn+eng", ocr_dpi=300, warn=warnings.append, **limits), warnings


def test_a_folder_of_broken_pdfs_indexes_the_good_one_and_names_each_bad_one(tmp_path):
    folder = tmp_path / "dropbox"
    hostile_folder(folder)
    index_dir = tmp_path / "index"

    result = govqa("index", str(folder), str(tmp_path / "no-such-folder"), "--skip-missing",
                   "--index-dir", str(index_dir), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    for name, reason in REASONS.items():
        mentions = [line for line in lines if name in line]
        assert len(mentions) == 1, (name, mentions)
        assert mentions[0].startswith(f"skip {folder / name}: {reason}"), mentions[0]
    assert [line for line in lines if "no-such-folder" in line] == [
        f"skip {tmp_path / 'no-such-folder'}: no such file or folder"]
    assert "indexed 1 documents" in result.stderr and f"{len(REASONS)} file(s) skipped" in result.stderr
    engine = Engine.open(Settings(index_dir=index_dir))
    assert [d.doc_id for d in engine.documents()] == ["good"]
    assert engine.search("When can I bring batteries to the recycling centre?", k=1)[0].text == GOOD_TEXT


def test_paths_that_do_not_exist_are_one_line_and_a_non_zero_exit(tmp_path):
    result = govqa("index", str(tmp_path / "nowhere"), "--index-dir", str(tmp_path / "index"), cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert f"{tmp_path / 'nowhere'}: no such file or folder" in result.stderr
    assert "nothing was indexed" in result.stderr


def test_a_file_that_takes_too_long_is_stopped_and_named(tmp_path):
    pdf = many_pages_pdf(tmp_path / "annex.pdf", 3000)
    with pytest.raises(ParseError) as caught:
        parse(pdf, timeout=0.2)
    assert caught.value.path == str(pdf)
    assert "took longer than 0.2 s" in caught.value.reason and "GOVQA_PARSE_TIMEOUT" in caught.value.reason


def test_thousands_of_pages_are_read_within_the_default_limits(tmp_path):
    doc, warnings = parse(many_pages_pdf(tmp_path / "annex.pdf", 3000))
    assert [p.page for p in doc.pages] == list(range(1, 3001))
    assert "Annex 2999" in doc.pages[2998].text


def test_a_page_too_big_to_render_costs_that_page_only(tmp_path):
    # A 3000-point page would be a 12,500-pixel square at 300 dpi for OCR: past a 1 GB limit.
    pdf = image_page_pdf(tmp_path / "poster.pdf", page_points=3000, pixels=2000)
    doc, warnings = parse(pdf, memory_mb=1024)
    assert [p.page for p in doc.pages] == [1] and doc.unindexed_pages == [1]
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert "poster.pdf" in warnings[0] or "Tesseract" in warnings[0]


def test_a_huge_image_on_a_normal_page_is_read(tmp_path):
    pdf = image_page_pdf(tmp_path / "scan.pdf", page_points=595, pixels=20000)  # 400 megapixels, 400 KB on disk
    doc, warnings = parse(pdf)
    assert [p.page for p in doc.pages] == [1]
    assert all("\n" not in w for w in warnings)


def test_the_memory_limit_stops_a_parser_that_needs_more(tmp_path):
    pdf = image_page_pdf(tmp_path / "scan.pdf", page_points=595, pixels=20000)
    try:
        doc, warnings = parse(pdf, memory_mb=250)
    except ParseError as exc:  # the whole file needed more
        assert "needed more than 250 MB" in exc.reason and "GOVQA_PARSE_MEMORY_MB" in exc.reason
    else:  # or only its OCR did, and the page is left out with a reason
        assert doc.unindexed_pages == [1]
        assert any("scan.pdf" in w and "memory" in w for w in warnings) or any("Tesseract" in w for w in warnings)


def test_a_malformed_embedded_font_does_not_lose_the_text(tmp_path):
    doc, warnings = parse(broken_font_pdf(tmp_path / "font.pdf"))
    assert "recycling centre" in doc.pages[0].text


def test_html_with_scripts_and_huge_inline_data_gives_its_text_only(tmp_path):
    blob = "A" * 3_000_000
    page = (f"<html><head><title>Ward office notice</title><script>var leak = 'SCRIPT-ONLY-TEXT'; var d = '{blob}';"
            f"</script><style>body {{background: url(data:image/png;base64,{blob})}}</style></head><body>"
            f"<article><h1>Ward office notice</h1><p>{GOOD_TEXT}</p><img src='data:image/png;base64,{blob}'>"
            f"<script>document.write('SCRIPT-ONLY-TEXT')</script></article></body></html>")
    path = tmp_path / "notice.html"
    path.write_text(page, encoding="utf-8")
    doc, warnings = parse(path)
    text = "\n".join(p.text for p in doc.pages)
    assert "recycling centre" in text
    assert "SCRIPT-ONLY-TEXT" not in text and "AAAAAAAA" not in text


@pytest.mark.parametrize("data", [
    "登録申請の手数料について".encode("cp932") + b"\x82\xff\xfe\x00\x81",  # Shift_JIS cut mid-character
    b"\xff\xfe" + "手数料".encode("utf-16-le"),
    "Caf\u00e9 r\u00e9sum\u00e9".encode("latin-1") + bytes(range(256)),
])
def test_text_files_in_any_encoding_or_none_give_a_document(tmp_path, data):
    path = tmp_path / "memo.txt"
    path.write_bytes(data)
    doc, warnings = parse(path)
    assert len(doc.pages) == 1


def test_a_crashed_parser_is_named_as_such():
    assert _death(-11) == "the parser crashed on this file (SIGSEGV)"
    assert _death(-9) == "the parser crashed on this file (SIGKILL)"
    assert "exit code 3" in _death(3)


def test_without_limits_files_are_parsed_in_this_process(tmp_path):
    doc, warnings = parse(text_pdf(tmp_path / "good.pdf", [GOOD_TEXT]), timeout=0, memory_mb=0)
    assert doc.pages[0].text.startswith("The recycling centre")
