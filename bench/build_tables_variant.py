"""Rebuild an index with another way of indexing PDF tables' rows, for `bench/eval_sets.py`.

    python bench/build_tables_variant.py OUT_DIR --from-index IDX --docs FOLDER --tables off|figures|text|pages

The caches (parse, OCR, embeddings) are copied from --from-index, so only what the variant
changes is embedded. `figures` is the default (rows of tables with figures, appended to their
page's text: chunked, embedded, BM25); `off` leaves pages as the parser read them; `text` adds
tables without figures too (header = first row); `pages` gives the rows to the page-level BM25
only (no new passages, nothing embedded).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from govqa import build, pagetables, pdftables  # noqa: E402
from govqa.config import Settings  # noqa: E402


def rows_for_pages_only() -> None:
    """The rows reach build_page_lexical's page texts, not the pages that are chunked."""
    extra: dict[tuple[str, int], str] = {}
    add_rows, page_lexical = pagetables.add_table_rows, build.build_page_lexical

    def collect(records, pages, fresh, cache_path, event, previous=None):
        copies = {d: [replace(p) for p in pages[d]] for d in fresh if d in pages}
        add_rows(records, copies, fresh, cache_path, event, previous)
        for doc_id, doc_pages in copies.items():
            for before, after in zip(pages[doc_id], doc_pages):
                if after.text != before.text:
                    extra[doc_id, before.page] = after.text

    def with_rows(pages, records, chunks, cache):
        texts = {d: [replace(p, text=extra.get((d, p.page), p.text)) for p in pages[d]] for d in pages}
        return page_lexical(texts, records, chunks, cache)

    build.add_table_rows, build.build_page_lexical = collect, with_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--from-index", type=Path, required=True)
    parser.add_argument("--docs", type=Path, required=True)
    parser.add_argument("--tables", choices=("off", "figures", "text", "pages"), default="figures")
    args = parser.parse_args()
    if args.out.exists():
        sys.exit(f"{args.out} exists; choose a new folder")
    shutil.copytree(args.from_index / "cache", args.out / "cache")
    pagetables.ENABLED = args.tables != "off"
    pdftables.FIGURES_ONLY = args.tables != "text"
    if args.tables == "pages":
        rows_for_pages_only()
    report = build.build_index([args.docs], Settings(index_dir=args.out))
    print(report.summary())


if __name__ == "__main__":
    main()
