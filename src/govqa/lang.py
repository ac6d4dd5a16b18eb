"""Script and language detection shared by chunking, retrieval and answers."""

from __future__ import annotations

import re

_JA = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")
_LATIN = re.compile(r"[A-Za-z]")


def japanese_ratio(text: str) -> float:
    """Share of Japanese characters among Japanese + Latin letters."""
    ja = len(_JA.findall(text))
    latin = len(_LATIN.findall(text))
    return ja / (ja + latin) if ja + latin else 0.0


def detect_lang(text: str) -> str:
    """'ja' when Japanese script carries the text, else 'en'.

    A Japanese character carries more meaning than a Latin letter, so a modest
    share already means the text is Japanese.
    """
    return "ja" if japanese_ratio(text) >= 0.2 else "en"
