"""The llamacpp backend measured: speed, memory, what the citation check keeps, and concurrency.

    python bench/bench_llm.py speed --index-dir INDEX --model A.gguf [--model B.gguf] [--runs 3]
    python bench/bench_llm.py answers --index-dir INDEX --model A.gguf [--set eval/dev-abstain.jsonl]
    python bench/bench_llm.py concurrency --index-dir INDEX --model A.gguf
    python bench/bench_llm.py threads --index-dir INDEX --model A.gguf --context 1024

speed: time to first token (prompt tokens read + the first token written) and tokens per second
after it, on the sample index's passages (as many as fit the context) for one English and one
Japanese question, through the backend (chat) and as plain text with end-of-text suppressed (the
model's own speed, also for a base model that stops at once in a chat); the process's resident
memory before and after the model loads.
answers: for every question of the set, extractive and llamacpp side by side: abstentions (on-
and off-topic questions apart), and the share of the draft's sentences that the citation check
kept (shown) rather than dropped.
concurrency: two questions at once on one shared model (one at a time, behind its lock) against
two copies of the model with half the threads each.
threads: the model's speed with one thread and with every core.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from pathlib import Path

from govqa.citations import split_claims
from govqa.config import Settings
from govqa.engine import Engine
from govqa.lang import detect_lang
from govqa.llm_llamacpp import LlamaCppSummarizer, machine_threads
from govqa.llm_openai import chat_messages
from govqa.summarize import SummaryRequest

QUESTIONS = ["What does the MF system require from foreign manufacturers?", "MF登録申請に費用はかかりますか"]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def request_for(engine: Engine, query: str) -> SummaryRequest:
    return SummaryRequest(query=query, lang=detect_lang(query), passages=engine.search(query, k=8),
                          embedder=engine.embedder, tokenize=engine.reader.tokenizer)


def timed_stream(backend: LlamaCppSummarizer, request: SummaryRequest) -> dict:
    started = time.perf_counter()
    first = None
    pieces = 0
    for _ in backend.stream(request):
        pieces += 1
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    fitted = backend.fit(request)
    return {"prompt_tokens": backend.count_tokens(fitted), "passages_sent": len(fitted.passages),
            "ttft_s": round((first or end) - started, 2), "tokens": pieces,
            "tokens_per_s": round((pieces - 1) / (end - first), 1) if first and pieces > 1 else None}


def raw_speed(backend: LlamaCppSummarizer, request: SummaryRequest, max_tokens: int) -> dict:
    """The model's own speed on the same prompt as plain text, end-of-text suppressed so that a
    base model (which may stop at once in a chat) writes max_tokens too."""
    llama = backend.model.llama
    text = "\n".join(m["content"] for m in chat_messages(backend.fit(request)))
    started = time.perf_counter()
    first = None
    pieces = 0
    for _ in llama.create_completion(text, max_tokens=max_tokens, temperature=0.0, stream=True,
                                     logit_bias={llama.token_eos(): -100.0}):
        pieces += 1
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    prompt = len(llama.tokenize(text.encode("utf-8")))
    return {"prompt_tokens": prompt, "ttft_s": round(first - started, 2), "tokens": pieces,
            "prompt_tokens_per_s": round(prompt / (first - started), 1),
            "tokens_per_s": round((pieces - 1) / (end - first), 1) if pieces > 1 else None}


def speed(args) -> None:
    engine = Engine.open(Settings(index_dir=args.index_dir))
    requests = [request_for(engine, q) for q in QUESTIONS]
    for model in args.model:
        before = rss_mb()
        started = time.perf_counter()
        backend = LlamaCppSummarizer(Settings(llm_model=str(model), llm_max_tokens=args.max_tokens,
                                              llm_timeout=600))
        loaded = time.perf_counter() - started
        after_load = rss_mb()
        runs = [timed_stream(backend, r) for _ in range(args.runs) for r in requests]
        raw = [raw_speed(backend, r, args.max_tokens) for _ in range(args.runs) for r in requests]
        chat_speeds = [r["tokens_per_s"] for r in runs if r["tokens_per_s"]]
        print(json.dumps({
            "model": Path(model).name, "file_mb": round(Path(model).stat().st_size / 2**20),
            "threads": backend.model.threads, "context": backend.model.context, "load_s": round(loaded, 2),
            "rss_mb_before": round(before), "rss_mb_loaded": round(after_load), "rss_mb_after_answers": round(rss_mb()),
            "ttft_s_median": statistics.median(r["ttft_s"] for r in runs),
            "chat_tokens_per_s_median": statistics.median(chat_speeds) if chat_speeds else None,
            "chat_tokens_written": [r["tokens"] for r in runs],
            "raw_ttft_s_median": statistics.median(r["ttft_s"] for r in raw),
            "raw_prompt_tokens_per_s_median": statistics.median(r["prompt_tokens_per_s"] for r in raw),
            "raw_tokens_per_s_median": statistics.median(r["tokens_per_s"] for r in raw if r["tokens_per_s"]),
            "prompt_tokens": sorted({r["prompt_tokens"] for r in runs}), "runs": runs, "raw": raw}, ensure_ascii=False))


def answers(args) -> None:
    rows = [json.loads(line) for line in Path(args.set).read_text().splitlines() if line.strip()][: args.limit]
    for llm, model in [("extractive", None)] + [("llamacpp", m) for m in args.model]:
        settings = Settings(index_dir=args.index_dir, llm=llm, llm_model=str(model) if model else None,
                            llm_max_tokens=args.max_tokens, llm_timeout=600)
        engine = Engine.open(settings)
        kept = dropped = 0
        abstained = {True: 0, False: 0}
        count = {True: 0, False: 0}
        nothing_kept = 0
        started = time.perf_counter()
        for row in rows:
            answer = engine.ask(row["question"])
            on_topic = bool(row.get("on_topic", True))
            count[on_topic] += 1
            abstained[on_topic] += answer.abstained
            shown = len(split_claims(answer.answer))
            kept += shown
            dropped += len(answer.dropped_sentences)
            nothing_kept += bool(not shown and answer.dropped_sentences)
        print(json.dumps({
            "llm": llm, "model": Path(model).name if model else None, "questions": len(rows),
            "abstained_on_topic": f"{abstained[True]}/{count[True]}",
            "abstained_off_topic": f"{abstained[False]}/{count[False]}",
            "sentences_kept": kept, "sentences_dropped": dropped,
            "share_kept": round(kept / (kept + dropped), 3) if kept + dropped else None,
            "answers_with_every_sentence_dropped": nothing_kept,
            "seconds_per_question": round((time.perf_counter() - started) / len(rows), 2)}, ensure_ascii=False))


def concurrency(args) -> None:
    engine = Engine.open(Settings(index_dir=args.index_dir))
    requests = [request_for(engine, q) for q in QUESTIONS]
    threads = machine_threads()
    context = args.context or 2048
    shared = LlamaCppSummarizer(Settings(llm_model=str(args.model[0]), llm_max_tokens=args.max_tokens,
                                         llm_timeout=600, llm_context=context))
    halves = [LlamaCppSummarizer(Settings(llm_model=str(args.model[0]), llm_max_tokens=args.max_tokens,
                                          llm_timeout=600, llm_threads=max(1, threads // 2),
                                          llm_context=context + 16 * (i + 1))) for i in range(2)]  # two distinct copies
    for label, backends in (("one shared model, one answer at a time", [shared, shared]),
                            (f"two copies of the model, {max(1, threads // 2)} thread(s) each", halves)):
        for backend in set(backends):
            backend.summarize(requests[0])  # warm
        walls, firsts = [], []
        for _ in range(args.runs):
            results: list[dict] = [{}, {}]

            def run(i: int) -> None:
                results[i] = timed_stream(backends[i], requests[i])
            started = time.perf_counter()
            workers = [threading.Thread(target=run, args=(i,)) for i in range(2)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            walls.append(time.perf_counter() - started)
            firsts.append(max(r["ttft_s"] for r in results))
        print(json.dumps({"setup": label, "two_answers_wall_s_median": round(statistics.median(walls), 2),
                          "slower_ttft_s_median": round(statistics.median(firsts), 2),
                          "rss_mb": round(rss_mb())}, ensure_ascii=False))


def threads(args) -> None:
    engine = Engine.open(Settings(index_dir=args.index_dir))
    request = request_for(engine, QUESTIONS[0])
    for count in sorted({1, machine_threads()}):
        backend = LlamaCppSummarizer(Settings(llm_model=str(args.model[0]), llm_max_tokens=args.max_tokens,
                                              llm_timeout=600, llm_threads=count, llm_context=args.context))
        runs = [raw_speed(backend, request, args.max_tokens) for _ in range(args.runs)]
        print(json.dumps({"threads": count, "prompt_tokens": runs[0]["prompt_tokens"],
                          "ttft_s_median": statistics.median(r["ttft_s"] for r in runs),
                          "tokens_per_s_median": statistics.median(r["tokens_per_s"] for r in runs)}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["speed", "answers", "concurrency", "threads"])
    parser.add_argument("--index-dir", type=Path, default=Path("index"))
    parser.add_argument("--model", type=Path, action="append", required=True)
    parser.add_argument("--set", default="eval/dev-abstain.jsonl")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--context", type=int, default=None, help="threads: a smaller context, a shorter prompt")
    args = parser.parse_args()
    {"speed": speed, "answers": answers, "concurrency": concurrency, "threads": threads}[args.what](args)


if __name__ == "__main__":
    main()
