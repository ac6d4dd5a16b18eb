"""The words of a question that ask rather than say: dropped from the lexical query.

A long question (「…について、具体的な例を挙げて説明してください」) carries its request in
words no page answers with: interrogatives, politeness, verbs of asking. BM25 gives them
IDF like any other word, and in a corpus that seldom says 説明 or 具体 they outweigh the
question's topic. The lists are grammar, not topics: lemmas as `lexical.Tokenizer` gives them.
"""

from __future__ import annotations

import re

_JA = frozenset(
    # interrogatives (どのような -> どの + よう)
    "何 なに どの どう どんな どれ どこ どちら いつ 誰 だれ なぜ 何故 いくつ いくら どういう どのよう よう "
    # asking and politeness: 教えてください, 説明してください, 挙げて, 詳しく, 述べよ, お願いします
    "教える くださる 下さる 説明 述べる 挙げる 具体 具体的 詳しい 詳細 答える 願う お願い 示す "
    # particles parsed as verbs: について (つく), に関して (関する), に対して (対する), によって (よる)
    "つく 関する 対する よる おく "
    # light verbs
    "する いる ある なる できる れる られる".split())
_EN = frozenset("please explain describe tell detail details give list briefly specifically example examples".split())


def content_words(tokens: list[str]) -> list[str]:
    """The tokens without question words; all of them if nothing else would be left."""
    kept = [t for t in tokens if t not in _JA and t not in _EN]
    return kept or tokens


def asks(tokens: list[str]) -> bool:
    """Is a term made only of question words (「説明」, 「挙げる」, "explain")? It says nothing a page could hold."""
    return bool(tokens) and all(t in _JA or t in _EN for t in tokens)


# The request that closes a Japanese question's sentence: 「…について詳しく説明してください。」, 「具体的な例を挙げて説明して
# ください」, 「…を述べなさい」, 「…を教えてください」. What is asked stays; how to answer goes.
_REQUEST = re.compile(  # no two unbounded runs of spaces side by side: a query of spaces must not backtrack
    r"[、,]?(?:それぞれ|具体的に|具体的な?例を挙げて|例を挙げて|詳しく|詳細に|簡潔に|わかりやすく|分かりやすく)?\s?"
    r"(?:(?:説明|解説|提示|列挙|紹介)(?:して|し)?|教えて|示して|示し|挙げて|挙げ|述べて|述べ|答えて|答え)\s?"
    r"(?:ください|下さい|なさい)(?=\s?[。.!！]|\s*$)")


def without_request(query: str) -> str:
    """The question with the requests that close its sentences left out (「…の特徴について教えてください。」 →
    「…の特徴について。」): the embedder reads what is asked, in fewer tokens (~0.7 ms each here). The question
    whole if little else would be left."""
    kept = _REQUEST.sub("", query).strip()
    return kept if len(kept) >= 8 else query
