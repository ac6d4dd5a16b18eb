"""Lexical tokens and language-aware fusion on small, readable cases."""

from govqa.lexical import LexicalIndex, Tokenizer
from govqa.retrieve import FusionConfig, fuse


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
    from govqa.retrieve import lexical_candidates, script_share

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
