"""Japanese text and CSV in every encoding public bodies use, damaged or not: the Japanese stays searchable."""

from __future__ import annotations

from pathlib import Path

import pytest

from govqa.build import build_index
from govqa.config import Settings
from govqa.decode import decode_text
from govqa.engine import Engine
from govqa.parse import parse_file

SNOW = "除雪計画について\n大雪の際は幹線道路から順に除雪車を出動させます。通学路の除雪は午前六時までに終えます。\n"
WINDOW = "窓口の混雑について\n年度末の住民票の交付窓口は大変混み合います。オンライン申請をご利用ください。\n"
MF = "原薬等登録原簿について\nMF登録年月日のみの変更は軽微変更届出で差し支えありません。外国製造業者も登録できます。\n"


def damaged_utf8(text: str) -> bytes:
    """Valid UTF-8 with three bad bytes: one cut character, one stray continuation byte, one 0xFF."""
    data = bytearray(text.encode("utf-8"))
    data[4:5] = b"\xff"  # inside the heading's second character
    data.insert(len(data) - 4, 0x80)  # a stray continuation byte before the last 。
    return bytes(data) + "末尾".encode("utf-8")[:-1]  # a file cut in the middle of a character


@pytest.mark.parametrize("encoding", ["shift_jis", "cp932", "euc_jp", "iso2022_jp", "utf-16", "utf-16-le", "utf-8-sig"])
def test_each_japanese_encoding_decodes_exactly(encoding):
    text = SNOW + "①②③の番号は機種依存文字です。\n" if encoding == "cp932" else SNOW
    decoded = decode_text(text.encode(encoding))
    assert decoded.text == text and decoded.replaced == 0


def test_a_few_bad_bytes_are_replaced_and_the_rest_kept():
    decoded = decode_text(damaged_utf8(MF))

    assert decoded.encoding == "utf-8" and 1 <= decoded.replaced <= 6
    assert "MF登録年月日のみの変更は軽微変更届出で差し支えありません。" in decoded.text
    assert not any("\u00c0" <= ch <= "\u00ff" for ch in decoded.text)  # no Latin-1 mojibake (ç, é, ã…)
    assert decoded.warning("memo.txt").startswith("memo.txt: ")


def test_damaged_shift_jis_stays_shift_jis():
    data = bytearray(WINDOW.encode("cp932"))
    data[3] = 0xFF
    decoded = decode_text(bytes(data))
    assert decoded.encoding == "cp932" and decoded.replaced >= 1
    assert "年度末の住民票の交付窓口は大変混み合います。" in decoded.text


def test_the_damaged_file_is_named_in_a_warning(tmp_path):
    path = tmp_path / "memo.txt"
    path.write_bytes(damaged_utf8(MF))
    warnings: list[str] = []

    doc = parse_file(path, warn=warnings.append)

    assert "軽微変更届出で差し支えありません" in doc.pages[0].text
    assert len(warnings) == 1 and warnings[0].startswith(f"{path}: ") and "replaced" in warnings[0]


def test_csv_in_shift_jis_is_one_line_per_row_with_its_headers(tmp_path):
    path = tmp_path / "導入状況.csv"
    path.write_bytes("自治体,導入年度,用途\r\n横浜市,2023,議事録作成\r\n札幌市,2024,\"問合せ対応, FAQ\"\r\n".encode("cp932"))

    doc = parse_file(path)

    assert doc.kind == "csv" and doc.title == "導入状況" and doc.lang == "ja"
    assert doc.pages[0].text.splitlines() == [
        "自治体 / 導入年度 / 用途",
        "自治体: 横浜市; 導入年度: 2023; 用途: 議事録作成",
        "自治体: 札幌市; 導入年度: 2024; 用途: 問合せ対応, FAQ",
    ]


def test_shift_jis_euc_jp_and_damaged_utf8_files_are_all_searchable(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "window.txt").write_bytes(WINDOW.encode("shift_jis"))
    (folder / "snow.txt").write_bytes(SNOW.encode("euc_jp"))
    (folder / "mf.txt").write_bytes(damaged_utf8(MF))
    (folder / "status.csv").write_bytes("自治体,用途\n横浜市,議事録作成\n".encode("euc_jp"))
    settings = Settings(index_dir=tmp_path / "index", manifest=tmp_path / "none.toml")
    events: list[str] = []

    report = build_index([folder], settings, on_event=events.append)
    engine = Engine.open(settings)

    assert report.documents == 4 and not report.skipped
    assert [e for e in events if "replaced" in e] and all("mf.txt" in e for e in events if "replaced" in e)
    for query, doc_id in [("住民票の交付窓口は混んでいますか", "window"), ("通学路の除雪は何時までに終わりますか", "snow"),
                          ("MF登録年月日のみの変更は軽微変更届出でよいか", "mf"), ("横浜市の用途", "status")]:
        hits = engine.search(query, k=3)
        assert hits[0].doc_id == doc_id, (query, [(h.doc_id, h.text[:30]) for h in hits])
    titles = {d.doc_id: d.title for d in engine.documents()}
    assert titles["window"] == "窓口の混雑について" and titles["snow"] == "除雪計画について"
