"""Near-duplicate pages in an index: pairs of pages whose character 5-gram sets overlap by more than
--jaccard (pages under --min-chars characters skipped), and how many of the pairs cross documents.

    python bench/near_duplicates.py --index-dir IDX [--jaccard 0.5] [--min-chars 200]

Issue 14 names near-duplicate pages across documents as a lever (collapse them, or rank them by
page-level evidence); this counts how much a corpus has of them before anything is built for it.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from govqa.config import Settings
from govqa.engine import Engine

COMMON = 30  # a 5-gram on more pages than this (a running header) says nothing about duplication


def shingles(text: str) -> set[str]:
    compact = re.sub(r"\s+", "", text)
    return {compact[i:i + 5] for i in range(len(compact) - 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--jaccard", type=float, default=0.5)
    parser.add_argument("--min-chars", type=int, default=200)
    args = parser.parse_args()
    engine = Engine.open(Settings(index_dir=args.index_dir))
    pages = [((record.doc_id, page.page), shingles(page.text)) for record in engine.documents()
             for page in engine.reader.pages_of(record.doc_id) if len(re.sub(r"\s+", "", page.text)) >= args.min_chars]
    holders: dict[str, set[int]] = defaultdict(set)
    for i, (_, grams) in enumerate(pages):
        for gram in grams:
            holders[gram].add(i)
    shared: Counter = Counter()
    for rows in holders.values():
        if len(rows) <= COMMON:
            shared.update(itertools.combinations(sorted(rows), 2))
    pairs = sorted(((n / len(pages[a][1] | pages[b][1]), pages[a][0], pages[b][0]) for (a, b), n in shared.items()
                    if n / len(pages[a][1] | pages[b][1]) > args.jaccard), reverse=True)
    across = [p for p in pairs if p[1][0] != p[2][0]]
    print(f"{len(pages)} pages of at least {args.min_chars} characters; {len(pairs)} near-duplicate pairs "
          f"(5-gram Jaccard > {args.jaccard}), {len(across)} across documents")
    for score, a, b in pairs[:20]:
        print(f"  {score:.2f}  {a[0]} p.{a[1]}  ~  {b[0]} p.{b[1]}{'  (across documents)' if a[0] != b[0] else ''}")


if __name__ == "__main__":
    main()
