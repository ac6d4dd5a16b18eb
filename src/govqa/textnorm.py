"""Text clean-up shared by every stage: Unicode normalization, Japanese spacing, decoding."""

from __future__ import annotations

import re
import unicodedata

# Kana, kanji and the Japanese punctuation that survives NFKC (、。「」・ー…).
CJK = (
    "\u2e80-\u2fdf\u3000-\u303f\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
)
_CJK_CHAR = re.compile(f"[{CJK}]")
# Kana and kanji: the letters of Japanese words (no punctuation, no full-width Latin).
JAPANESE_LETTER = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
_HSPACE = re.compile(r"[^\S\n]+")
_INVISIBLE = re.compile("[\x00-\x08\x0e-\x1f\x7f\u00ad\u200b-\u200d\u2060\ufeff\ufffd]")
_BETWEEN_CJK = re.compile(f"(?<=[{CJK}])[ \t]+(?=[{CJK}])")
# CJK Radicals Supplement characters that NFKC leaves alone, mapped to the ideographs they stand for
# (Unicode's EquivalentUnifiedIdeograph.txt; see data/README.md). Text layers of PDFs printed by some
# programs hold 「⻑期」 and 「国⺠」 for 「長期」 and 「国民」; NFKC already maps the Kangxi radicals (⽇ -> 日).
_RADICALS = str.maketrans(
    "⺁⺂⺃⺄⺅⺆⺇⺈⺉⺊⺋⺌⺍⺎⺏⺐⺑⺒⺓⺔⺕⺖⺗⺘⺙⺛⺜⺝⺞⺠⺡⺢⺣⺤⺥⺦⺧⺨⺩⺪⺫⺬⺭⺮⺯⺰⺱⺲⺳⺴⺵⺶⺷⺸⺹⺺"
    "⺻⺼⺽⺾⺿⻀⻁⻂⻃⻄⻅⻆⻇⻈⻉⻊⻋⻌⻍⻎⻏⻐⻑⻒⻓⻔⻕⻖⻗⻘⻙⻚⻛⻜⻝⻞⻟⻠⻡⻢⻣⻤⻥⻦⻧⻨⻩⻪⻫⻬⻭⻮⻯⻰⻱⻲",
    "厂乛乚乙亻冂𠘨刀刂卜㔾小小兀尣尢𡯂巳幺彑𫜹忄心扌攵旡日月歺民氵氺灬爫爫丬牛犭王𤴔目示礻𥫗糹纟罓罒㓁冗𦉫羊𦍌𦍋耂肀"
    "聿肉𦥑艹艹艹虎衤覀西见角𧢲讠贝𧾷车辶辶辶邑钅長镸长门𨸏阝雨青韦页风飞食𩙿飠饣𩠐马骨鬼鱼鸟卤麦黄黾斉齐歯齿竜龙龜亀",
)
# After NFKC full-width brackets and digits are ASCII: OCR's "( 答)", "平成 17 年" read "(答)", "平成17年".
_OCR_SPACE = re.compile(f"(?<=[{CJK}])[ \t]+(?=[\\d()\\[\\],.:;!?])|(?<=[\\d()\\[\\]])[ \t]+(?=[{CJK}])")


def normalize(text: str) -> str:
    """NFKC (radicals as the ideographs they stand for), one space between words, no blank lines, no invisible
    characters."""
    text = unicodedata.normalize("NFKC", text.translate(_RADICALS)).replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    lines = (_HSPACE.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def is_cjk(char: str) -> bool:
    return bool(char) and _CJK_CHAR.match(char) is not None


def squeeze_cjk_spaces(text: str) -> str:
    """Drop spaces between two Japanese characters (a wrapped HTML line); keep them between Latin words."""
    return _BETWEEN_CJK.sub("", text)


def squeeze_ocr_spaces(text: str) -> str:
    """Drop the spaces Tesseract puts between Japanese characters, digits and brackets."""
    return _OCR_SPACE.sub("", squeeze_cjk_spaces(text))


_SPACE_IN_BRACKETS = re.compile(f"(?<=\\()[ ]+(?=[{CJK}])|(?<=[{CJK}])[ ]+(?=\\))")
_LETTER_SPACED = re.compile(f"(?<!\\S)[{CJK}](?: [{CJK}]){{2,}}(?!\\S)")


def unspace_letters(text: str) -> str:
    """「事 務 連 絡」 -> 「事務連絡」: headings set with a space after every character."""
    text = _LETTER_SPACED.sub(lambda m: m.group().replace(" ", ""), text)
    return _SPACE_IN_BRACKETS.sub("", text)


def join_lines(first: str, second: str) -> str:
    """Join two lines of one paragraph: no space in Japanese, one space in English."""
    if not first or not second:
        return first or second
    if first.endswith("-") and first[-2:-1].isalpha() and second[0].islower():
        return first[:-1] + second  # "infor-" + "mation"
    if is_cjk(first[-1]) or is_cjk(second[0]) or first.endswith("-"):
        return first + second
    return f"{first} {second}"


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Decode text of unknown encoding (decode.decode_text, without its report of replaced bytes)."""
    from .decode import decode_text

    return decode_text(data, declared).text
