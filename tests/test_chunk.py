"""Chunking: sentence-aware, never across a page, spans point back into the page text."""

from hypothesis import given, settings, strategies as st

from govqa.chunk import ChunkPolicy, chunk_document, chunk_page, sentence_spans
from govqa.models import Page

JA = "原薬等登録原簿(MF)の登録申請には手数料が必要です。登録証の交付まで数週間かかります！本当ですか？"
EN = "The master file must be registered. It is not mandatory for every substance! Is that so?"


def test_japanese_and_english_sentences_are_split_at_their_punctuation():
    ja = [JA[s:e] for s, e in sentence_spans(JA)]
    assert ja == ["原薬等登録原簿(MF)の登録申請には手数料が必要です。", "登録証の交付まで数週間かかります！", "本当ですか？"]
    en = [EN[s:e] for s, e in sentence_spans(EN)]
    assert en == ["The master file must be registered.", "It is not mandatory for every substance!", "Is that so?"]


def test_chunks_never_cross_pages_and_know_their_page_and_span():
    pages = [Page(1, JA * 10), Page(2, EN * 10)]
    chunks = chunk_document("doc", "Title", pages, ChunkPolicy(target=120, maximum=200, overlap=40))
    assert {c.page for c in chunks} == {1, 2}
    for chunk in chunks:
        page_text = pages[chunk.page - 1].text
        assert page_text[chunk.start:chunk.end] == chunk.text
        assert len(chunk.text) <= 200
        assert chunk.title == "Title"
    assert {c.lang for c in chunks if c.page == 1} == {"ja"}
    assert {c.lang for c in chunks if c.page == 2} == {"en"}


def test_heading_is_carried_to_the_chunks_below_it():
    page = Page(3, "問3 MF登録年月日の変更について\n" + JA * 6)
    chunks, last = chunk_page("doc", "T", page, ChunkPolicy(target=100, maximum=200, overlap=0))
    assert all(c.heading == "問3 MF登録年月日の変更について" for c in chunks)
    assert last == "問3 MF登録年月日の変更について"


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("あいう漢字 abc.。！？\n") ), max_size=2000),
       st.integers(min_value=20, max_value=300), st.integers(min_value=0, max_value=100))
def test_no_text_is_lost_and_overlap_is_bounded(text, target, overlap):
    policy = ChunkPolicy(target=target, maximum=target * 2, overlap=overlap)
    chunks, _ = chunk_page("d", "t", Page(1, text), policy)
    covered = [False] * len(text)
    for chunk in chunks:
        assert 0 <= chunk.start < chunk.end <= len(text)
        assert chunk.end - chunk.start <= policy.maximum
        for i in range(chunk.start, chunk.end):
            covered[i] = True
    missing = [text[i] for i, c in enumerate(covered) if not c]
    assert all(ch.isspace() for ch in missing)
    for before, after in zip(chunks, chunks[1:]):
        assert after.start >= before.start and after.end > before.end
        assert before.end - after.start <= max(overlap, 0) or after.start >= before.end


def test_a_decimal_point_written_with_a_space_does_not_end_a_quoted_sentence():
    """「保有比率4. 4%」 is one number, and so is a list's 「2.」 with the figure after it; an English 「3. 4 items」
    still splits."""
    from govqa.sentences import source_sentences

    assert source_sentences("自己名義分は、44兆3,743億円(保有比率4. 4%)となっている。次の文。") == [
        "自己名義分は、44兆3,743億円(保有比率4. 4%)となっている。", "次の文。"]
    assert source_sentences("See section 3. 4 items were found.") == ["See section 3.", "4 items were found."]
    assert source_sentences("登録は可能です。\n2. 3名以上の選任が必要です。") == ["登録は可能です。", "2. 3名以上の選任が必要です。"]


def test_a_full_stop_inside_brackets_does_not_end_a_quoted_sentence():
    """Notices define their terms in a parenthesis that ends in a full stop: 「…(以下「MF」という。)の…」. The
    sentence goes on after it; a sentence wholly in brackets, or one that is, still ends there."""
    from govqa.sentences import source_sentences

    assert source_sentences("昨今、細胞を加工した医薬品(以下「細胞・組織加工医薬品等」という。)の開発が進んでいる。次の文。") == [
        "昨今、細胞を加工した医薬品(以下「細胞・組織加工医薬品等」という。)の開発が進んでいる。", "次の文。"]
    assert source_sentences("建設工事(同条に規定する建設工事をいう。以下同じ。)を請け負う。次。") == [
        "建設工事(同条に規定する建設工事をいう。以下同じ。)を請け負う。", "次。"]
    assert source_sentences("(詳細はホームページを確認してください。)関連資料を見る。") == [
        "(詳細はホームページを確認してください。)", "関連資料を見る。"]


def test_a_title_on_its_own_line_is_set_apart_from_the_sentence_below():
    """A slide's or section's title above a long line had been glued to it (「…制度原薬等の製造業者が、…」). It stays
    with the sentence it heads, for its words, set apart by a space; a line that a particle, a parenthesis 「(以下」 or
    a wrapped katakana word carries on, and a narrow column's wrapped lines, are joined as before."""
    from govqa.sentences import source_sentences

    body = "原薬等の製造業者が、製造方法、製造管理、品質管理に関するノウハウを含む情報を開示することなく登録する制度。"
    assert source_sentences("原薬等登録原簿(マスターファイル)制度\n" + body) == ["原薬等登録原簿(マスターファイル)制度 " + body]
    assert source_sentences("3-1 モバイル端末管理(MDM)\n端末等のアップデートや各種セキュリティ設定を一元的に管理し、設定の違いによる穴を防ぐ技術。") == [
        "3-1 モバイル端末管理(MDM) 端末等のアップデートや各種セキュリティ設定を一元的に管理し、設定の違いによる穴を防ぐ技術。"]
    assert source_sentences("本指針の対象となる医薬品等\n(以下「対象品」という。)は、次に掲げるものとし、その範囲を別表に定める。") == [
        "本指針の対象となる医薬品等(以下「対象品」という。)は、次に掲げるものとし、その範囲を別表に定める。"]
    assert source_sentences("組織専用のク\nラウドサービスであり、リソースも自らの組織によって管理される形態をいう。") == [
        "組織専用のクラウドサービスであり、リソースも自らの組織によって管理される形態をいう。"]
    assert source_sentences("登録申請者は原薬の製造方\n法を記載した書類を添付す\nること。") == ["登録申請者は原薬の製造方法を記載した書類を添付すること。"]


def test_a_slides_private_use_bullet_starts_its_own_sentence():
    """Slides exported from PowerPoint mark their bullets with a Symbol or Wingdings glyph in the private-use
    area (U+F06C). The slide's title above is not glued to the first bullet."""
    from govqa.sentences import source_sentences

    assert source_sentences("原薬等登録原簿(マスターファイル)制度\n\uf06cPMDAに登録の際には、いずれの情報も提出する。") == [
        "原薬等登録原簿(マスターファイル)制度", "\uf06cPMDAに登録の際には、いずれの情報も提出する。"]
