"""Measure the citation support check: word overlap and cosine of claims vs cited passages.

    python bench/calibrate_support.py --index-dir INDEX [eval/dev-support.jsonl]

Each dev claim is paired with every passage retrieved for its query: pairs whose page is in
`supported_by` are positives, the others negatives (same-topic passages, the hard case).
Prints words and best-sentence cosine per pair and the outcome of SupportPolicy in
citations.py. The negatives are noisy: passages of one Q&A series repeat each other, so
some "negatives" do support the claim.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from govqa.citations import CitationChecker
from govqa.config import Settings
from govqa.engine import Engine
from govqa.lang import detect_lang


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("claims", nargs="?", default="eval/dev-support.jsonl")
    parser.add_argument("--index-dir", type=Path, default=Path("index"))
    parser.add_argument("-k", type=int, default=8)
    args = parser.parse_args()
    engine = Engine.open(Settings(index_dir=args.index_dir))
    rows = [json.loads(line) for line in Path(args.claims).read_text().splitlines() if line.strip()]
    results: dict[str, list] = {"positive": [], "negative": []}
    for row in rows:
        hits = engine.search(row["query"], k=args.k)
        checker = CitationChecker(hits, engine.embedder, engine.reader.tokenizer)
        gold = {tuple(p) for p in row["supported_by"]}
        for n, hit in enumerate(hits, 1):
            support = checker.support(row["claim"], n)
            lexical, ok = support.words, support.ok
            cosine = support.cosine if support.cosine is not None else checker.best_cosine(row["claim"], n)
            group = "positive" if (hit.doc_id, hit.page) in gold else "negative"
            results[group].append((lexical, cosine, ok, row["claim"], hit.doc_id, hit.page))
    for group, pairs in results.items():
        print(f"\n== {group} pairs (n={len(pairs)})")
        for lexical, cosine, ok, claim, doc_id, page in sorted(pairs, key=lambda p: -p[1]):
            verdict = "KEEP" if ok else "drop"
            print(f"  words {lexical:.2f}  cosine {cosine:.4f}  {verdict}  {doc_id} p{page}  {claim[:60]}")
        for lang in ("ja", "en"):
            some = [p for p in pairs if detect_lang(p[3]) == lang]
            print(f"  {lang} claims: kept {sum(p[2] for p in some)}/{len(some)}")


if __name__ == "__main__":
    main()
