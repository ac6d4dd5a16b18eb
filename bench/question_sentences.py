"""A question of several sentences embedded as a whole and sentence by sentence (measured, not kept).

    python bench/question_sentences.py --mhlw-index IDX --allganize-index IDX2 [--weights 0.5,0,0.75]

A question's vector becomes w × its own vector + (1 − w) × the mean of its sentences' vectors (each
sentence of ≥ 8 characters, after the closing request is left out as retrieve does); one-sentence
questions keep their vector. Cheap once questions run on ONNX Runtime (~10 ms a sentence). Prints
hit@1 / hit@5 / MRR@10 of `hybrid` and `dense` per column, as bench/eval_sets.py does; the first row
(w = 1) is govqa as it is.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO), str(REPO / "bench")]

import eval_sets  # noqa: E402
from govqa import evaluate as ev  # noqa: E402
from govqa.config import Settings  # noqa: E402
from govqa.engine import Engine  # noqa: E402

SENTENCE_END = re.compile(r"(?<=[。？?！!])")


class SentenceMean:
    """The engine's embedder, a question's vector mixed with its sentences' mean."""

    def __init__(self, inner, weight: float) -> None:
        self.inner, self.weight, self.id, self.dim = inner, weight, inner.id, inner.dim

    def embed_query(self, text: str) -> np.ndarray:
        vector = self.inner.embed_query(text)
        sentences = [s for s in SENTENCE_END.split(text) if len(s.strip()) >= 8]
        if len(sentences) < 2 or self.weight >= 1:
            return vector
        mixed = self.weight * vector + (1 - self.weight) * np.mean([self.inner.embed_query(s) for s in sentences], axis=0)
        return mixed / np.linalg.norm(mixed)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mhlw-index", type=Path, required=True)
    parser.add_argument("--allganize-index", type=Path, required=True)
    parser.add_argument("--allganize", type=Path, default=eval_sets.ALLGANIZE)
    parser.add_argument("--weights", default="0.5,0,0.75")
    args = parser.parse_args()
    engines = {"mhlw": Engine.open(Settings(index_dir=args.mhlw_index)),
               "allganize": Engine.open(Settings(index_dir=args.allganize_index))}
    inner = engines["mhlw"].embedder
    inner.warm()
    files = {"mhlw": [REPO / "eval" / "mhlw.jsonl", REPO / "eval" / "mhlw-guideline.jsonl"], "allganize": [args.allganize]}
    columns = eval_sets.column_sets(args)
    print("| w, mode | " + " | ".join(name for name, *_ in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for weight in [1.0, *map(float, args.weights.split(","))]:
        for engine in engines.values():
            engine.embedder = SentenceMean(inner, weight)
        for mode in ("hybrid", "dense"):
            runs = {}
            for corpus, paths in files.items():
                for path in paths:
                    [runs[str(path)]] = ev.evaluate(lambda q, k, m: engines[corpus].search(q, k=k, mode=m),
                                                    ev.load_questions(path), [mode])
            cells = []
            for _, _, path, where in columns:
                chosen = [o for o in runs[str(path)].outcomes
                          if all((o.question.lang if k == "lang" else o.question.fields.get(k)) == v for k, v in where.items())]
                m = ev.summarize(chosen)
                cells.append(f"{m['hit@1']:.3f} / {m['hit@5']:.3f} / {m['mrr@10']:.3f}")
            print(f"| {weight:g}, {mode} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
