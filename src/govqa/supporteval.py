"""`govqa eval-support`: verdicts on a labelled claim set, and article parsing against its gold.

Claims file (JSONL): {"claim", "lang", "kind": true|altered|off-topic, "expect": supported|contradicted|
unsupported, "split": dev|test}. Articles file (JSONL): {"file", "format", "claims": N, "not_claims":
[text that must not be a claim], "references": {"n": doc_id or null}}.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .claims import Claim, parse_article, split_claims
from .errors import GovqaError
from .support import VERDICTS, SupportChecker


class EvalSetError(GovqaError):
    """The evaluation file is missing or malformed."""


@dataclass
class ClaimOutcome:
    item: dict
    verdict: str
    score: float
    conflicts: int
    cross_language: bool


@dataclass
class ArticleOutcome:
    file: str
    claims: int
    expected_claims: int
    leaked: list[str] = field(default_factory=list)  # not-claim texts found inside a claim
    references_right: int = 0
    references: int = 0
    wrong: list[str] = field(default_factory=list)


def load_jsonl(path: Path, required: tuple[str, ...]) -> list[dict]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalSetError(f"{path}: cannot read the evaluation file ({exc})") from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalSetError(f"{path}:{number}: not JSON ({exc.msg})") from None
        missing = [key for key in required if key not in row]
        if missing:
            raise EvalSetError(f"{path}:{number}: missing field {missing[0]!r}")
        rows.append(row)
    if not rows:
        raise EvalSetError(f"{path}: no evaluation rows")
    return rows


def run_claims(checker: SupportChecker, rows: list[dict], progress=None) -> list[ClaimOutcome]:
    outcomes = []
    for n, row in enumerate(rows, start=1):
        result = checker.check(Claim(n=n, text=row["claim"], query=row["claim"]))
        outcomes.append(ClaimOutcome(row, result.verdict, result.score, len(result.conflicts), result.cross_language))
        if progress:
            progress()
    return outcomes


def verdict_metrics(outcomes: list[ClaimOutcome]) -> dict:
    """Precision and recall per verdict, and the issue's targets."""
    per = {}
    for verdict in VERDICTS:
        predicted = [o for o in outcomes if o.verdict == verdict]
        gold = [o for o in outcomes if o.item["expect"] == verdict]
        right = sum(o.item["expect"] == verdict for o in predicted)
        per[verdict] = {"precision": round(right / len(predicted), 3) if predicted else None,
                        "recall": round(right / len(gold), 3) if gold else None,
                        "predicted": len(predicted), "gold": len(gold)}

    def share(kind: str, verdicts: tuple[str, ...], lang: str | None = None) -> float | None:
        group = [o for o in outcomes if o.item["kind"] == kind and (lang is None or o.item["lang"] == lang)]
        return round(sum(o.verdict in verdicts for o in group) / len(group), 3) if group else None

    targets = {
        "altered_not_supported": share("altered", ("weak", "contradicted", "unsupported")),
        "altered_contradicted": share("altered", ("contradicted",)),
        "true_ja_supported": share("true", ("supported",), "ja"),
        "true_en_supported": share("true", ("supported",), "en"),
        "off_topic_unsupported": share("off-topic", ("unsupported",)),
    }
    return {"n": len(outcomes), "verdicts": per, "targets": targets}


def run_articles(checker: SupportChecker, rows: list[dict], base: Path) -> list[ArticleOutcome]:
    """Parse each article, split its claims and match its references; compare with the gold."""
    from .claims import read_article

    outcomes = []
    for row in rows:
        article = read_article(base / row["file"]) if "text" not in row else parse_article(row["text"], row["format"])
        claims = split_claims(article, article.footnote_count or None)
        texts = [c.text for c in claims]
        leaked = [t for t in row.get("not_claims", []) if any(t in c for c in texts)]
        leaked += [r.text[:60] for r in article.references if any(r.text[:40] in c for c in texts)]
        matches = {str(m.reference.n): m.doc_id for m in checker.match(article)}
        gold = row.get("references", {})
        wrong = [f"[{n}] {matches.get(n, 'missing')} != {doc}" for n, doc in gold.items() if matches.get(n, "?") != doc]
        outcomes.append(ArticleOutcome(row["file"], len(claims), row.get("claims", len(claims)), leaked,
                                       len(gold) - len(wrong), len(gold), wrong))
    return outcomes
