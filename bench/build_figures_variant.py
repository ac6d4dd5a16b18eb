"""Rebuild an index with other thresholds for the text read inside figures, for `bench/eval_sets.py`.

    python bench/build_figures_variant.py OUT_DIR --from-index IDX --docs FOLDER \
        [--off] [--min-image-share 0.1] [--max-text-cover 0.1] [--min-word-conf 60]

The caches (parse, OCR of scans and of figures, tables, embeddings) are copied from --from-index,
so only the pictures a variant newly reads are OCR'd and only the passages it changes are embedded.
The region thresholds are part of figures.py's cache key; the words of a picture are cached by its
rectangle, shared by every variant that finds it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from govqa import build, figures  # noqa: E402
from govqa.config import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--from-index", type=Path, required=True)
    parser.add_argument("--docs", type=Path, required=True)
    parser.add_argument("--off", action="store_true", help="no text from figures at all")
    parser.add_argument("--min-image-share", type=float, default=figures.MIN_IMAGE_SHARE)
    parser.add_argument("--max-text-cover", type=float, default=figures.MAX_TEXT_COVER)
    parser.add_argument("--min-word-conf", type=float, default=figures.MIN_WORD_CONF)
    args = parser.parse_args()
    if args.out.exists():
        sys.exit(f"{args.out} exists; choose a new folder")
    shutil.copytree(args.from_index / "cache", args.out / "cache")
    figures.MIN_IMAGE_SHARE = args.min_image_share
    figures.MAX_TEXT_COVER = args.max_text_cover
    figures.MIN_WORD_CONF = args.min_word_conf
    messages: list[str] = []
    report = build.build_index([args.docs], Settings(index_dir=args.out, figure_ocr=not args.off),
                               on_event=messages.append)
    print("\n".join(m for m in messages if "picture" in m or "figures" in m))
    print(report.summary())


if __name__ == "__main__":
    main()
