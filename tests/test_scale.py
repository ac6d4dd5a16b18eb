"""What keeps large indexes fast, shown on small ones: IVF above a size, cached BM25 tokens, shared vectors."""

import filecmp
import shutil
from pathlib import Path

import numpy as np

import govqa.store.embedded as store
from govqa.build import build_index
from govqa.config import Settings
from govqa.engine import Engine
from govqa.store import IndexReader, current_generation

TEXTS = {
    "fees.txt": "原薬等登録原簿の登録申請には手数料が必要です。手数料の額は政令で定められています。",
    "minor.txt": "登録年月日のみの変更は軽微変更届出で差し支えありません。届出は三十日以内に行います。",
    "weather.txt": "The weather in Tokyo will be sunny tomorrow. Rain is expected on the weekend.",
}


def make_corpus(folder: Path) -> Path:
    folder.mkdir()
    for name, text in TEXTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def settings_for(tmp_path: Path) -> Settings:
    return Settings(index_dir=tmp_path / "index", manifest=tmp_path / "no-manifest.toml")


def unit_vectors(n: int, dim: int = 16) -> np.ndarray:
    vectors = np.random.default_rng(3).standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_small_indexes_are_searched_exactly_and_large_ones_with_ivf(monkeypatch):
    vectors = unit_vectors(2000)
    assert type(store.vector_index(vectors, 16)).__name__ == "IndexFlatIP"
    monkeypatch.setattr(store, "EXACT_MAX", 1000)
    monkeypatch.setattr(store, "IVF_NPROBE", 1000)  # every list: as exact as the flat index
    ivf = store.vector_index(vectors, 16)
    assert type(ivf).__name__ == "IndexIVFFlat" and ivf.ntotal == 2000
    _, rows = ivf.search(vectors[:5], 1)
    assert rows[:, 0].tolist() == [0, 1, 2, 3, 4]  # each vector finds itself


def test_an_ivf_index_is_written_and_read_back_memory_mapped(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "EXACT_MAX", 1)
    monkeypatch.setattr(store, "IVF_TRAIN_PER_LIST", 1)  # three chunks: one list, trained on them
    build_index([make_corpus(tmp_path / "corpus")], settings_for(tmp_path))
    engine = Engine.open(settings_for(tmp_path))
    assert type(engine.reader.vectors.index).__name__ == "IndexIVFFlat"
    assert engine.search("Will it rain this weekend?", k=1)[0].doc_id == "weather"


def test_cached_bm25_tokens_give_the_same_lexical_index(tmp_path):
    build_index([make_corpus(tmp_path / "corpus")], settings_for(tmp_path))
    first = current_generation(tmp_path / "index")
    shutil.copytree(first / "lexical", tmp_path / "lexical-before")
    assert (tmp_path / "index" / "cache" / "tokens.sqlite").is_file()
    (tmp_path / "corpus" / "extra.txt").write_text("新しい文書を一つ追加します。", encoding="utf-8")
    build_index([tmp_path / "corpus" / "extra.txt"], settings_for(tmp_path))
    (tmp_path / "corpus" / "extra.txt").unlink()
    shutil.rmtree(tmp_path / "index" / "gen-000002", ignore_errors=True)
    (tmp_path / "index" / "CURRENT").write_text(f"{first.name}\n")
    build_index([tmp_path / "corpus"], settings_for(tmp_path))  # every token now comes from the cache
    again = current_generation(tmp_path / "index")
    for path in sorted((again / "lexical").iterdir()):
        assert filecmp.cmp(path, tmp_path / "lexical-before" / path.name, shallow=False), path.name


def test_several_files_parsed_side_by_side_index_like_one_at_a_time(tmp_path, monkeypatch):
    import govqa.buildfiles as buildfiles

    corpus = make_corpus(tmp_path / "corpus")
    together = build_index([corpus], Settings(index_dir=tmp_path / "a", manifest=tmp_path / "none.toml"))
    monkeypatch.setattr(buildfiles, "PARSE_WORKERS", 1)
    monkeypatch.setattr(buildfiles, "EMBED_WHILE_PARSING", False)
    alone = build_index([corpus], Settings(index_dir=tmp_path / "b", manifest=tmp_path / "none.toml"))
    assert (together.documents, together.chunks, together.embedded) == (alone.documents, alone.chunks, alone.embedded)
    a, b = IndexReader.open(tmp_path / "a"), IndexReader.open(tmp_path / "b")
    assert a.documents.keys() == b.documents.keys()
    np.testing.assert_allclose(a.vectors.reconstruct_n(0, a.size), b.vectors.reconstruct_n(0, b.size), atol=1e-6)


def mapped_kb(path: Path) -> int:
    """Resident kB of this process's mappings of `path` (/proc/self/smaps)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if line[:1].isdigit() or line[:1] in "abcdef" and "-" in line.split()[0]:
            inside = line.rstrip().endswith(str(path))
        elif inside and line.startswith("Rss:"):
            total += int(line.split()[1])
    return total


def test_warming_faults_in_the_mapped_vectors_and_bm25_arrays_and_keeps_nprobe(tmp_path, monkeypatch):
    import faiss

    from govqa.lexical import LexicalIndex, Tokenizer

    monkeypatch.setattr(store, "EXACT_MAX", 1000)
    monkeypatch.setattr(store, "IVF_NPROBE", 2)
    vectors = unit_vectors(20000, dim=64)  # 5 MB of vectors in 141 lists
    faiss.write_index(store.vector_index(vectors, 64), str(tmp_path / "vectors.faiss"))
    searcher = store.SearchOnCallingThread(store._read_vectors(tmp_path / "vectors.faiss"))
    before = searcher.search(vectors[:3], 5)
    cold = mapped_kb(tmp_path / "vectors.faiss")
    store.warm_vectors(searcher)
    assert mapped_kb(tmp_path / "vectors.faiss") > max(4 * cold, 4000)  # ~all 5,120 kB resident now
    assert searcher.index.nprobe == 2
    assert all((a == b).all() for a, b in zip(before, searcher.search(vectors[:3], 5)))

    words = [f"語{i}" for i in range(3000)]
    texts = [" ".join(words[(i * 7) % 3000:(i * 7) % 3000 + 50]) for i in range(3000)]
    LexicalIndex.build(texts, Tokenizer()).save(tmp_path / "lexical")
    lexical = LexicalIndex.load(tmp_path / "lexical", Tokenizer())
    arrays = [path for path in (tmp_path / "lexical").iterdir() if path.suffix == ".npy" and path.stat().st_size > 100_000]
    assert arrays and sum(mapped_kb(p) for p in arrays) < 100  # memory-mapped, not read
    lexical.warm()
    assert sum(mapped_kb(p) for p in arrays) >= 0.9 * sum(p.stat().st_size for p in arrays) / 1024


def test_a_page_of_a_million_characters_is_tokenised_in_pieces_not_crashing_mecab():
    """A text file is one page, and page-level BM25 tokenises a page whole: MeCab crashed the build
    (a segmentation fault) on a page of ~1M characters. The tokenizer now gives it pieces cut at line
    breaks, with the same tokens as line by line."""
    import subprocess
    import sys

    line = "原薬等登録原簿への登録は義務なのか、それとも任意なのか。"
    code = ("import sys; from govqa.lexical import Tokenizer; "
            f"t = Tokenizer(); one = t({line!r}); many = t(({line!r} + '\\n') * 40000); "
            "print(len(many) == 40000 * len(one) and many[:len(one)] == one)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "True"


def test_text_is_cut_into_pieces_at_line_breaks_then_spaces_then_anywhere():
    from govqa.lexical import pieces

    text = "一行目です。\n二行目 です\n" + "長" * 25
    for limit in (3, 8, 10, 30, 100):
        cut = pieces(text, limit)
        assert "".join(cut) == text and all(len(piece) <= limit for piece in cut), (limit, cut)
    assert pieces("ab\ncd ef", 7) == ["ab\n", "cd ef"]  # at the line break, though a space is later
    assert pieces("ab cd ef", 6) == ["ab cd ", "ef"]
    assert pieces("こうです。はい", 6) == ["こうです。", "はい"]
    assert pieces("abcdefgh", 3) == ["abc", "def", "gh"]
    assert pieces("短い", 10) == ["短い"] and pieces("", 10) == [""]


def test_a_long_page_gives_a_passage_for_each_place_that_answers(tmp_path):
    # A text file is one page, whatever its length: both places that answer, 40,000 characters apart, are shown,
    # while short pages still give one passage each.
    answer = "ふるさと納税の返礼品は地場産品に限り、返礼割合は寄附額の三割以下とする。"
    filler = "本日の会議では庁舎の清掃当番と備品の点検日程について確認した。\n" * 1200  # one passage, embedded once
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "minutes.txt").write_text(f"{answer}\n{filler}{answer}\n", encoding="utf-8")
    (folder / "notice.txt").write_text(f"{answer}\n返礼品の見直しについて通知する。\n", encoding="utf-8")
    build_index([folder], settings_for(tmp_path))

    hits = Engine.open(settings_for(tmp_path)).search("ふるさと納税の返礼割合は何割以下か", k=5)

    long_page = [h for h in hits if h.doc_id == "minutes" and answer in h.text]
    assert len(long_page) == 2 and abs(long_page[0].start - long_page[1].start) > 30_000
    assert len([h for h in hits if h.doc_id == "notice"]) == 1
