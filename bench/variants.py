"""Research variants of retrieval: earlier defaults and the levers measured against them.

Importing this module registers each one as a mode name (govqa.search.retrieve.register_variant),
so `govqa eval --compare NAME` (when this folder is importable: run from the repository)
and the bench scripts can run them; the product itself offers hybrid, dense, lexical
(bm25) and page-bm25. docs/retrieval.md has the numbers behind every name.
"""

from __future__ import annotations

from dataclasses import replace

from govqa.search.fusion import FusionConfig
from govqa.search.retrieve import register_variant

# Before issue 14 (the defaults as they were: no page- or document-level evidence, no term proximity).
V2 = FusionConfig(page_weight=0.0, doc_weight=0.0, question_words=False, proximity_weight=0.0)

HYBRID = {
    # Earlier defaults and the levers measured against them (issue 6).
    "hybrid-v1": replace(V2, feedback_docs=0, short_penalty=0.0, lexicon_weight=0.0),
    "hybrid-v2": V2,
    "hybrid-noprf": replace(V2, feedback_docs=0),
    "hybrid-noshort": replace(V2, short_penalty=0.0),
    "hybrid-prf5": replace(V2, feedback_docs=5, feedback_weight=0.3),
    "hybrid-prf5w5": replace(V2, feedback_docs=5, feedback_weight=0.5),
    "hybrid-rrf": replace(V2, method="rrf", feedback_docs=0, short_penalty=0.0, lexicon_weight=0.0),
    "hybrid-lex05": replace(V2, lexical_weight=0.5),
    "hybrid-lex2": replace(V2, lexical_weight=2.0),
    "hybrid-page": replace(V2, page_bonus=0.1),
    "hybrid-nolexicon": replace(V2, lexicon_weight=0.0),
    # The lexicon as first measured: every sense the index knows.
    "hybrid-lexall": replace(V2, lexicon_anchor=0, lexicon_content_only=False),
    "hybrid-lexanchor": replace(V2, lexicon_content_only=False),
    "hybrid-lexcontent": replace(V2, lexicon_anchor=0),
    "hybrid-lexanchor5": replace(V2, lexicon_anchor=5),
    "hybrid-lexanchor20": replace(V2, lexicon_anchor=20),
    # Issue 14: page-level evidence, document-level evidence, question words, a coverage ceiling.
    "hybrid-nopage": FusionConfig(page_weight=0.0),
    "hybrid-nodoc": FusionConfig(doc_weight=0.0),
    "hybrid-withqw": FusionConfig(question_words=True),
    "hybrid-qw": replace(V2, question_words=True),
    **{f"hybrid-pg{int(w * 100):02d}": replace(V2, page_weight=w) for w in (0.25, 0.5, 0.75, 1.0, 1.5)},
    **{f"hybrid-pg{int(w * 100):02d}-doc25": replace(V2, page_weight=w, doc_weight=0.25) for w in (0.5, 0.75, 1.0)},
    **{f"hybrid-pg{int(w * 100):02d}-doc10": replace(V2, page_weight=w, doc_weight=0.1) for w in (0.5, 0.75, 1.0)},
    **{f"hybrid-pg{int(w * 100):02d}-lex05": replace(V2, page_weight=w, lexical_weight=0.5) for w in (0.5, 1.0)},
    **{f"hybrid-pg{int(w * 100):02d}-qw": replace(V2, page_weight=w, question_words=True) for w in (0.25, 0.5, 1.0, 1.5)},
    **{f"hybrid-doc{int(w * 100):02d}": replace(V2, doc_weight=w) for w in (0.1, 0.25, 0.5)},
    **{f"hybrid-pg{int(p * 100):02d}-doc{int(w * 100):02d}-qw": replace(V2, page_weight=p, doc_weight=w, question_words=True)
       for p in (0.25, 0.5) for w in (0.1, 0.25)},
    **{f"hybrid-cov{int(c * 100):02d}": replace(V2, lexical_coverage=c) for c in (0.5, 1.0, 1.5)},
    **{f"hybrid-pg25-doc25-qw-cov{int(c * 100):02d}": replace(V2, page_weight=0.25, doc_weight=0.25, question_words=True,
                                                              lexical_coverage=c) for c in (0.5, 1.0)},
    # Page- and document-level signals for English questions through the lexicon's Japanese words.
    **{f"hybrid-bridge-pg{int(p * 100):02d}-doc{int(d * 100):02d}": FusionConfig(bridge_pages=p, bridge_docs=d)
       for p, d in ((0.5, 0.25), (0.5, 0.0), (0.25, 0.0), (1.0, 0.0), (0.0, 0.25), (0.25, 0.1))},
    # An English question's vector moved toward its translated words' (stop 15): off, and other weights.
    "hybrid-notrans": FusionConfig(translated_query=0.0),
    **{f"hybrid-trans{int(w * 100):03d}": FusionConfig(translated_query=w) for w in (0.5, 1.5, 2.0)},
    **{f"hybrid-trans-words{n}": FusionConfig(translated_words=n) for n in (4, 6, 12, 20)},
    # Term proximity (stop 17): off (the defaults before it), other weights, windows and depths.
    "hybrid-noprox": FusionConfig(proximity_weight=0.0),
    **{f"hybrid-prox{int(w * 100):02d}": FusionConfig(proximity_weight=w) for w in (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)},
    **{f"hybrid-prox-chars{c}": FusionConfig(proximity_chars=c) for c in (40, 60, 120)},
    **{f"hybrid-prox-pages{n}": FusionConfig(proximity_pages=n) for n in (15, 30)},
    # The query embedded with the request closing its sentences (「…説明してください」), as before stop 22.
    "hybrid-embed-request": FusionConfig(embed_request=True),
}
LEXICAL = {
    "dense-embed-request": ("dense", FusionConfig(embed_request=True)),
    "page-bm25-qw": ("page-lexical", FusionConfig(question_words=True)),
    "bm25-qw": ("lexical", FusionConfig(question_words=True)),
}

for _name, _config in HYBRID.items():
    register_variant(_name, "hybrid", _config)
for _name, (_mode, _config) in LEXICAL.items():
    register_variant(_name, _mode, _config)
