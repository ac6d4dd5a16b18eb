"""A PDF page's lines that do not run left to right -> the same lines turned into their reading frame.

Two kinds of page need it. A turned page or table (landscape on a portrait page, or a scan
OCR'd upright and mapped back) has lines running up or down the page. Vertical writing (縦書き)
sets each character on its own, top to bottom, in columns read from right to left. Laid out by
position as they are, both read as a jumble: rows merged across columns, columns in reverse.
Here each direction's lines are turned so that they run left to right and follow one another
top to bottom; the page's main direction is read first. A page whose text runs left to right
comes back as it was given.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from .textnorm import JAPANESE_LETTER

Direction = tuple[int, int]
Box = tuple[float, float, float, float]
ACROSS: Direction = (1, 0)
DOWN: Direction = (0, 1)  # what a vertical-writing column reads as
VERTICAL_SHARE = 0.6  # share of a page's characters, kana or kanji stacked a character a line, for vertical writing
_MIN_COLUMN = 3  # characters stacked in a column before it counts towards that share
_STACK_GAP = 0.5  # ... each at most this many character heights below the one above it


@dataclass(frozen=True)
class Placed:
    """One line as PyMuPDF gives it: its text, box, writing direction, font size and block; `parts`: the
    caller's numbers for the lines it is made of (a column of vertical writing is made of many)."""

    text: str
    box: Box
    direction: Direction
    size: float
    block: int
    parts: tuple[int, ...] = ()


@dataclass(frozen=True)
class Run:
    """Lines to lay out together, already in reading order and turned; `whole`: each is a full line."""

    lines: list[Placed]
    whole: bool


def direction_of(vector: tuple[float, float]) -> Direction:
    """The axis a line's writing direction is closest to (a slightly skewed scan still runs across)."""
    dx, dy = vector
    return (1 if dx > 0 else -1, 0) if abs(dx) >= abs(dy) else (0, 1 if dy > 0 else -1)


def reading_runs(lines: list[Placed], width: float, height: float) -> list[Run]:
    """The page's lines in runs to lay out one after another; one run of `lines` unchanged for a plain page."""
    columns = vertical_columns(lines)
    items = columns if columns is not None else lines
    chars = Counter()
    for line in items:
        chars[line.direction] += len(line.text)
    main = max(chars, key=lambda d: (chars[d], d == ACROSS), default=ACROSS)
    if main == ACROSS and columns is None:
        return [Run(with_labels_stacked(lines), whole=False)]
    runs = []
    for direction in sorted(chars, key=lambda d: (d != main, -chars[d])):
        turned = [_turned(line, width, height) for line in items if line.direction == direction]
        if columns is not None and direction == DOWN:
            runs.append(Run(_by_bands(turned), whole=True))
        else:
            runs.append(Run(_by_blocks(turned), whole=False))
    return runs


def vertical_columns(lines: list[Placed]) -> list[Placed] | None:
    """Vertical writing's characters stacked into one line per column (and the page's other lines); None if the
    page is not vertical writing."""
    glyphs = [line for line in lines
              if line.direction == DOWN or (line.direction == ACROSS and len(line.text.strip()) == 1)]
    total = sum(len(line.text) for line in lines)
    if not total or sum(len(g.text) for g in glyphs) < VERTICAL_SHARE * total:
        return None
    stacks = _stacks(glyphs)
    # Japanese characters only: a table of one-digit or ○ cells also stacks its characters, row under row.
    stacked = sum(len(JAPANESE_LETTER.findall(g.text)) for s in stacks if len(s) >= _MIN_COLUMN for g in s)
    if stacked < VERTICAL_SHARE * total:
        return None
    glyph_ids = {id(g) for g in glyphs}
    rest = [line for line in lines if id(line) not in glyph_ids]
    return [_column(stack) for stack in stacks] + rest


def with_labels_stacked(lines: list[Placed]) -> list[Placed]:
    """A page written across with some words written down it (a diagram's box, a table's heading, a side tab):
    each such word, three or more characters of Japanese stacked one under the other, as one line, not a line a
    character. They follow the page's other lines: where their characters stood, a side tab would cut a
    sentence in two."""
    glyphs = [line for line in lines if line.direction == ACROSS and len(line.text.strip()) == 1]
    stacks = [s for s in _stacks(glyphs) if len(s) >= 2]
    labels = [s for s in stacks if sum(bool(JAPANESE_LETTER.match(g.text.strip())) for g in s) >= _MIN_COLUMN
              and not _read_across(s, lines) and not _in_step(s, stacks)]
    if not labels:
        return lines
    inside = {id(g) for stack in labels for g in stack}
    return [line for line in lines if id(line) not in inside] + [replace(_column(s), direction=ACROSS) for s in labels]


def _read_across(stack: list[Placed], lines: list[Placed]) -> bool:
    """Whether the stack's characters have neighbours on their rows: a line less than two characters away, or a
    character on the same baseline less than four away. Then they are letter-spaced words of a table's cells
    (「北 海 道」 over 「東 北」), read across, not a word written down."""
    members = {id(g) for g in stack}
    rows = [line for line in lines if id(line) not in members
            and line.box[1] < stack[-1].box[3] and line.box[3] > stack[0].box[1]]
    beside = 0
    for glyph in stack:
        x0, y0, x1, y1 = glyph.box
        width, height = max(x1 - x0, 1.0), y1 - y0
        for other in rows:
            gap = max(other.box[0] - x1, x0 - other.box[2])
            if min(y1, other.box[3]) - max(y0, other.box[1]) < 0.5 * min(height, other.box[3] - other.box[1]):
                continue
            if 0 <= gap < 2 * width or (0 <= gap < 4 * width and len(other.text.strip()) == 1
                                        and abs(other.box[1] - y0) < 0.1 * height):
                beside += 1
                break
    return beside > len(stack) / 3


def _in_step(stack: list[Placed], stacks: list[list[Placed]]) -> bool:
    """Whether another stack within ten characters to either side has its characters on the same rows: the
    columns of a table whose cells hold letter-spaced words (「北 海 道」, 「東 北」, 「東 京」 one under another)."""
    x0, _, x1, _ = stack[0].box
    width = max(x1 - x0, 1.0)
    rows = [g.box[1] for g in stack]
    for other in stacks:
        if other is stack or max(other[0].box[0] - x1, x0 - other[0].box[2]) >= 10 * width:
            continue
        shared = sum(any(abs(g.box[1] - y) < 0.1 * width for y in rows) for g in other)
        if shared >= 2 and shared >= 0.5 * min(len(other), len(stack)):
            return True
    return False


def _stacks(glyphs: list[Placed]) -> list[list[Placed]]:
    """Glyphs gathered into the columns they stand in, each from the top."""
    stacks: list[list[Placed]] = []
    growing: list[list[Placed]] = []  # stacks a glyph further down may still continue, oldest first
    for glyph in sorted(glyphs, key=lambda g: (g.box[1], -g.box[2])):
        growing = [s for s in growing if glyph.box[1] - s[-1].box[3] <= _STACK_GAP * max(_height(s[-1]), 1.0)]
        stack = next((s for s in reversed(growing) if _continues(s[-1], glyph)), None)
        if stack is None:
            stacks.append([glyph])
            growing.append(stacks[-1])
        else:
            stack.append(glyph)
    return stacks


def _height(line: Placed) -> float:
    return line.box[3] - line.box[1]


def _continues(above: Placed, glyph: Placed) -> bool:
    """The glyph stands right under `above`: their boxes side by side, the glyph's top at most half a character
    below, or inside the one above (glyph boxes are taller than a character's advance down a column)."""
    x0, y0, x1, y1 = glyph.box
    ax0, ay0, ax1, ay1 = above.box
    overlap = min(x1, ax1) - max(x0, ax0)
    height = max(min(y1 - y0, ay1 - ay0), 1.0)
    return (overlap >= 0.5 * min(x1 - x0, ax1 - ax0) and y0 >= ay0 + 0.3 * height
            and -0.6 * height <= y0 - ay1 <= _STACK_GAP * height)


def _column(stack: list[Placed]) -> Placed:
    box = (min(g.box[0] for g in stack), min(g.box[1] for g in stack),
           max(g.box[2] for g in stack), max(g.box[3] for g in stack))
    return Placed("".join(g.text.strip() for g in stack), box, DOWN, max(g.size for g in stack), stack[0].block,
                  tuple(part for g in stack for part in g.parts))


def _turned(line: Placed, width: float, height: float) -> Placed:
    """The line's box in the frame where its direction runs left to right (origin at the turned page's corner)."""
    dx, dy = line.direction

    def turn(x: float, y: float) -> tuple[float, float]:
        return dx * x + dy * y, -dy * x + dx * y

    corners = [turn(x, y) for x in (0.0, width) for y in (0.0, height)]
    left, top = min(c[0] for c in corners), min(c[1] for c in corners)
    x0, y0, x1, y1 = line.box
    points = [turn(x, y) for x in (x0, x1) for y in (y0, y1)]
    box = (min(p[0] for p in points) - left, min(p[1] for p in points) - top,
           max(p[0] for p in points) - left, max(p[1] for p in points) - top)
    return replace(line, box=box)


def _by_blocks(lines: list[Placed]) -> list[Placed]:
    """PyMuPDF's own order, in the turned frame: blocks by their bottom then left edge, lines as given."""
    blocks: dict[int, list[Placed]] = {}
    for line in lines:
        blocks.setdefault(line.block, []).append(line)
    ordered = sorted(blocks.values(), key=lambda b: (max(l.box[3] for l in b), min(l.box[0] for l in b)))
    return [line for block in ordered for line in block]


def _by_bands(columns: list[Placed]) -> list[Placed]:
    """Turned columns in reading order: tiers (段) one after another, and within one its columns from the right.

    Turned, a column's top is its left edge and its right-hand neighbour is the line above it; a tier
    is a run of columns whose spans down the page (left to right once turned) overlap."""
    bands: list[list[Placed]] = []
    for column in sorted(columns, key=lambda c: c.box[0]):
        if bands and column.box[0] < max(c.box[2] for c in bands[-1]) - 0.5 * column.size:
            bands[-1].append(column)
        else:
            bands.append([column])
    return [column for band in bands for column in sorted(band, key=lambda c: c.box[1])]
