"""An English question's second embedding made from its translated words' own vectors (measured, not kept).

    python bench/bridge_word_vectors.py --index-dir IDX [--questions eval/mhlw.jsonl eval/mhlw-guideline.jsonl]

An English question over Japanese passages is embedded twice: as asked, and as its translated Japanese words
joined (search/bridge.translated_dense). Embedding each word alone would let a process keep the words' vectors
and skip most of the second embedding; this prints English hit@1 / hit@5 / MRR@10 with the words joined (today)
and with the mean of their vectors, and how many distinct words the questions used.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from govqa.config import Settings
from govqa.engine import Engine
from govqa.evaluate import judge, load_questions, summarize

_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


class WordVectors:
    """Embeds a space-joined run of Japanese words as the mean of its words' vectors, kept per word."""

    def __init__(self, inner) -> None:
        self.inner, self.id, self.dim = inner, inner.id, inner.dim
        self.vectors: dict[str, np.ndarray] = {}

    def embed_query(self, text: str) -> np.ndarray:
        words = text.split(" ")
        if len(words) < 2 or not all(_JAPANESE.search(word) for word in words):
            return self.inner.embed_query(text)
        for word in words:
            if word not in self.vectors:
                self.vectors[word] = self.inner.embed_query(word)
        mean = np.mean([self.vectors[word] for word in words], axis=0)
        return mean / np.linalg.norm(mean)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--questions", type=Path, nargs="+",
                        default=[Path("eval/mhlw.jsonl"), Path("eval/mhlw-guideline.jsonl")])
    args = parser.parse_args()
    engine = Engine.open(Settings(index_dir=args.index_dir))
    joined, words = engine.embedder, WordVectors(engine.embedder)
    for path in args.questions:
        questions = [q for q in load_questions(path) if q.lang == "en" and q.relevant]
        for name, embedder in (("joined", joined), ("word vectors", words)):
            engine.embedder = embedder
            outcomes = [judge(q, [(h.doc_id, h.page) for h in engine.search(q.question, k=10)], 0.0)
                        for q in questions]
            numbers = summarize(outcomes)
            print(f"{path} en ({len(questions)}) {name:13} hit@1 {numbers['hit@1']:.3f} hit@5 {numbers['hit@5']:.3f} "
                  f"MRR@10 {numbers['mrr@10']:.3f}")
    print(f"distinct translated words: {len(words.vectors)}")


if __name__ == "__main__":
    main()
