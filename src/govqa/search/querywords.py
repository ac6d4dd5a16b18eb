"""The words of a question that ask rather than say: dropped from the lexical query.

A long question (「…について、具体的な例を挙げて説明してください」) carries its request in
words no page answers with: interrogatives, politeness, verbs of asking. BM25 gives them
IDF like any other word, and in a corpus that seldom says 説明 or 具体 they outweigh the
question's topic. The lists are grammar, not topics: lemmas as `lexical.Tokenizer` gives them.
"""

from __future__ import annotations

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
