"""Optional second stage: a local cross-encoder reads query and passage together and re-orders the best hits.

Off by default: set GOVQA_RERANKER to the folder of a sentence-transformers CrossEncoder
model (e.g. a multilingual MiniLM or bge reranker saved with `model.save(PATH)`); nothing is
ever downloaded. It costs one model call per re-ordered passage, so GOVQA_RERANK_DEPTH
(default 20) bounds how many it reads.
"""

from __future__ import annotations

import math
import os
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from .errors import GovqaError
from .models import Hit


class RerankerError(GovqaError):
    """The configured reranker model cannot be loaded."""


class PairScorer(Protocol):
    def score(self, query: str, passages: list[str]) -> list[float]: ...


class CrossEncoderScorer:
    """A sentence-transformers CrossEncoder from a local path."""

    def __init__(self, path: str) -> None:
        if not Path(path).is_dir():
            raise RerankerError(f"cannot load the cross-encoder at {path!r}: no such folder (GOVQA_RERANKER)")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import CrossEncoder
        except ImportError as exc:
            raise RerankerError("GOVQA_RERANKER needs sentence-transformers: pip install 'govqa[st]'") from exc
        try:
            self._model = CrossEncoder(path, device="cpu", local_files_only=True)
        except Exception as exc:  # a missing or partial model surfaces as many exception types
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise RerankerError(f"cannot load the cross-encoder at {path!r} offline: {first}") from exc

    def score(self, query: str, passages: list[str]) -> list[float]:
        if not passages:
            return []
        return [float(s) for s in self._model.predict([(query, p) for p in passages], show_progress_bar=False)]


def rerank(query: str, hits: list[Hit], scorer: PairScorer, k: int) -> list[Hit]:
    """The k best of `hits` by the scorer's reading, which becomes their score (in [0, 1]; a raw
    logit goes through a sigmoid)."""
    if not hits:
        return hits
    scores = scorer.score(query, [h.text for h in hits])
    order = sorted(range(len(hits)), key=lambda i: (-scores[i], hits[i].rank))
    return [replace(hits[i], rank=rank, score=round(_unit(scores[i]), 4))
            for rank, i in enumerate(order[:k], 1)]


def _unit(x: float) -> float:
    if 0.0 <= x <= 1.0:  # CrossEncoder.predict already applies a sigmoid to single-label models
        return x
    return 1.0 / (1.0 + math.exp(-x)) if x >= -60 else 0.0
