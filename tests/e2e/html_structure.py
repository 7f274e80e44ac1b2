"""What a reader sees in a rendered report, independent of the renderer's markup: section headings,
figures, tables with their numbers, and captions. Quarto and qmdrender must agree on all of it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

NUMBER = re.compile(r"[−-]?\d+(?:[.,]\d+)*(?:e[−-]?\d+)?")
#: Headings that belong to the page's furniture, not to the document's sections.
FURNITURE = {"toc-title"}
VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


def _words(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").split())


@dataclass
class Structure:
    """Sections, figures and tables of one rendered HTML report."""

    headings: list[str] = field(default_factory=list)
    figures: int = 0
    captions: list[str] = field(default_factory=list)
    tables: list[list[list[str]]] = field(default_factory=list)

    def table_numbers(self) -> list[list[str]]:
        """Every number in every table cell, table by table, as printed."""
        return [
            [n.replace("−", "-") for row in table for cell in row for n in NUMBER.findall(cell)]
            for table in self.tables
        ]


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = Structure()
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.heading: list[str] | None = None
        self.caption: list[str] | None = None
        self.skip = (
            0  # inside <nav>, <script>, <style>, <header>, section-number spans, hidden templates
        )
        self.cell: list[str] | None = None
        self.row: list[str] | None = None
        self.table: list[list[str]] | None = None

    def _ignored(self, tag: str, attrs: dict[str, str]) -> bool:
        classes = attrs.get("class", "").split()
        return (
            tag in ("nav", "script", "style", "header", "template", "button")
            or "header-section-number" in classes
            or "hidden" in attrs
            or "quarto-alternate-formats" in classes
            or attrs.get("id") == "quarto-margin-sidebar"
        )

    def handle_starttag(self, tag: str, raw: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in raw}
        if tag in VOID:
            if tag == "img" and not self.skip and any(t == "figure" for t, _ in self.stack):
                self.out.figures += 1
            return
        ignored = self._ignored(tag, attrs)
        self.stack.append((tag, {"ignored": "1" if ignored else ""}))
        if ignored:
            self.skip += 1
            return
        if self.skip:
            return
        if (
            re.fullmatch(r"h[1-6]", tag)
            and "title" not in attrs.get("class", "").split()
            and attrs.get("id") not in FURNITURE
        ):
            self.heading = []
        elif tag in ("figcaption", "caption"):
            self.caption = []
        elif tag == "table":
            self.table = []
        elif tag == "tr" and self.table is not None:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        while self.stack:
            open_tag, info = self.stack.pop()
            if info["ignored"]:
                self.skip -= 1
            if open_tag == tag:
                break
        if self.skip:
            return
        if re.fullmatch(r"h[1-6]", tag) and self.heading is not None:
            self.out.headings.append(_words("".join(self.heading)))
            self.heading = None
        elif tag in ("figcaption", "caption") and self.caption is not None:
            self.out.captions.append(_words("".join(self.caption)))
            self.caption = None
        elif tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append(_words("".join(self.cell)))
            self.cell = None
        elif tag == "tr" and self.row is not None and self.table is not None:
            self.table.append(self.row)
            self.row = None
        elif tag == "table" and self.table is not None:
            self.out.tables.append(self.table)
            self.table = None

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        for part in (self.heading, self.caption, self.cell):
            if part is not None:
                part.append(data)


def structure(page: str) -> Structure:
    """Parse a rendered report's HTML into its reader-visible structure."""
    parser = _Parser()
    parser.feed(page.split("<body", 1)[-1])
    return parser.out
