"""A small corpus for the citation viewer's tests: a text PDF, an HTML page and a text file, indexed
into an index of its own (so the shared test corpus stays as other tests expect it), served live."""

from __future__ import annotations

from pathlib import Path

import pytest
from apiserver import serve, write_pdf

HTML_PASSAGE = "Bicycle parking permits are renewed every spring at the ward office."
TEXT_PASSAGE = "Snow removal on municipal roads starts when ten centimetres have fallen."


def make_viewer_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_pdf(folder / "harbour-rules.pdf", [
        ("Harbour rules. Mooring permits for small boats are issued by the harbour master for one year. "
         "A permit must be displayed on the boat at all times."),
        ("Fees. The mooring fee is 12,000 yen a year, payable in April. "
         "Boats left without a permit are removed after thirty days' notice."),
        "Contact. The harbour office is open from 8:30 to 17:15 on weekdays.",
    ])
    (folder / "bicycles.html").write_text(
        f"<html><head><title>Bicycle parking</title></head><body><h1>Bicycle parking</h1>"
        f"<p>Residents may park at the station.</p><p>{HTML_PASSAGE}</p>"
        f"<p>Unregistered bicycles are removed after two weeks.</p></body></html>", encoding="utf-8")
    (folder / "snow.txt").write_text(f"Winter roads\n\n{TEXT_PASSAGE}\nSidewalks are cleared by residents.\n",
                                     encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def viewer_index(tmp_path_factory) -> Path:
    from govqa.build import build_index
    from govqa.config import Settings

    root = tmp_path_factory.mktemp("viewer")
    index_dir = root / "index"
    build_index([make_viewer_corpus(root / "corpus")], Settings(index_dir=index_dir, manifest=root / "none.toml"))
    return index_dir


@pytest.fixture(scope="session")
def viewer_url(viewer_index: Path):
    yield from serve(viewer_index)
