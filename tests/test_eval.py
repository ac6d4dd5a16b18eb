"""`govqa eval`: page-level retrieval metrics, computed by hand on small cases and run on the samples."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from test_support import run_cli

from govqa.evalreport import write_report
from govqa.evaluate import (
    QuestionsError,
    Relevant,
    evaluate,
    load_questions,
    ndcg,
    parse_modes,
    percentile,
    summarize,
    to_json,
)
from govqa.models import Hit

REPO = Path(__file__).resolve().parents[1]


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                    encoding="utf-8")
    return path


def fake_search(rankings: dict[str, list[tuple[str, int]]]):
    """A search function that returns fixed pages per question, like Engine.search would."""
    calls = []

    def search(query: str, k: int, mode: str) -> list[Hit]:
        calls.append((query, k, mode))
        return [Hit(rank=i, score=1.0 / i, doc_id=d, title=d, page=p, text="", source="", url="", lang="ja")
                for i, (d, p) in enumerate(rankings[query][:k], start=1)]

    search.calls = calls
    return search


HAND_MADE = [
    {"question": "一番目の質問", "relevant": [{"doc_id": "a", "page": 1}]},
    {"question": "二番目の質問", "relevant": [{"doc_id": "a", "page": 2}, {"doc_id": "b", "page": 3}]},
    {"question": "a question whose page is not retrieved", "relevant": [{"doc_id": "c", "page": 1}]},
    {"question": "a question the corpus cannot answer", "relevant": [], "unanswerable": True},
]
RANKINGS = {
    "一番目の質問": [("a", 1), ("x", 1)],
    "二番目の質問": [("x", 1), ("b", 3), ("y", 1), ("z", 1), ("a", 2)],
    "a question whose page is not retrieved": [("x", n) for n in range(1, 11)] + [("c", 1)],
    "a question the corpus cannot answer": [("x", 1)],
}


def test_metrics_on_a_hand_made_case(tmp_path):
    questions = load_questions(write_jsonl(tmp_path / "q.jsonl", HAND_MADE))
    search = fake_search(RANKINGS)
    [run] = evaluate(search, questions, ["bm25"])
    assert {mode for _, _, mode in search.calls} == {"lexical"}  # bm25 is the lexical mode
    assert {k for _, k, _ in search.calls} == {10}
    metrics = run.metrics()
    # Gold ranks: question 1 -> [1]; question 2 -> [2, 5]; question 3 -> none in the top 10.
    assert metrics["n"] == 3 and metrics["unanswerable"] == 1
    assert metrics["hit@1"] == round(1 / 3, 4)
    assert metrics["hit@5"] == metrics["hit@10"] == round(2 / 3, 4)
    assert metrics["recall@10"] == round((1 + 1 + 0) / 3, 4)
    assert metrics["mrr@10"] == round((1 + 1 / 2 + 0) / 3, 4)
    ndcg_2 = (1 / math.log2(3) + 1 / math.log2(6)) / (1 + 1 / math.log2(3))
    assert metrics["ndcg@10"] == round((1 + ndcg_2 + 0) / 3, 4) == 0.5414
    by_lang = to_json([run])["by_lang"]
    assert by_lang["ja"]["n"] == 2 and by_lang["ja"]["hit@1"] == 0.5 and by_lang["ja"]["mrr@10"] == 0.75
    assert by_lang["en"]["n"] == 1 and by_lang["en"]["hit@10"] == 0.0 and by_lang["en"]["unanswerable"] == 1


def test_each_gold_page_counts_once_and_a_page_free_gold_item_matches_any_page_of_its_document():
    from govqa.evaluate import Question, judge

    question = Question("q", [Relevant("a", None), Relevant("b", 2)], "en", 1)
    outcome = judge(question, [("a", 4), ("a", 5), ("b", 2)], latency_ms=1.0)
    assert outcome.gold_ranks == [1, 3]
    assert summarize([outcome])["recall@10"] == 1.0
    assert ndcg([1, 3], 2, 10) == pytest.approx((1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3)))


def test_percentiles_interpolate_like_numpy():
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)
    assert percentile([], 50) == 0.0


def test_a_larger_k_adds_its_own_cutoff():
    from govqa.evaluate import Question, judge

    outcome = judge(Question("q", [Relevant("c", 1)], "en", 1), [("x", n) for n in range(1, 12)] + [("c", 1)], 1.0)
    metrics = summarize([outcome], k=20)
    assert metrics["hit@10"] == 0.0 and metrics["hit@20"] == 1.0 and metrics["recall@20"] == 1.0


@pytest.mark.parametrize("line, message", [
    ("{not json", "not valid JSON"),
    ('["a list"]', "JSON object"),
    ('{"relevant": []}', '"question"'),
    ('{"question": "q", "relevant": [{"page": 3}]}', '"doc_id"'),
    ('{"question": "q", "relevant": [{"doc_id": "a", "page": 0}]}', "positive integer"),
    ('{"question": "q"}', 'missing "relevant"'),
    ('{"question": "q", "relevant": [], "lang": "fr"}', '"lang"'),
])
def test_bad_question_lines_name_the_file_and_line(tmp_path, line, message):
    path = write_jsonl(tmp_path / "q.jsonl", [HAND_MADE[0], line])
    with pytest.raises(QuestionsError, match=message) as error:
        load_questions(path)
    assert str(error.value).startswith(f"{path}:2:") and "\n" not in str(error.value)


def test_languages_are_detected_when_not_given(tmp_path):
    questions = load_questions(write_jsonl(tmp_path / "q.jsonl", HAND_MADE))
    assert [q.lang for q in questions] == ["ja", "ja", "en", "en"]
    assert [q.answerable for q in questions] == [True, True, True, False]


def test_modes_are_checked():
    assert parse_modes(None) == ["hybrid"]
    assert parse_modes("bm25, dense,hybrid") == ["bm25", "dense", "hybrid"]
    with pytest.raises(QuestionsError, match="unknown retrieval mode 'sparse'"):
        parse_modes("bm25,sparse")


TYPED = [{**q, "type": kind, "confident": sure} for q, kind, sure in
         zip(HAND_MADE, ["paragraph", "table", "table", "image"], [True, True, False, True])]


def test_where_keeps_the_matching_questions_and_by_reports_each_value(tmp_path):
    from govqa.evaluate import groups_of, select

    questions = load_questions(write_jsonl(tmp_path / "q.jsonl", TYPED))
    confident = select(questions, ["confident=true"])
    assert [q.question for q in confident] == ["一番目の質問", "二番目の質問", "a question the corpus cannot answer"]
    assert [q.line for q in select(questions, ["confident=true", "type=table"])] == [2]
    [run] = evaluate(fake_search(RANKINGS), confident, ["bm25"])
    by_type = to_json([run], by="type")["by_type"]
    assert list(by_type) == ["image", "paragraph", "table"] and groups_of(confident, "type") == list(by_type)
    assert by_type["paragraph"]["mrr@10"] == 1.0 and by_type["table"]["mrr@10"] == 0.5
    assert by_type["image"]["n"] == 0 and by_type["image"]["unanswerable"] == 1
    with pytest.raises(QuestionsError, match="no question has a 'sure' field"):
        select(questions, ["sure=true"])
    with pytest.raises(QuestionsError, match="KEY=VALUE"):
        select(questions, ["confident"])
    with pytest.raises(QuestionsError, match="no question matches"):
        select(questions, ["type=chart"])


def test_report_writes_markdown_and_a_png_chart(tmp_path):
    questions = load_questions(write_jsonl(tmp_path / "q.jsonl", HAND_MADE))
    runs = evaluate(fake_search(RANKINGS), questions, ["bm25", "dense", "hybrid"])
    md, png = write_report(runs, tmp_path / "report", "q.jsonl")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = md.read_text(encoding="utf-8")
    for mode in ("bm25", "dense", "hybrid"):
        assert f"| {mode} | all | 3 | 0.333 | 0.667 |" in text
    assert "![" in text and "(chart.png)" in text
    assert "line 3 (en): a question whose page is not retrieved" in text  # the misses, to look at


def test_the_shipped_question_set_follows_the_contract():
    questions = load_questions(REPO / "eval" / "mhlw.jsonl")
    answerable = [q for q in questions if q.answerable]
    assert sum(q.lang == "ja" for q in answerable) >= 40 and sum(q.lang == "en" for q in answerable) >= 20
    assert any(not q.answerable for q in questions)
    scanned = {"000160131", "000161338"}
    assert sum(all(g.doc_id in scanned for g in q.relevant) for q in answerable) >= 10
    assert not any(g.doc_id == "000161782" for q in questions for g in q.relevant)  # the duplicate is not indexed
    claims = load_questions(REPO / "eval" / "article-claims.jsonl")
    assert any(g == Relevant("soumu-genai-cases-2024", 5) for q in claims for g in q.relevant)  # footnote 10


# --- on the sample index ----------------------------------------------------------------

def _subset(tmp_path: Path, n_per_lang: int = 6) -> Path:
    rows = [json.loads(line) for line in (REPO / "eval" / "mhlw.jsonl").read_text(encoding="utf-8").splitlines()]
    chosen = [r for r in rows if r["lang"] == "ja"][:n_per_lang] + [r for r in rows if r["lang"] == "en"][:n_per_lang]
    chosen.append(next(r for r in rows if not r["relevant"]))
    return write_jsonl(tmp_path / "subset.jsonl", chosen)


def test_the_same_index_and_file_give_the_same_numbers(sample_engine, tmp_path):
    questions = load_questions(_subset(tmp_path))

    def search(query, k, mode):
        return sample_engine.search(query, k=k, mode=mode)

    def without_latency(value):
        if isinstance(value, dict):
            return {k: without_latency(v) for k, v in value.items() if not k.startswith("latency")}
        return value

    def numbers():
        return without_latency(to_json(evaluate(search, questions, ["bm25", "dense", "hybrid"])))

    assert numbers() == numbers()


def test_cli_eval_compares_three_modes_and_writes_the_report(sample_index, tmp_path, monkeypatch, capsys):
    report = tmp_path / "report"
    code, out, err = run_cli(monkeypatch, capsys, "eval", str(_subset(tmp_path)), "--compare", "bm25,dense,hybrid",
                             "--json", "--report", str(report), "--index-dir", str(sample_index))
    assert code == 0, err
    result = json.loads(out)
    assert result["mode"] == "bm25" and result["n"] == 12 and result["unanswerable"] == 1
    assert {"hit@1", "hit@5", "hit@10", "recall@10", "mrr@10", "ndcg@10", "latency_ms_p50", "latency_ms_p95"} <= set(result)
    assert list(result["compare"]) == ["bm25", "dense", "hybrid"]
    assert result["compare"]["hybrid"]["by_lang"]["ja"]["hit@5"] >= 0.8
    assert result["compare"]["bm25"]["by_lang"]["en"]["hit@10"] <= result["compare"]["dense"]["by_lang"]["en"]["hit@10"]
    assert (report / "report.md").is_file() and (report / "chart.png").stat().st_size > 1000


def test_cli_eval_errors_are_one_line(sample_index, tmp_path, monkeypatch, capsys):
    bad = write_jsonl(tmp_path / "bad.jsonl", [HAND_MADE[0], "{oops"])
    for args in ([str(bad)], [str(tmp_path / "missing.jsonl")], [str(_subset(tmp_path)), "--compare", "bm25,tfidf"]):
        code, out, err = run_cli(monkeypatch, capsys, "eval", *args, "--index-dir", str(sample_index))
        assert code == 2 and out == ""
        assert err.startswith("error:") and len(err.strip().splitlines()) == 1, err
    code, _, err = run_cli(monkeypatch, capsys, "eval", str(_subset(tmp_path)), "--index-dir", str(tmp_path / "none"))
    assert code == 2 and "no index" in err


def test_cli_eval_table_keeps_every_number_whole_in_80_columns(sample_index, tmp_path, monkeypatch, capsys):
    import re

    from rich.console import Console

    from govqa import cli

    monkeypatch.setattr(cli, "out", Console(width=80))
    code, out, err = run_cli(monkeypatch, capsys, "eval", str(_subset(tmp_path)), "--compare", "bm25,page-bm25",
                             "--index-dir", str(sample_index))
    assert code == 0, err
    rows = [line for line in out.splitlines() if re.search(r"│ (all|ja|en) ", line)]
    assert len(rows) == 6 and "…" not in out and max(len(line) for line in out.splitlines()) <= 80
    assert all(len(re.findall(r"\b[01]\.\d{3}\b", row)) == 5 for row in rows)  # h@1 h@5 h@10 MRR nDCG


# --- eval --answers: the answer a reader sees first, judged by page ------------------------------

def _answer(cited: list[tuple[str, int]], passages: list[tuple[str, int]], abstained: bool = False,
            text: str = "…[1]") -> "Answer":
    from govqa.models import Answer, Citation

    hits = [Hit(rank=i, score=1.0, doc_id=d, title=d, page=p, text="", source="", url="", lang="ja")
            for i, (d, p) in enumerate(passages, start=1)]
    return Answer(query="q", answer="" if abstained else text, llm="extractive", abstained=abstained, hits=hits,
                  citations=[] if abstained else [Citation(n=i, doc_id=d, page=p) for i, (d, p) in enumerate(cited, 1)])


def test_answer_metrics_on_a_hand_made_case(tmp_path):
    from govqa.evalanswers import AnswerRun, judge_answer

    questions = load_questions(write_jsonl(tmp_path / "q.jsonl", HAND_MADE))
    outcomes = [
        judge_answer(questions[0], _answer([("a", 1)], [("a", 1), ("x", 1)]), 100.0),  # cites its gold page
        judge_answer(questions[1], _answer([("x", 1), ("y", 1)], [("x", 1), ("b", 3)], text="0123456789"), 200.0),
        judge_answer(questions[2], _answer([], [("x", 1)], abstained=True), 300.0),  # abstains on answerable
        judge_answer(questions[3], _answer([("x", 1)], [("x", 1)]), 400.0),  # answers an unanswerable one
    ]
    m = AnswerRun("extractive", outcomes).metrics()
    assert (m["n"], m["unanswerable"]) == (3, 1)
    assert m["gold_cited"] == round(1 / 3, 4)  # the abstention counts as a miss
    assert m["gold_in_passages"] == round(2 / 3, 4)
    assert m["abstain_answerable"] == round(1 / 3, 4) and m["abstain_unanswerable"] == 0.0
    assert m["citations"] == round((1 + 2 + 1) / 3, 2)  # over the three answers given
    assert m["answer_chars"] == round((4 + 10 + 4) / 3, 2)
    assert m["latency_ms_p50"] == 250.0
    only_ja = AnswerRun("extractive", outcomes).metrics("ja")
    assert only_ja["n"] == 2 and only_ja["abstain_unanswerable"] is None  # no unanswerable Japanese question


def test_answer_backends_are_checked():
    from govqa.evalanswers import BackendFailed, llm_names

    assert llm_names(None, None) == (None, ["extractive"])
    assert llm_names("extractive,none", None) == (None, ["extractive", "none"])  # --compare naming backends
    assert llm_names("bm25,hybrid", "none") == ("bm25,hybrid", ["none"])
    with pytest.raises(BackendFailed, match="unknown LLM backend 'gpt9' in --llm"):
        llm_names(None, "extractive,gpt9")
    with pytest.raises(BackendFailed, match="not both"):
        llm_names("extractive", "none")


@pytest.mark.slow
def test_cli_eval_answers_reports_citations_and_abstentions_per_language(sample_index, tmp_path, monkeypatch,
                                                                         capsys):
    report = tmp_path / "report"
    code, out, err = run_cli(monkeypatch, capsys, "eval", str(_subset(tmp_path)), "--answers", "--llm",
                             "extractive,none", "--json", "--report", str(report), "--index-dir", str(sample_index))
    assert code == 0, err
    result = json.loads(out)
    assert result["n"] == 12 and "hit@5" in result  # the retrieval metrics stay as the contract has them
    answers = result["answers"]
    assert answers["llm"] == "extractive" and list(answers["compare"]) == ["extractive", "none"]
    extractive, none = answers["compare"]["extractive"], answers["compare"]["none"]
    assert set(extractive["by_lang"]) == {"ja", "en"}
    assert extractive["by_lang"]["ja"]["gold_cited"] >= 0.8 and extractive["by_lang"]["ja"]["abstain_answerable"] == 0
    assert extractive["unanswerable"] == 1 and extractive["abstain_unanswerable"] is not None
    assert extractive["citations"] >= 1 and extractive["answer_chars"] > 20 and extractive["latency_ms_p50"] > 0
    # passages only: no answer, and the same abstentions (they come before any backend)
    abstained = round(none["abstain_answerable"] * 12 + none["abstain_unanswerable"] * 1)
    assert none["gold_cited"] == 0 and none["citations"] == 0 and none["empty"] == 13 - abstained
    assert none["abstain_answerable"] == extractive["abstain_answerable"]
    assert none["gold_in_passages"] == extractive["gold_in_passages"]  # the same retrieval under both
    md = (report / "report.md").read_text(encoding="utf-8")
    assert "## Answers" in md and "| extractive | ja |" in md and "| none | en |" in md
    assert (report / "answers.png").stat().st_size > 1000


@pytest.mark.slow
def test_cli_eval_answers_errors_are_one_line(sample_index, tmp_path, monkeypatch, capsys):
    subset = str(_subset(tmp_path))
    for args, message in ((["--answers", "--llm", "gpt9"], "unknown LLM backend 'gpt9'"),
                          (["--llm", "none"], "--llm needs --answers"),
                          (["--answers", "--llm", "openai"], "the LLM backend 'openai' gave no answer")):
        monkeypatch.delenv("GOVQA_LLM_BASE_URL", raising=False)
        code, out, err = run_cli(monkeypatch, capsys, "eval", subset, *args, "--index-dir", str(sample_index))
        assert code == 2 and out == "", err
        assert message in err and len(err.strip().splitlines()) == 1, err


def test_cli_eval_filters_and_breaks_down_by_a_field_of_the_questions(sample_index, tmp_path, monkeypatch, capsys):
    rows = [json.loads(line) for line in _subset(tmp_path).read_text(encoding="utf-8").splitlines()]
    typed = write_jsonl(tmp_path / "typed.jsonl", [{**r, "type": "table" if i % 2 else "paragraph", "confident": i < 8}
                                                   for i, r in enumerate(rows)])
    code, out, err = run_cli(monkeypatch, capsys, "eval", str(typed), "--where", "confident=true", "--by", "type",
                             "--compare", "page-bm25,hybrid", "--json", "--index-dir", str(sample_index))
    assert code == 0, err
    result = json.loads(out)
    assert result["mode"] == "page-bm25" and result["n"] == 8
    assert {k: v["n"] for k, v in result["compare"]["hybrid"]["by_type"].items()} == {"paragraph": 4, "table": 4}
    code, out, err = run_cli(monkeypatch, capsys, "eval", str(typed), "--by", "kind", "--index-dir", str(sample_index))
    assert code == 2 and out == "" and err.startswith("error:") and "--by 'kind'" in err
