"""A fresh browser page for the staff-page tests: viewport, locale, and what went wrong behind our back."""

from __future__ import annotations

from test_browser import WAIT_MS


def new_page(browser, locale: str = "ja-JP"):
    """A page in its own context; `page.problems` collects uncaught errors and CSP violations.
    Close it with `page.context.close()`."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.problems = problems
    return page
