"""Does the citation check keep a correct English sentence that cites a Japanese passage?

    python bench/cross_support.py --index-dir INDEX [eval/cross-support.jsonl ...]

Each English claim (a faithful translation of what its gold page says, written for an English
question of eval/mhlw.jsonl) is checked against every passage retrieved for its question, as
if an answer cited it: the gold page's passages should be kept (recall), the others, mostly
same-topic passages of the same Q&A series, should not (the negatives are noisy: some of them
say the same thing). Prints the share kept by citations.SupportPolicy and by the rules it was
compared with: fixed cosine thresholds, and one that also accepts a lower cosine when the
claim's words, translated by the shipped English -> Japanese lexicon, are found in the passage.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from govqa.citations import CitationChecker, SupportPolicy
from govqa.config import Settings
from govqa.engine import Engine
from govqa.lang import detect_lang


def lexicon_coverage(engine: Engine, claim: str, passage: str) -> float:
    """Share of the claim's translated content words (weighted) that occur in the passage."""
    reader = engine.reader
    terms = engine._lexicon().translate(claim, reader.lexical, reader.tokenizer)
    if not terms:
        return 0.0
    words = set(reader.tokenizer(passage))
    return sum(w for t, w in terms.items() if t in words) / sum(terms.values())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("claims", nargs="*", default=["eval/dev-support.jsonl", "eval/cross-support.jsonl"])
    parser.add_argument("--index-dir", type=Path, default=Path("index"))
    parser.add_argument("-k", type=int, default=8)
    parser.add_argument("--dump", type=Path, help="append the pairs as JSON lines, to try other rules offline")
    args = parser.parse_args()
    engine = Engine.open(Settings(index_dir=args.index_dir))
    policy = SupportPolicy()
    for name in args.claims:
        rows = [json.loads(line) for line in Path(name).read_text().splitlines() if line.strip()]
        pairs = []
        for row in rows:
            if detect_lang(row["claim"]) != "en":
                continue
            hits = engine.search(row["query"], k=args.k)
            checker = CitationChecker(hits, engine.embedder, engine.reader.tokenizer)
            gold = {tuple(p) for p in row["supported_by"]}
            for n, hit in enumerate(hits, 1):
                if hit.lang != "ja":
                    continue
                cosine = checker.best_cosine(row["claim"], n)
                coverage = lexicon_coverage(engine, row["claim"], hit.text)
                pairs.append(((hit.doc_id, hit.page) in gold, cosine, coverage, row["claim"], hit.doc_id, hit.page,
                              checker.support(row["claim"], n).ok))
        if args.dump:
            with args.dump.open("a") as fh:
                fh.write(json.dumps({"file": name, "pairs": pairs}, ensure_ascii=False) + "\n")
        claims_with_gold = {p[3] for p in pairs if p[0]}
        print(f"\n== {name}: {len({p[3] for p in pairs})} English claims, {len(claims_with_gold)} with their gold "
              f"page retrieved; {sum(p[0] for p in pairs)} positive and {sum(not p[0] for p in pairs)} negative pairs")
        for label, rule in variants(policy).items():
            kept_pos = [p for p in pairs if p[0] and rule(p)]
            kept_neg = [p for p in pairs if not p[0] and rule(p)]
            claims_kept = {p[3] for p in kept_pos}
            print(f"  {label:52s} positives kept {len(kept_pos)}/{sum(p[0] for p in pairs)}, "
                  f"claims keeping a gold citation {len(claims_kept)}/{len(claims_with_gold)}, "
                  f"negatives kept {len(kept_neg)}/{sum(not p[0] for p in pairs)}")
        for gold, cosine, coverage, claim, doc_id, page, _ in sorted(pairs, key=lambda p: (not p[0], -p[1]))[:60]:
            print(f"    {'GOLD' if gold else 'neg '} cos {cosine:.3f} lex {coverage:.2f} {doc_id} p{page} {claim[:70]}")


def variants(policy: SupportPolicy) -> dict:
    return {
        "citations.SupportPolicy (closest passage, within margin)": lambda p: p[6],
        "cosine >= 0.85 (shipped until this measurement)": lambda p: p[1] >= 0.85,
        "cosine >= 0.83": lambda p: p[1] >= 0.83,
        "cosine >= 0.85 or (>= 0.82 and lexicon >= 0.5)": lambda p: p[1] >= 0.85 or (p[1] >= 0.82 and p[2] >= 0.5),
    }


if __name__ == "__main__":
    main()
