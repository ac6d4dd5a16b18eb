"""Passages -> as many of them as fit a model's context, best first, so a long question never fails.

A model's context holds the prompt and the answer it writes. When the eight passages do not
fit, the lowest-ranked go first (their numbers are the last, so [1]..[m] still name the same
passages); when even the best one alone does not fit, its text is cut to what does.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Callable

from .summarize import LLMUnavailable, SummaryRequest

log = logging.getLogger("govqa.llm")

# Tokens a chat template adds around each message (role names, start/end markers).
TEMPLATE_TOKENS = 16
Count = Callable[[SummaryRequest], int]


class ContextTooSmall(LLMUnavailable):
    pass


def fit_passages(request: SummaryRequest, count: Count, budget: int) -> SummaryRequest:
    """The request with the longest prefix of its passages whose prompt takes at most `budget` tokens."""
    if count(request) <= budget:
        return request
    low, high = 0, len(request.passages)  # the prompt with `low` passages fits, with `high` it does not
    while high - low > 1:
        middle = (low + high) // 2
        if count(replace(request, passages=request.passages[:middle])) <= budget:
            low = middle
        else:
            high = middle
    if low == 0:
        fitted = _cut_first(request, count, budget)
    else:
        fitted = replace(request, passages=request.passages[:low])
    log.info("context budget %d tokens: %d of %d passages sent", budget, len(fitted.passages), len(request.passages))
    return fitted


def _cut_first(request: SummaryRequest, count: Count, budget: int) -> SummaryRequest:
    """Only the best passage, its text cut at the longest length that fits."""
    first = request.passages[0]
    low, high = 0, len(first.text)
    while high - low > 1:
        middle = (low + high) // 2
        if count(replace(request, passages=[replace(first, text=first.text[:middle])])) <= budget:
            low = middle
        else:
            high = middle
    if low < min(200, len(first.text)):
        raise ContextTooSmall(f"the model's context cannot hold the instructions and one passage with room for the "
                              f"answer ({budget} tokens for the prompt): raise GOVQA_LLM_CONTEXT or lower "
                              "GOVQA_LLM_MAX_TOKENS")
    return replace(request, passages=[replace(first, text=first.text[:low])])


# How servers say a prompt is too long. vLLM and llama-cpp-python's server: "maximum context length
# is 4096 tokens. However, you requested 5470 tokens (4958 in the messages, 512 in the completion)";
# llama.cpp's server: {"n_prompt_tokens": 5470, "n_ctx": 4096} beside its message.
_CONTEXT = (re.compile(r"maximum context length is (\d+)", re.I), re.compile(r'"n_ctx"\s*:\s*(\d+)'),
            re.compile(r"context (?:window|size|length) (?:of |is )?(\d+)", re.I))
_PROMPT = (re.compile(r"(\d+) in the messages", re.I), re.compile(r'"n_prompt_tokens"\s*:\s*(\d+)'),
           re.compile(r"requested tokens \((\d+)\)", re.I))


def context_overflow(message: str) -> tuple[int, int | None] | None:
    """(context, prompt tokens or None) from a server's 'prompt too long' error, else None."""
    context = next((int(m.group(1)) for p in _CONTEXT if (m := p.search(message))), None)
    if context is None:
        return None
    return context, next((int(m.group(1)) for p in _PROMPT if (m := p.search(message))), None)


def estimate_tokens(text: str) -> int:
    """Tokens of `text` for a tokenizer we cannot run: a kanji or kana is about one, Latin text a
    fourth of its characters (a server's own counts correct it, llm_openai.py)."""
    wide = sum(1 for ch in text if ord(ch) >= 0x3000)
    return wide + (len(text) - wide) // 4 + 1
