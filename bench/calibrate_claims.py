"""Calibrate `govqa support`'s verdict thresholds (SupportPolicy in support.py) on eval/mhlw-claims.jsonl.

    govqa index ../shared/samples/mhlw --index-dir /tmp/eval-index
    python bench/calibrate_claims.py --index-dir /tmp/eval-index

Per claim: the support score and verdict under the current SupportPolicy, and whether a gold
page is among the first three passages. Then the score range of each group (positives, near
misses — in-domain claims the documents do not make — and off-topic claims) per language, and
the same ranges under other dense weights, to show how the thresholds were chosen.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from govqa.claims import Claim
from govqa.config import Settings
from govqa.engine import Engine
from govqa.support import SupportChecker


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index-dir", type=Path, default=Path("/tmp/eval-index"))
    parser.add_argument("--claims", type=Path, default=Path("eval/mhlw-claims.jsonl"))
    args = parser.parse_args()
    engine = Engine.open(Settings(index_dir=args.index_dir))
    checker = SupportChecker(engine)
    rows, top3 = [], []
    for n, line in enumerate(args.claims.read_text(encoding="utf-8").splitlines(), start=1):
        item = json.loads(line)
        result = checker.check(Claim(n=n, text=item["claim"], query=item["claim"]))
        gold = {(g["doc_id"], g["page"]) for g in item["relevant"]}
        group = "positive" if gold else "near miss" if item.get("near_miss") else "off topic"
        found = ""
        if gold:
            top3.append((item["lang"], any((h.doc_id, h.page) in gold for h in result.passages[:3])))
            found = "top3" if top3[-1][1] else "MISS"
        hits = checker.engine.search(item["claim"], k=checker.policy.pool)
        rows.append((group, item["lang"], checker.features(item["claim"], hits)))
        print(f"{group:9} {item['lang']} score={result.score:.3f} {result.verdict:11} {found:4} {item['claim'][:50]}")
    for lang in sorted({lang for lang, _ in top3}):
        found = [ok for l, ok in top3 if l == lang]
        print(f"top-3 page rate, {lang} claims: {sum(found)}/{len(found)} = {sum(found) / len(found):.3f}")
    policy = checker.policy
    print(f"thresholds: supported >= {policy.supported}, weak >= {policy.weak}")
    for weight in (0.2, policy.dense_weight, 0.5):
        trial = SupportChecker(engine, policy=replace(policy, dense_weight=weight))
        ranges: dict[tuple[str, str], list[float]] = {}
        for group, lang, features in rows:
            best = max(trial.combine(features), default=0.0)
            ranges.setdefault((group, lang), []).append(best)
        print(f"dense_weight={weight}: " + ", ".join(f"{g}/{l} {min(v):.2f}-{max(v):.2f}"
                                                   for (g, l), v in sorted(ranges.items())))


if __name__ == "__main__":
    main()
