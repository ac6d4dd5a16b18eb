"""Summarizer protocol and the registry of LLM backends (entry-point group `govqa.llm`).

A backend turns the question and its numbered passages into a draft answer whose
sentences end with `[n]`. Drafts are never trusted: `citations.py` checks every marker
afterwards, whatever the backend. A site adds its own backend by shipping a package with

    [project.entry-points."govqa.llm"]
    mine = "my_package:MySummarizer"

where `MySummarizer(settings)` has a `name` and `summarize(request) -> str`, and
optionally `stream(request) -> Iterator[str]` yielding text deltas.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Callable, Iterator, Protocol, runtime_checkable

from .config import Settings
from .embed import Embedder
from .errors import GovqaError
from .models import Hit

GROUP = "govqa.llm"
DEFAULT_LLM = "extractive"
# What a backend answers when the passages do not contain the answer.
NO_ANSWER = "NO_ANSWER"

# The built-ins register through pyproject.toml like any plugin; this table only covers a
# source checkout whose installed metadata predates them (pip install -e . refreshes it).
_BUILTINS = {
    "extractive": "govqa.extractive:ExtractiveSummarizer",
    "openai": "govqa.llm_openai:OpenAISummarizer",
    "none": "govqa.summarize:NoneSummarizer",
    "llamacpp": "govqa.llm_llamacpp:LlamaCppSummarizer",
}


class UnknownLLM(GovqaError):
    http_status = 422


class LLMUnavailable(GovqaError):
    """The backend could not produce a draft (server down, timeout, bad reply, not configured).

    `Engine.ask` turns it into an answer that carries the passages and this message.
    """

    http_status = 502


class AnswerCut(LLMUnavailable):
    """The backend stopped mid-answer (its time limit); `partial` is the draft written until then."""

    def __init__(self, message: str, partial: str = "") -> None:
        super().__init__(message)
        self.partial = partial


@dataclass
class SummaryRequest:
    """What a backend sees: passage [n] is `passages[n - 1]`."""

    query: str
    lang: str  # the question's language, 'ja' or 'en'
    passages: list[Hit]
    embedder: Embedder
    tokenize: Callable[[str], list[str]]
    lexicon: object | None = None  # English -> Japanese (crosslingual.Lexicon), for matching across scripts


@runtime_checkable
class Summarizer(Protocol):
    name: str

    def summarize(self, request: SummaryRequest) -> str:
        """A draft answer whose sentences end with their [n]; empty for 'no summary'."""
        ...


class NoneSummarizer:
    """Passages only: no summary at all."""

    name = "none"
    passages_only = True  # an empty answer is what it means, not a failure to draft one

    def __init__(self, settings: Settings | None = None) -> None:
        pass

    def summarize(self, request: SummaryRequest) -> str:
        return ""


def draft_deltas(summarizer: Summarizer, request: SummaryRequest, stream: bool) -> Iterator[str]:
    """The draft as text deltas: streamed when asked and the backend can, else in one piece."""
    if stream and callable(getattr(summarizer, "stream", None)):
        yield from summarizer.stream(request)
    else:
        yield summarizer.summarize(request)


def _entry_points() -> dict[str, object]:
    found: dict[str, object] = {name: target for name, target in _BUILTINS.items()}
    for ep in entry_points(group=GROUP):
        found[ep.name] = ep
    return found


def available_llms() -> list[str]:
    """Names of every installed backend, built-ins included."""
    return sorted(_entry_points())


def load_summarizer(name: str | None, settings: Settings) -> Summarizer:
    """The backend called `name` (default: settings.llm), constructed with the settings."""
    name = (name or settings.llm or DEFAULT_LLM).strip().lower()
    target = _entry_points().get(name)
    if target is None:
        raise UnknownLLM(f"unknown LLM backend {name!r}: use one of {', '.join(available_llms())}")
    factory = target.load() if hasattr(target, "load") else _load_path(target)
    summarizer = factory(settings)
    if not isinstance(summarizer, Summarizer):
        raise UnknownLLM(f"the LLM backend {name!r} has no summarize(request) method; check its package")
    return summarizer


def _load_path(path: str):
    import importlib

    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)
