"""Lexical tokens and language-aware fusion on small, readable cases."""

from pathlib import Path

from govqa.lexical import LexicalIndex, Tokenizer
from govqa.search.fusion import FusionConfig, fuse


def test_tokens_are_content_words_with_compounds_nfkc_and_lower_case():
    tokens = Tokenizer()("ＭＦ登録年月日のみの変更は軽微変更届出でよいか。Is it MANDATORY?")
    assert "mf" in tokens and "登録年月日" in tokens and "軽微変更届出" in tokens
    assert "mandatory" in tokens
    assert "の" not in tokens and "は" not in tokens and "is" not in tokens and "。" not in tokens


def test_bm25_finds_the_passage_with_the_query_terms():
    texts = ["MFの登録申請には手数料がかかります。", "軽微変更届出で足ります。", "The master file is registered."]
    index = LexicalIndex.build(texts, Tokenizer())
    rows, scores = index.search("手数料はかかりますか", 3)
    assert rows[0] == 0 and scores[0] > 0
    assert list(index.search("zzzz unknown", 3)[0]) == []


def test_fusion_rewards_agreement_between_dense_and_lexical():
    dense = [(1, 0.9), (2, 0.8), (3, 0.7)]
    lexical = [(3, 12.0), (1, 5.0)]
    ranked = fuse(dense, lexical, FusionConfig())
    assert [c.row for c in ranked] == [1, 3, 2]
    assert [c.row for c in fuse(dense, lexical, FusionConfig(method="rrf"))] == [1, 3, 2]
    assert ranked[0].fused <= 1.0


def test_english_query_over_japanese_text_is_not_drowned_by_lexical_noise(tmp_path):
    """Lexical matches of an English query land on the few English scraps of a Japanese
    corpus; those must not outvote the dense ranking of the Japanese passages."""
    from govqa.search.candidates import lexical_candidates, script_share

    class Reader:  # the two attributes lexical_candidates reads
        def __init__(self, texts):
            import numpy as np
            from govqa.lang import detect_lang

            self.lexical = LexicalIndex.build(texts, Tokenizer())
            self.chunk_langs = np.array([detect_lang(t) == "ja" for t in texts])

    texts = ["原薬等登録原簿への登録は任意である。", "Drug Master File (MF) registration form, page header",
             "登録申請の手数料について説明する。"]
    reader = Reader(texts)
    lexical = lexical_candidates(reader, "Is registration in the drug master file mandatory?", "en", 10)
    assert [row for row, _ in lexical] == [1]  # only the English scrap can be matched lexically
    dense = [(0, 0.88), (2, 0.86), (1, 0.80)]
    share = script_share(reader, dense, "en", window=20)  # 1 of 3 dense candidates is English
    ranked = fuse(dense, lexical, FusionConfig(), lexical_share=share)
    assert ranked[0].row == 0
    assert fuse(dense, lexical, FusionConfig(method="rrf"))[0].row == 1  # plain RRF: the noise wins


class _Reader:
    """The parts of IndexReader that candidate generation reads, over a few passages."""

    def __init__(self, texts):
        import numpy as np

        from govqa.lang import detect_lang
        from govqa.store import StoredChunk

        self.tokenizer = Tokenizer()
        self.lexical = LexicalIndex.build(texts, self.tokenizer)
        self.chunk_langs = np.array([detect_lang(t) == "ja" for t in texts])
        self.stored = {i: StoredChunk(i, "doc", i + 1, 0, len(t), t, "", detect_lang(t)) for i, t in enumerate(texts)}


_MF_PASSAGES = [
    "MF登録者は、登録事項を変更しようとするときは、そのMFを利用する承認申請者及び承認取得者に対して事前に通知すること。",
    "軽微な変更の届出にとどまる場合であっても、MF登録者は関係する承認申請者又は承認取得者に通知すること。",
    "登録申請書の様式は規則の様式第120に定めるとおりとする。",
    "Master file: notification of changes",  # an English scrap in a Japanese corpus
    "MF制度とその目的",  # a slide title
    "国内管理人は日本国内に住所を有する者でなければならない。",
]


def test_weighted_lexical_search_counts_each_word_as_much_as_it_is_trusted():
    index = LexicalIndex.build(["軽微変更届出で足ります。", "登録申請の手数料", "届出の様式"], Tokenizer())
    rows, _ = index.search("", 3, weights={"届出": 1.0, "手数": 0.1})
    assert set(rows[:2]) == {0, 2} and rows[2] == 1
    assert index.idf("手数") > index.idf("届出") > 0 and index.idf("存在しない語") == 0


def test_feedback_mines_the_words_the_best_passages_share():
    from govqa.search.crosslingual import feedback_terms

    reader = _Reader(_MF_PASSAGES)
    terms = feedback_terms(_MF_PASSAGES[:2], reader.tokenizer, reader.lexical, n_terms=8)
    assert {"通知", "承認申請", "承認取得"} <= set(terms)
    assert not {"こと", "その", "とき"} & set(terms)  # hiragana words carry no topic


def test_prf_gives_an_english_query_japanese_words_to_match():
    """Dense found passage 0 for an English question; feedback from the best Japanese
    passages lifts passage 1, which shares their rare words; English rows stay out."""
    from govqa.search.bridge import bridge_candidates

    reader = _Reader(_MF_PASSAGES)
    dense = [(0, 0.85), (4, 0.84), (5, 0.80), (1, 0.795), (2, 0.79), (3, 0.77)]
    config = FusionConfig(feedback_docs=2)
    [(found, weight)] = bridge_candidates(reader, "Must the holder tell applicants before changing registered items?",
                                          "en", dense, reader.stored, config, n=10)
    rows = [row for row, _ in found]
    assert rows[:2] == [0, 1] and 3 not in rows and weight == config.feedback_weight
    share = 1 / 6  # one dense candidate in six is English
    before = [c.row for c in fuse(dense, [], config, share)]
    after = fuse(dense, [], config, share, extra=[(found, weight * (1 - share))])
    assert before.index(1) == 3 and [c.row for c in after].index(1) == 2
    assert next(c for c in after if c.row == 1).lexical > 0 and after[0].fused <= 1.0


def test_no_feedback_for_a_query_in_the_corpus_script():
    from govqa.search.bridge import bridge_candidates

    reader = _Reader(_MF_PASSAGES[:3])
    dense = [(0, 0.9), (1, 0.8), (2, 0.7)]
    assert bridge_candidates(reader, "変更の通知", "ja", dense, reader.stored, FusionConfig(), n=10) == []


def test_lexicon_translates_phrases_first_and_keeps_only_words_the_index_knows():
    from govqa.search.crosslingual import Lexicon

    reader = _Reader(_MF_PASSAGES)
    lexicon = Lexicon({"notification": ["通知", "届け"], "change": ["変更", "お釣り", "着替え"],
                       "registered item": ["登録事項"], "item": ["品目", "事項"]})
    terms = lexicon.translate("Must the holder give notification of changes to registered items?",
                              reader.lexical, reader.tokenizer)
    assert set(terms) == {"通知", "変更", "登録事項"}  # 届け, お釣り, 着替え: not in the index
    assert "事項" not in terms  # "item" is covered by the phrase "registered item"


def test_lexicon_keeps_the_sense_the_best_dense_passages_use():
    """A dictionary lists every sense of a word; the dense side read the whole question,
    so only translations found in its best passages are searched, and verbs never are."""
    import numpy as np

    from govqa.search.crosslingual import Lexicon

    passages = ["MF登録者は登録事項の変更を承認申請者に通知すること。", "手数料の額は別に定める。",
                "登録証の交付日を記載し、写しを添付すること。"]
    reader = _Reader(passages)
    lexicon = Lexicon({"fee": ["手数料", "料金"], "notification": ["通知", "届け"], "give": ["交付", "与える"],
                       "holder": ["登録者", "持つ"]})
    question = "Must the holder give notification?"
    every_sense = lexicon.translate(question, reader.lexical, reader.tokenizer, content_only=False)
    assert {"通知", "交付", "登録"} <= set(every_sense)  # 登録者 is indexed as 登録 + 者
    anchored = lexicon.translate(question, reader.lexical, reader.tokenizer, anchor=np.array([0]))
    assert set(anchored) == {"通知", "登録"}  # 交付 ("give") is a sense passage 0 does not use
    with_verb = _Reader([*passages, "書類を持つ。"]).lexical
    assert "持つ" in lexicon.translate("the holder", with_verb, reader.tokenizer, content_only=False)
    assert "持つ" not in lexicon.translate("the holder", with_verb, reader.tokenizer)


def test_an_anchored_lexicon_lifts_the_passage_that_shares_the_question_words():
    from govqa.search.crosslingual import Lexicon
    from govqa.search.bridge import bridge_candidates

    reader = _Reader(_MF_PASSAGES)
    lexicon = Lexicon({"notify": ["通知", "届け"], "minor change": ["軽微な変更"], "change": ["変更", "着替え"],
                       "notification": ["届出", "通知"]})
    dense = [(2, 0.85), (0, 0.84), (1, 0.83), (5, 0.80)]  # dense put the form passage first
    config = FusionConfig(feedback_docs=0, lexicon_anchor=3)
    [(found, weight)] = bridge_candidates(reader, "Must the holder notify applicants of a minor change notification?",
                                          "en", dense, reader.stored, config, n=10, lexicon=lexicon)
    assert [row for row, _ in found][:2] == [1, 0] and weight == config.lexicon_weight
    ranked = fuse(dense, [], config, 0.0, extra=[(found, weight)])
    assert ranked[0].row == 1


def test_short_passages_lose_a_little_dense_score():
    from govqa.search.candidates import penalise_short

    reader = _Reader(_MF_PASSAGES)
    dense = [(4, 0.86), (0, 0.85)]  # a slide title edges out the answer
    assert [row for row, _ in penalise_short(dense, reader.stored, chars=50, penalty=0.03)] == [0, 4]
    assert penalise_short(dense, reader.stored, chars=50, penalty=0.0) == dense


def test_the_product_offers_four_modes_and_bench_registers_the_research_variants():
    import importlib
    import sys

    from govqa.evaluate import parse_modes
    from govqa.search.retrieve import MODES, VARIANTS

    assert MODES == ("hybrid", "dense", "lexical", "page-bm25")
    assert parse_modes(",".join(["bm25", *MODES])) == ["bm25", *MODES]
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, where bench/ lives
    variants = importlib.import_module("bench.variants")
    assert {"hybrid-v1", "hybrid-v2", "hybrid-nolexicon"} <= set(VARIANTS) and "hybrid-v1" not in MODES
    assert parse_modes("bm25,hybrid-v2") == ["bm25", "hybrid-v2"]
    assert all(mode in ("hybrid", "dense", "lexical", "page-lexical") for mode, _ in VARIANTS.values())
    assert len(variants.HYBRID) >= 18


def _hits(texts):
    from govqa.models import Hit

    return [Hit(rank=i + 1, score=1.0 - i / 10, doc_id="d", title="t", page=i + 1, text=t, source="s", url="u",
                lang="ja") for i, t in enumerate(texts)]


def test_a_cross_encoder_reorders_the_hits_and_its_reading_becomes_the_score():
    from govqa.rerank import rerank

    class Scorer:  # stands in for a CrossEncoder: prefers passages that mention 手数料
        def score(self, query, passages):
            return [3.0 if "手数料" in p else -1.0 for p in passages]

    hits = rerank("手数料は？", _hits(["様式について", "手数料は不要", "目的"]), Scorer(), k=2)
    assert [h.page for h in hits] == [2, 1] and [h.rank for h in hits] == [1, 2]
    assert 0.9 < hits[0].score < 1.0 and hits[1].score < 0.5


def test_a_local_cross_encoder_model_when_one_is_given():
    import os

    import pytest

    path = os.environ.get("GOVQA_TEST_RERANKER")
    if not path:
        pytest.skip("set GOVQA_TEST_RERANKER to a local cross-encoder folder (none is installed here)")
    from govqa.rerank import CrossEncoderScorer, rerank

    hits = rerank("MFの登録に手数料は必要か", _hits(["MF制度の目的", "MFの登録申請には手数料が必要です。"]),
                  CrossEncoderScorer(path), k=2)
    assert hits[0].page == 2


def test_the_cross_encoder_backend_loads_a_local_model_offline(tmp_path):
    """A tiny untrained BERT written here stands in for a real reranker: it checks loading
    and scoring through sentence-transformers, not ranking quality."""
    import pytest

    pytest.importorskip("sentence_transformers")
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    from govqa.rerank import CrossEncoderScorer, rerank

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"mfの登録手数料制度目的は必要か"]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt")).save_pretrained(tmp_path)
    config = BertConfig(vocab_size=len(vocab), hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
                        intermediate_size=16, num_labels=1, max_position_embeddings=64)
    BertForSequenceClassification(config).save_pretrained(tmp_path)
    scorer = CrossEncoderScorer(str(tmp_path))
    scores = scorer.score("MFの手数料", ["MF制度の目的", "手数料が必要"])
    assert len(scores) == 2 and all(0.0 <= s <= 1.0 for s in scores)
    assert [h.rank for h in rerank("MFの手数料", _hits(["MF制度の目的", "手数料が必要"]), scorer, k=2)] == [1, 2]


def test_a_missing_reranker_model_is_one_clear_error(tmp_path):
    import pytest

    from govqa.rerank import CrossEncoderScorer, RerankerError

    with pytest.raises(RerankerError, match="cannot load the cross-encoder"):
        CrossEncoderScorer(str(tmp_path / "no-model"))


def test_the_shipped_lexicon_is_the_default_and_none_turns_it_off(sample_index):
    import subprocess
    import sys

    import pytest

    from govqa.config import Settings
    from govqa.search.crosslingual import SHIPPED_LEXICON
    from govqa.engine import Engine
    from govqa.errors import GovqaError

    engine = Engine.open(Settings(index_dir=sample_index))
    lexicon = engine._lexicon()
    assert lexicon.path == SHIPPED_LEXICON.resolve()
    terms = lexicon.translate("Is a registration fee required?", engine.reader.lexical, engine.reader.tokenizer)
    assert {"登録", "必須"} <= set(terms)  # JMdict words for "registration", "required", known to the index
    english = "Is a fee required to apply for MF registration?"
    assert engine.search(english, k=10)[0].doc_id == "000160131"  # the scanned Q&A that answers it

    assert Engine.open(Settings(index_dir=sample_index, lexicon="none"))._lexicon() is None
    with pytest.raises(GovqaError, match="no lexicon at"):
        Engine.open(Settings(index_dir=sample_index, lexicon=sample_index / "no-such.tsv"))
    result = subprocess.run([sys.executable, "-m", "govqa.cli", "search", english, "--index-dir", str(sample_index)],
                            capture_output=True, text=True, env={**__import__("os").environ, "GOVQA_LEXICON": "/nope.tsv"})
    assert result.returncode != 0 and result.stderr.strip().count("\n") == 0 and "no lexicon at" in result.stderr


BRIDGE_IN_A_CHILD = r"""
import hashlib, sys
from govqa.search.crosslingual import feedback_terms
from govqa.lexical import LexicalIndex, Tokenizer
texts = ["原薬の登録申請と手数料の納付", "製造所の変更と軽微変更届出", "国内管理人の選任と届出", "承認申請書の記載事項"]
tok = Tokenizer()
lexical = LexicalIndex.build(texts * 3, tok)
terms = feedback_terms(texts, tok, lexical, 5)  # many words tie on IDF: which five win must not vary
rows, scores = lexical.search("", 12, weights={t: 0.1 * (i % 3 + 1) for i, t in enumerate(reversed(list(terms)))})
print(list(terms), hashlib.md5(rows.tobytes() + scores.tobytes()).hexdigest())
"""


def test_feedback_and_weighted_search_are_the_same_in_every_process():
    import os
    import subprocess
    import sys

    results = {subprocess.run([sys.executable, "-c", BRIDGE_IN_A_CHILD], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in range(1, 7)}
    assert len(results) == 1, results  # Python salts str hashes per process: no set order may leak into results


# --- page-level BM25 (pagelex.py) -----------------------------------------------------------

def _small_corpus(folder: Path) -> Path:
    folder.mkdir()
    (folder / "fees.txt").write_text("原薬等登録原簿の登録申請には手数料が必要です。手数料の額は政令で定められています。",
                                     encoding="utf-8")
    (folder / "minor.md").write_text("# 軽微変更\n\n登録年月日のみの変更は軽微変更届出で差し支えありません。", encoding="utf-8")
    return folder


def test_an_index_from_before_page_bm25_is_upgraded_by_indexing_again(tmp_path):
    import shutil

    import pytest

    from govqa.build import build_index
    from govqa.config import Settings
    from govqa.engine import Engine
    from govqa.errors import IndexFormatError
    from govqa.store import current_generation

    corpus = _small_corpus(tmp_path / "corpus")
    settings = Settings(index_dir=tmp_path / "index", manifest=tmp_path / "none.toml")
    build_index([corpus], settings)
    shutil.rmtree(current_generation(settings.index_dir) / "page-lexical")  # as an index written before issue 14
    old = Engine.open(settings)
    assert old.reader.page_lexical is None and old.search("手数料", k=1)[0].doc_id == "fees"  # hybrid still answers
    with pytest.raises(IndexFormatError, match="re-run `govqa index` to upgrade it"):
        old.search("手数料", k=1, mode="page-bm25")
    events = []
    report = build_index([corpus], settings, on_event=events.append)
    assert events == ["index upgraded: page-level BM25 added (nothing re-embedded)"] and report.embedded == 0
    hits = Engine.open(settings).search("軽微変更の届出", k=2, mode="page-bm25")
    assert [h.doc_id for h in hits] == ["minor"] and hits[0].page == 1
    assert build_index([corpus], settings, on_event=events.append) and len(events) == 1  # said once


def _rank_of(hits, doc_id: str, page: int) -> int | None:
    return next((h.rank for h in hits if (h.doc_id, h.page) == (doc_id, page)), None)


def _ranks(engine, question: str, gold: tuple[str, int], base: dict | None = None,
           **changes) -> tuple[int | None, int | None]:
    """Where the gold page lands with the defaults (changed by `base`), and with `changes` on top."""
    from dataclasses import replace

    from govqa.search.retrieve import retrieve

    def ranked(config: FusionConfig):
        return retrieve(engine.reader, engine.embedder, question, k=10, config=config, lexicon=engine._lexicon())

    with_lever = ranked(replace(FusionConfig(), **base)) if base else engine.search(question, k=10)
    without = ranked(replace(FusionConfig(), **(base or {}), **changes))
    return _rank_of(with_lever, *gold), _rank_of(without, *gold)


def test_page_level_bm25_lifts_the_page_whose_words_are_spread_over_its_passages(sample_engine):
    """eval/mhlw.jsonl lines 26 and 36: the question's words are on the gold page, but no single
    ~400-character passage holds them all; scoring the page as a whole puts it first (measured without
    term proximity, which lifts the first of them too)."""
    alone = {"proximity_weight": 0.0}
    assert _ranks(sample_engine, "同一の外国製造業者の同じ原薬について、国内の複数の業者がそれぞれ国内管理人として"
                                 "登録申請した場合はどう扱われるか。", ("000161338", 6), alone, page_weight=0.0) == (1, 2)
    assert _ranks(sample_engine, "細胞・組織加工医薬品等に関連するMFは、開発のどの段階から登録申請して利用できるか。",
                  ("000160536", 2), alone, page_weight=0.0) == (1, 2)


def test_term_proximity_lifts_the_page_that_holds_the_questions_words_together(sample_engine):
    """eval/mhlw.jsonl line 8 and eval/mhlw-guideline.jsonl line 55: another page names the same words
    apart; on the gold page one short stretch holds them (医療用…一般用…原薬…承認申請; 細胞純度…試験方法…記載例)."""
    assert _ranks(sample_engine, "医療用にも一般用にも使われる原薬のMF登録番号は、どの承認申請で引用できるか。",
                  ("000160131", 5), proximity_weight=0.0) == (1, 2)
    assert _ranks(sample_engine, "細胞純度の試験方法として記載例に挙がっているのは何か。", ("000161492", 26),
                  proximity_weight=0.0) == (1, 2)


def test_document_level_bm25_finds_the_right_document_first(sample_engine):
    """eval/mhlw-guideline.jsonl line 43: the drafting guide for the application form
    (申請書…資料の作成要領) answers; its title, headings and first page share the question's words
    (試験方法), and without the document's score a page of another document comes first (measured
    without term proximity, which lifts it too). Line 38 showed the same until the slide page that came
    before it read its two columns as whole paragraphs (stop 19); it is now first either way."""
    alone = {"proximity_weight": 0.0}
    assert _ranks(sample_engine, "外国で作られる登録品の場合、申請書に誰の名前と住所を書くか。", ("000161492", 6),
                  alone, doc_weight=0.0) == (1, 1)
    assert _ranks(sample_engine, "使っている試験方法が日本薬局方などの公知の方法でないときは、何を示す必要があるか。",
                  ("000161492", 9), alone, doc_weight=0.0) == (1, 2)


def test_an_english_question_is_also_searched_as_its_japanese_words(sample_engine):
    """eval/mhlw-guideline.jsonl: the dense side reads the English question and, moved toward it,
    its best translated words (添付, 資料, 変更 ...); the page that answers in Japanese rises."""
    assert _ranks(sample_engine, "Is an application to change only the attached documents of a master file accepted?",
                  ("000203155", 5), translated_query=0.0) == (2, None)
    assert _ranks(sample_engine, "From which date does the 2014 guideline on using the master file apply?",
                  ("000203155", 1), translated_query=0.0) == (2, 6)


def test_hits_report_the_questions_own_cosine_and_japanese_questions_embed_once(sample_engine):
    """The moved vector ranks; the abstention thresholds were fitted on the question's own cosine,
    which the hits keep showing (the same as a plain dense search's)."""
    from govqa.lang import detect_lang
    from govqa.search.retrieve import retrieve

    class Counting:  # the real embedder, counting the query embeddings it is asked for
        def __init__(self, inner):
            self.inner, self.id, self.dim, self.queries = inner, inner.id, inner.dim, []

        def embed_query(self, text):
            self.queries.append(text)
            return self.inner.embed_query(text)

    question = "From which date does the 2014 guideline on using the master file apply?"
    embedder = Counting(sample_engine.embedder)
    hybrid = retrieve(sample_engine.reader, embedder, question, k=10, lexicon=sample_engine._lexicon())
    dense = {(h.doc_id, h.page, h.start): h.dense_score
             for h in retrieve(sample_engine.reader, embedder, question, k=100, mode="dense")}
    assert len(embedder.queries) == 3 and detect_lang(embedder.queries[1]) == "ja"  # question, its words, dense
    shown = [(h.dense_score, dense[(h.doc_id, h.page, h.start)]) for h in hybrid if (h.doc_id, h.page, h.start) in dense]
    assert len(shown) >= 3 and all(own == plain for own, plain in shown)
    embedder.queries.clear()
    retrieve(sample_engine.reader, embedder, "MF登録の申請手数料はいくらか", k=10, lexicon=sample_engine._lexicon())
    assert embedder.queries == ["MF登録の申請手数料はいくらか"]


def test_the_request_closing_a_question_is_not_embedded():
    """「…について詳しく説明してください。」 asks for a way of answering, not for anything a page says: the query
    embedding reads what is asked. A question that is all request, or has none, is embedded whole."""
    from govqa.search.querywords import without_request

    assert without_request("住宅ローンの PD を推計する主な手法と、その手法の特徴について教えてください。") == \
        "住宅ローンの PD を推計する主な手法と、その手法の特徴について。"
    assert without_request("火災保険の収益改善策を講じているか、具体的な例を挙げて説明してください。さらに、利益への影響に"
                           "ついても教えてください。") == "火災保険の収益改善策を講じているか。さらに、利益への影響についても。"
    assert without_request("2017年度から2021年度までのどの年が最も高かったか？また、その理由についても説明しなさい。") == \
        "2017年度から2021年度までのどの年が最も高かったか？また、その理由についても。"
    assert without_request("高リスク地域の料率体系をどのように設計すべきか、具体的な配慮点を述べなさい。") == \
        "高リスク地域の料率体系をどのように設計すべきか、具体的な配慮点を。"
    # a query of 20,000 spaces (or of requests) is read in one pass: no backtracking between runs of spaces
    assert without_request(" " * 20_000 + "ください") == " " * 20_000 + "ください"
    assert without_request("具体的に " * 5_000 + "説明してください").endswith("具体的に")
    for whole in ("MF登録の申請手数料はいくらか", "説明してください。", "手順を教えてください",
                  "What is a master file? Please explain.", "記載例を参照してください。に関する問い"):
        assert without_request(whole) == whole


def test_retrieval_embeds_the_question_without_its_request(sample_engine):
    """The hits' cosine is the one of the question without 「…を教えてください」, and the lexical side still reads the
    question whole; FusionConfig(embed_request=True) embeds it as written (as before stop 22)."""
    from govqa.search.fusion import FusionConfig
    from govqa.search.retrieve import retrieve

    class Counting:
        def __init__(self, inner):
            self.inner, self.id, self.dim, self.queries = inner, inner.id, inner.dim, []

        def embed_query(self, text):
            self.queries.append(text)
            return self.inner.embed_query(text)

    embedder = Counting(sample_engine.embedder)
    hits = retrieve(sample_engine.reader, embedder, "MF登録申請の手数料について教えてください。", k=5)
    assert embedder.queries == ["MF登録申請の手数料について。"]
    assert (hits[0].doc_id, hits[0].page) == ("000160131", 3)
    embedder.queries.clear()
    retrieve(sample_engine.reader, embedder, "MF登録申請の手数料について教えてください。", k=5,
             config=FusionConfig(embed_request=True))
    assert embedder.queries == ["MF登録申請の手数料について教えてください。"]


# --- pages whose text layer is unreadable (garbled.py) --------------------------------------

def test_a_page_whose_fonts_have_no_unicode_map_is_read_by_ocr_and_cached(tmp_path):
    """j-bunpu2023.pdf (allganize-dev) shows Japanese tables whose text layer reads `èÿ0÷Ïøwj_ßoöí`;
    its OCR finds the words a question names (投資部門別, 銀行). Readable pages, and European text
    with accents, are left alone."""
    from govqa.garbled import japanese_only

    assert japanese_only("jpn+eng") == "jpn" and japanese_only("eng+jpn+jpn_vert") == "jpn+jpn_vert"
    assert japanese_only("eng") == "eng"  # no Japanese model asked for: nothing to leave the English one out for
    import pytest

    from govqa.garbled import OcrCache, is_garbled, repair_pages
    from govqa.parse import ocr_available, parse_file

    pdf = Path(__file__).resolve().parents[2] / "shared" / "samples" / "allganize-dev" / "pdfs" / "j-bunpu2023.pdf"
    if not pdf.is_file() or not ocr_available("jpn+eng"):
        pytest.skip("allganize-dev samples or Tesseract (jpn) not present")
    doc = parse_file(pdf, pages=[1, 10])
    first, table = doc.pages
    assert is_garbled(table.text) and not is_garbled(first.text) and "投資部門別" not in table.text
    assert not is_garbled("Le délégué général a présenté à l'assemblée les données économiques de l'année écoulée.")
    warnings = []
    cache = OcrCache(tmp_path / "ocr.sqlite")
    fixed, numbers = repair_pages(doc.pages, str(pdf), "sha", "ja", "jpn+eng", 300, cache, warnings.append)
    assert numbers == [10] and fixed[0] is first and fixed[1].ocr and not warnings
    assert "投資部門別" in fixed[1].text and "銀行" in fixed[1].text
    # Read by the Japanese model alone: the English one made 「金 ak 機関」 and 「生 ft 保険会社」 of these labels.
    assert "金融機関" in fixed[1].text and "生命保険会社" in fixed[1].text
    again, _ = repair_pages(doc.pages, "/no/such/file.pdf", "sha", "ja", "jpn+eng", 300, cache, warnings.append)
    assert again[1].text == fixed[1].text and not warnings  # from the cache: the file is not opened again
    assert repair_pages(doc.pages, str(pdf), "sha", "en", "jpn+eng", 300, cache, warnings.append)[1] == []


def test_page_and_document_scores_see_only_the_allowed_rows(tmp_path):
    """With a collection filter, the page-bm25 baseline and the page/document evidence of hybrid
    never bring back (or scale by) a page of a document outside it."""
    import numpy as np

    from govqa.build import build_index
    from govqa.config import Settings
    from govqa.engine import Engine
    from govqa.search.retrieve import retrieve
    from govqa.store import RowFilter

    corpus = _small_corpus(tmp_path / "corpus")
    settings = Settings(index_dir=tmp_path / "index", manifest=tmp_path / "none.toml")
    build_index([corpus], settings)
    engine = Engine.open(settings)
    reader = engine.reader
    rows = reader.chunks(list(range(reader.size)))
    only_fees = RowFilter(np.array([rows[i].doc_id == "fees" for i in range(reader.size)]))
    question = "軽微変更の届出と登録申請の手数料"
    assert {h.doc_id for h in retrieve(reader, engine.embedder, question, mode="page-bm25")} == {"fees", "minor"}
    assert [h.doc_id for h in retrieve(reader, engine.embedder, question, mode="page-bm25", allowed=only_fees)] == ["fees"]
    assert [h.doc_id for h in retrieve(reader, engine.embedder, question, allowed=only_fees)] == ["fees"]
