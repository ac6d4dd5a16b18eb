"""Build the sample index (or another folder's) with another chunk policy or embedded context, for `govqa eval
--compare` or bench/eval_sets.py.

    python bench/build_variant.py OUT_DIR [--target 400 --maximum 600 --overlap 80] [--context none|heading|title]
        [--from-index /tmp/eval-index] [--samples ../shared/samples/allganize-dev/pdfs]

The parse cache (OCR included) is copied from --from-index, so only chunking and embedding
are redone. `--context heading` is the embedded text before issue 6 (heading + passage),
`title` puts the document title first too, `none` is the default now (the passage alone).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from govqa import build, buildembed
from govqa.chunk import ChunkPolicy
from govqa.config import Settings


def with_context(kind: str):
    def embed_text(chunk) -> str:
        heading = chunk.heading if chunk.heading and chunk.heading not in chunk.text else ""
        parts = {"none": [], "heading": [heading], "title": [chunk.title, heading]}[kind]
        return "\n".join(p for p in [*parts, chunk.text] if p)
    return embed_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--target", type=int, default=400)
    parser.add_argument("--maximum", type=int, default=600)
    parser.add_argument("--overlap", type=int, default=80)
    parser.add_argument("--context", choices=("none", "heading", "title"), default="none")
    parser.add_argument("--from-index", type=Path, default=Path("/tmp/eval-index"))
    parser.add_argument("--samples", type=Path, default=Path(__file__).resolve().parents[2] / "shared/samples/mhlw")
    args = parser.parse_args()
    if args.out.exists():
        sys.exit(f"{args.out} exists; choose a new folder")
    if (args.from_index / "cache").is_dir():
        shutil.copytree(args.from_index / "cache", args.out / "cache")
    buildembed.embed_text = with_context(args.context)
    policy = ChunkPolicy(target=args.target, maximum=args.maximum, overlap=args.overlap)
    report = build.build_index([args.samples], Settings(index_dir=args.out, manifest=Path("/nonexistent")), policy=policy)
    print(report.summary())


if __name__ == "__main__":
    main()
