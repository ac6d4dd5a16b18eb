"""Authors' pictures: `govqa search --png DIR` and `govqa support --report DIR` crop each passage's page
region with the passage marked, and the Markdown links them."""

from __future__ import annotations

import re
from pathlib import Path

import pymupdf
from test_support import run_cli


def linked_pictures(markdown: Path) -> list[Path]:
    return [markdown.parent / name for name in re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", markdown.read_text("utf-8"))]


def test_search_png_writes_a_marked_crop_per_pdf_hit(viewer_index, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "pictures"
    code, _, err = run_cli(monkeypatch, capsys, "search", "mooring fee per year", "-k", "5", "--png", str(folder),
                           "--index-dir", str(viewer_index))
    assert code == 0 and "hits.md" in err
    pictures = linked_pictures(folder / "hits.md")
    assert pictures and all(p.is_file() for p in pictures)
    assert pictures[0].name == "01-harbour-rules-p2.png"
    crop = pymupdf.Pixmap(str(pictures[0]))
    assert crop.width == 2 * 595 and crop.height < 842, "the page's full width, only the passage's height"
    # The passage is drawn over in the marking colour: many pixels are the highlight's yellow.
    samples = crop.samples
    yellow = sum(1 for i in range(0, len(samples), 3 * 7)
                 if samples[i] > 230 and samples[i + 1] > 215 and samples[i + 2] < 200)
    assert yellow > 100
    assert "(no page picture: not a PDF page)" in (folder / "hits.md").read_text("utf-8")  # the HTML and text hits


def test_support_report_in_a_folder_links_a_picture_per_quoted_passage(sample_index, tmp_path, monkeypatch, capsys):
    article = tmp_path / "claims.md"
    article.write_text("# Claims\n\nMF登録申請には費用がかからない。\n", encoding="utf-8")
    report = tmp_path / "report"
    code, _, err = run_cli(monkeypatch, capsys, "support", str(article), "--report", str(report),
                           "--index-dir", str(sample_index))
    assert code == 0 and str(report / "report.md") in err
    pictures = linked_pictures(report / "report.md")
    assert pictures and all(p.is_file() and p.parent == report / "images" for p in pictures)
    assert any(p.name.startswith("c01-1-000160131-p3") for p in pictures)  # the scanned page that answers it


def test_a_report_path_that_cannot_be_written_is_one_line(viewer_index, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run_cli(monkeypatch, capsys, "search", "mooring fee", "--png", str(blocker / "sub"),
                           "--index-dir", str(viewer_index))
    assert code != 0 and err.strip().startswith("error:") and "--png" in err and len(err.strip().splitlines()) == 1
