"""Command-line words -> what the commands receive, and usage mistakes -> one line that says what to type."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

import typer

DEBUG_FLAG = "--debug"
REPORT_DIR = "govqa-report"  # git-ignored; where `govqa eval --report` writes when no folder is named


def take_debug(argv: Sequence[str]) -> tuple[list[str], bool]:
    """Remove --debug wherever it stands (before or after the command), so every error can offer it."""
    args, debug = [], False
    for position, word in enumerate(argv):
        if word == "--":  # what follows is data, e.g. a query that starts with a dash
            return args + list(argv[position:]), debug
        if word == DEBUG_FLAG:
            debug = True
        else:
            args.append(word)
    return args, debug


def default_report(argv: Sequence[str]) -> list[str]:
    """`govqa eval Q.jsonl --report` with no folder named writes into ./govqa-report/ (support: ./govqa-report/support/)."""
    args = list(argv)
    defaults = {"eval": REPORT_DIR, "support": f"{REPORT_DIR}/support"}
    if not args or args[0] not in defaults:
        return args
    for position, word in enumerate(args):
        if word == "--":
            break
        if word == "--report" and (position + 1 == len(args) or args[position + 1].startswith("-")):
            args.insert(position + 1, defaults[args[0]])
            break
    return args


def usage_message(exc: typer.TyperException, argv: Sequence[str], commands: Sequence[str]) -> str:
    """One line for a usage error: the option and what it accepts, or the command meant."""
    param = getattr(exc, "param", None)
    opts = getattr(param, "opts", None) or []
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if opts and opts[0].startswith("-") and (low is not None or high is not None):
        names = "/".join(opts)
        given = _value_of(opts, argv)
        got = f" (got {given!r})" if given is not None else ""
        kind = "a whole number" if getattr(getattr(param, "type_descriptor", None), "annotation", None) is int \
            else "a number"
        if low is not None and high is not None:
            allowed = f"{kind} from {low} to {high}"
        elif low is not None:
            allowed = f"{kind} of at least {low}"
        else:
            allowed = f"{kind} of at most {high}"
        return f"{names} must be {allowed}{got}"
    message = " ".join(exc.format_message().split())
    typed = re.match(r"No such command '(.+?)'", message)
    if typed:
        ctx = getattr(exc, "ctx", None)
        group = ctx.command_path if ctx is not None and ctx.command_path else "govqa"
        known = _subcommands(ctx) or list(commands)
        close = difflib.get_close_matches(typed.group(1), known, n=1, cutoff=0.5)
        guess = f"; did you mean '{close[0]}'?" if close else ""
        return f"no command '{typed.group(1)}'{guess} (commands: {', '.join(known)}; see {group} --help)"
    command = getattr(getattr(exc, "ctx", None), "info_name", None)
    hint = f"govqa {command} --help" if command in commands else "govqa --help"
    return f"{message} (see {hint})"


def _value_of(opts: Sequence[str], argv: Sequence[str]) -> str | None:
    for position, word in enumerate(argv):
        if word in opts and position + 1 < len(argv):
            return argv[position + 1]
        for opt in opts:
            if opt.startswith("--") and word.startswith(opt + "="):
                return word[len(opt) + 1:]
    return None


def _subcommands(ctx) -> list[str]:
    try:
        return list(ctx.command.list_commands(ctx))
    except Exception:  # not a group, or no context: the caller's list stands
        return []
