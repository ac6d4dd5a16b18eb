"""Term proximity: a page whose one stretch holds the question's words beats one that scatters them."""

from govqa.lexical import Tokenizer
from govqa.search.proximity import Proximity, word_weights

TOKENIZER = Tokenizer()
QUESTION = "信託銀行の株式保有率は何パーセントですか"
FILLER = "この資料は年度ごとの推移を示している。" * 6


def weights_for(question: str) -> dict[str, float]:
    return word_weights(TOKENIZER(question), lambda token: 2.0 if len(token) > 1 else 0.0)


def test_words_held_together_score_above_words_spread_over_the_page():
    weights = weights_for(QUESTION)
    together = FILLER + "信託銀行の株式保有率は2023年度に4.5パーセントであった。" + FILLER
    apart = "信託銀行について。" + FILLER + "株式の動き。" + FILLER + "保有率の定義。"
    near, far = (Proximity(weights, 80)(text) for text in (together, apart))
    assert near == 7 / 8  # every word of the question but 何パーセント, which only asks
    assert far == 3 / 8  # 信託銀行 and its two parts; 株式 and 保有率 are paragraphs away


def test_a_page_without_the_words_scores_zero_and_no_words_means_no_signal():
    weights = weights_for(QUESTION)
    assert Proximity(weights, 80)(FILLER) == 0.0
    assert Proximity({}, 80)("信託銀行") == 0.0


def test_matching_ignores_width_and_case():
    weights = word_weights(["iaas", "オンプレミス"], lambda token: 1.0)
    assert Proximity(weights, 80)("ＩａａＳとｵﾝﾌﾟﾚﾐｽの違い") == 1.0
