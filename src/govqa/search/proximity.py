"""Term proximity: how much of a question's weighted words one short stretch of a page holds.

BM25, over passages or whole pages, counts a page's words wherever they are. A summary page that
names each of the question's words once, in different paragraphs, then scores like the page whose
one paragraph answers it. The best window of `chars` characters tells them apart: the share of the
question's words (by IDF) that occur within it.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np


def word_weights(tokens: list[str], idf) -> dict[str, float]:
    """The question's distinct words with a positive IDF in the index, by that IDF."""
    weights = {token: idf(token) for token in dict.fromkeys(tokens) if token.strip()}
    return {token: weight for token, weight in weights.items() if weight > 0}


class Proximity:
    """The words of one question, ready to be looked for in many pages."""

    def __init__(self, weights: dict[str, float], chars: int) -> None:
        self.words = [(word, re.compile(re.escape(word)), weight) for word, weight in weights.items()]
        self.total = sum(weights.values())
        self.stride = max(chars // 2, 1)

    def __call__(self, text: str) -> float:
        """The largest share of the words' summed weight found in one window of the text (0–1).

        Windows of `chars` characters start every `chars` / 2, so two words at most half a window
        apart always share one. Each word is looked for on its own, so a compound (信託銀行) also holds
        its parts (信託, 銀行).
        """
        if not self.total:
            return 0.0
        text = unicodedata.normalize("NFKC", text).lower()
        windows: list[int] = []
        weights: list[float] = []
        for word, pattern, weight in self.words:
            if word not in text:
                continue
            blocks = {m.start() // self.stride for m in pattern.finditer(text)}
            blocks |= {block - 1 for block in blocks}
            windows.extend(blocks)
            weights.extend([weight] * len(blocks))
        if not windows:
            return 0.0
        return float(np.bincount(np.array(windows) + 1, weights=weights).max()) / self.total
