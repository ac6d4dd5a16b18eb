"""A GGUF model run in this process by llama.cpp: answers on a CPU server with no LLM server.

    pip install 'govqa[local-llm]'
    GOVQA_LLM=llamacpp GOVQA_LLM_MODEL=/srv/govqa/models/model.gguf govqa ask "…"

Same contract as the `openai` backend (llm_openai.py): the same system message, the question
and passages as quoted JSON data, the same citation checks afterwards. The model is loaded
once per process and shared by every engine, a reloaded index's included; one answer is
generated at a time, since a llama.cpp context is not thread-safe and on a CPU two answers at
once only share the same cores (docs/performance.md measures it).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .config import Settings
from .llm_openai import chat_messages
from .promptfit import TEMPLATE_TOKENS, fit_passages
from .summarize import AnswerCut, LLMUnavailable, SummaryRequest

log = logging.getLogger("govqa.llm")

DEFAULT_CONTEXT = 2048  # prompt + answer; reading the prompt is most of a CPU's time to the first word
INSTALL_HINT = "pip install 'govqa[local-llm]' (README: installing in a closed network)"


class LocalModelError(LLMUnavailable):
    """The model file is missing, not a GGUF file, or llama.cpp cannot load it: the site's setup, not the request."""

    http_status = 503


class NoModelConfigured(LocalModelError):
    """No GOVQA_LLM_MODEL: a client asked for a backend this server does not offer."""

    http_status = 422


def machine_threads() -> int:
    """The cores this process may run on (a container's or taskset's limit, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_threads() -> int:
    """Half the cores: llama.cpp's threads wait for each other at every step, so when the embedder,
    searches or other jobs take a core, one thread of two stalls both (measured on 2 busy cores:
    28.7 tokens/s with 1 thread, 1.1 with 2; docs/performance.md)."""
    return max(1, machine_threads() // 2)


@dataclass
class LoadedModel:
    llama: object  # llama_cpp.Llama
    path: Path
    context: int
    threads: int
    lock: threading.Lock


_models: dict[tuple[str, int, int], LoadedModel] = {}
_models_lock = threading.Lock()


def load_model(path: Path, context: int, threads: int) -> LoadedModel:
    """The model at `path`, loaded on first use and then shared by the whole process."""
    key = (str(path), context, threads)
    with _models_lock:
        if key not in _models:
            _models[key] = _load(path, context, threads)
        return _models[key]


def _load(path: Path, context: int, threads: int) -> LoadedModel:
    try:
        import llama_cpp  # the optional extra: the base install stays light
    except ImportError as exc:
        raise LocalModelError(f"the llamacpp backend needs llama-cpp-python: {INSTALL_HINT}") from exc
    if not path.is_file():
        raise LocalModelError(f"GOVQA_LLM_MODEL: no model file at {path} (the path of a .gguf file)")
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic != b"GGUF":
        raise LocalModelError(f"GOVQA_LLM_MODEL: {path} is not a GGUF model file")
    started = time.monotonic()
    try:
        llama = llama_cpp.Llama(model_path=str(path), n_ctx=context, n_threads=threads, n_threads_batch=threads,
                                n_batch=512, verbose=False)
    except (ValueError, RuntimeError, OSError) as exc:
        raise LocalModelError(f"GOVQA_LLM_MODEL: llama.cpp could not load {path} (a damaged or unsupported GGUF "
                              f"file: {' '.join(str(exc).split())})") from exc
    log.info("loaded %s in %.1fs (context %d tokens, %d threads)", path.name, time.monotonic() - started,
             context, threads)
    return LoadedModel(llama=llama, path=path, context=context, threads=threads, lock=threading.Lock())


class LlamaCppSummarizer:
    """Drafts an answer with a local GGUF model; passages trimmed to its context, a time limit per answer."""

    name = "llamacpp"

    def __init__(self, settings: Settings) -> None:
        if not settings.llm_model:
            raise NoModelConfigured("the llamacpp backend needs GOVQA_LLM_MODEL: the path of a .gguf model file")
        self.max_tokens = settings.llm_max_tokens
        self.time_limit = settings.llm_timeout
        context = settings.llm_context or DEFAULT_CONTEXT
        if context - self.max_tokens < 256:
            raise LocalModelError(f"GOVQA_LLM_CONTEXT ({context}) leaves no room for the passages after "
                                  f"GOVQA_LLM_MAX_TOKENS ({self.max_tokens})")
        path = Path(settings.llm_model).expanduser().resolve()
        self.model = load_model(path, context, settings.llm_threads or default_threads())

    def count_tokens(self, request: SummaryRequest) -> int:
        """The prompt's size in the model's own tokens."""
        tokenize = self.model.llama.tokenize
        return sum(len(tokenize(m["content"].encode("utf-8"), add_bos=False, special=False)) + TEMPLATE_TOKENS
                   for m in chat_messages(request))

    def fit(self, request: SummaryRequest) -> SummaryRequest:
        return fit_passages(request, self.count_tokens, self.model.context - self.max_tokens)

    def summarize(self, request: SummaryRequest) -> str:
        parts: list[str] = []
        try:
            for delta in self.stream(request):
                parts.append(delta)
        except AnswerCut as exc:
            raise AnswerCut(str(exc), "".join(parts)) from exc
        return "".join(parts)

    def stream(self, request: SummaryRequest) -> Iterator[str]:
        """Text deltas as the model writes them; stops at max_tokens or the time limit."""
        deadline = time.monotonic() + self.time_limit
        messages = chat_messages(self.fit(request))
        if not self.model.lock.acquire(timeout=self.time_limit):
            raise LLMUnavailable(f"the local model was busy with other answers for {self.time_limit:g}s "
                                 "(GOVQA_LLM_TIMEOUT); try again")
        out_of_time = False
        try:
            chunks = self.model.llama.create_chat_completion(
                messages=messages, max_tokens=self.max_tokens, temperature=0.0, stream=True)
            try:
                for chunk in chunks:
                    delta = chunk["choices"][0].get("delta", {}).get("content")
                    if delta:
                        yield delta
                    if time.monotonic() > deadline:
                        out_of_time = True
                        break
            finally:
                chunks.close()  # stops generating, also when the reader went away mid-answer
        finally:
            self.model.lock.release()
        if out_of_time:
            raise AnswerCut(f"the local model reached the time limit of {self.time_limit:g}s per answer "
                            "(GOVQA_LLM_TIMEOUT); the sentences finished by then are shown")
