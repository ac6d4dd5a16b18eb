"""0 axe-core violations on a page a browser test shows: the accessibility check every view of the staff page passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

AXE = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]  # JIS X 8341-3 (WCAG AA)


def assert_accessible(page, context: str) -> None:
    """0 axe-core violations (WCAG 2 A/AA rules) on what `page` shows now; `context` names it in the failure."""
    if not AXE.is_file():
        pytest.fail(f"axe-core is missing at {AXE}: run `npm ci` at the top of the repository")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")  # through the DevTools protocol: no CSP exception needed
    result = page.evaluate("""async (rules) => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: rules}});
        return r.violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}));
    }""", RULES)
    assert result == [], f"axe-core violations on {context}: {json.dumps(result, ensure_ascii=False, indent=1)}"
