"""The paper's metadata, in the one file the user edits: `report/_metadata.yml`.

Quarto applies a directory's `_metadata.yml` to every document in it (qmdrender does the same),
so title, subtitle, authors (name, ORCID, email, affiliations), keywords, licence, the report's
own DOI and its citation block live there, in Quarto's own schema. Both renderers show them in
the HTML and PDF title blocks and the Google Scholar tags; this module turns them into the
report's "How to cite" (text and BibTeX) and into `CITATION.cff`, which a test keeps equal:

    python -m report.metadata --write-cff     # rewrite CITATION.cff from report/_metadata.yml
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .results import project_root

ROOT = project_root()
METADATA_NAME = "report/_metadata.yml"
METADATA = ROOT / METADATA_NAME
CITATION_CFF = ROOT / "CITATION.cff"
CFF_MESSAGE = (
    "If you use this report or its code, please cite it as below, and cite the data and methods "
    "it builds on (see references.bib)."
)


@dataclass(frozen=True)
class Author:
    """One author as Quarto's schema gives them: name, ORCID, email, affiliations."""

    name: str
    orcid: str = ""
    email: str = ""
    affiliations: tuple[str, ...] = ()

    @property
    def family_given(self) -> tuple[str, str]:
        """(family, given) split at the last space; one word is a family name alone."""
        given, _, family = self.name.strip().rpartition(" ")
        return family, given

    @property
    def is_person(self) -> bool:
        return bool(self.orcid or self.email) or "contributors" not in self.name.lower()


@dataclass(frozen=True)
class Paper:
    """The paper's metadata (report/_metadata.yml); empty strings where not set."""

    title: str
    subtitle: str
    authors: tuple[Author, ...]
    keywords: tuple[str, ...]
    license: str
    doi: str
    url: str
    abstract: str = ""

    @property
    def full_title(self) -> str:
        return f"{self.title}: {self.subtitle}" if self.subtitle else self.title


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _affiliations(entry: dict) -> tuple[str, ...]:
    """Quarto's affiliations: a list of names or of {name: ...}; or `affiliation` (one)."""
    raw = entry.get("affiliations", entry.get("affiliation", []))
    raw = raw if isinstance(raw, list) else [raw]
    names = [_text(a.get("name")) if isinstance(a, dict) else _text(a) for a in raw]
    return tuple(n for n in names if n)


def _author(entry: Any) -> Author:
    if not isinstance(entry, dict):
        return Author(name=_text(entry))
    name = entry.get("name", "")
    if isinstance(name, dict):  # Quarto allows {given: ..., family: ...}
        name = " ".join(_text(name.get(k)) for k in ("given", "family") if name.get(k))
    orcid = _text(entry.get("orcid")).removeprefix("https://orcid.org/")
    return Author(
        name=_text(name),
        orcid=orcid,
        email=_text(entry.get("email")),
        affiliations=_affiliations(entry),
    )


def load_paper(path: Path | None = None) -> Paper:
    """Read the paper's metadata (default: the project's report/_metadata.yml); a missing file
    gives empty fields."""
    path = project_root() / METADATA_NAME if path is None else path
    meta = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    meta = meta or {}
    authors = meta.get("author") or []
    authors = authors if isinstance(authors, list) else [authors]
    keywords = meta.get("keywords") or []
    keywords = [keywords] if isinstance(keywords, str) else keywords
    citation = meta.get("citation") if isinstance(meta.get("citation"), dict) else {}
    doi = _text(meta.get("doi") or citation.get("doi"))
    for prefix in ("https://doi.org/", "http://doi.org/", "doi:"):
        doi = doi.removeprefix(prefix)
    return Paper(
        title=_text(meta.get("title")),
        subtitle=_text(meta.get("subtitle")),
        authors=tuple(_author(a) for a in authors),
        keywords=tuple(_text(k) for k in keywords if _text(k)),
        license=_text(meta.get("license")),
        doi=doi,
        url=_text(citation.get("url")),
        abstract=_text(meta.get("abstract")),
    )


def author_list(paper: Paper) -> str:
    """Authors for a citation: 'Family, G.' for people, names as written otherwise."""
    names = []
    for author in paper.authors:
        family, given = author.family_given
        if author.is_person and given:
            initials = " ".join(f"{part[0]}." for part in given.split() if part)
            names.append(f"{family}, {initials}")
        else:
            names.append(author.name)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " & " + names[-1]


def bibtex_key(paper: Paper, year: str) -> str:
    first = paper.authors[0].family_given[0] if paper.authors else "report"
    return re.sub(r"[^a-z0-9]", "", first.lower()) + year


def bibtex(paper: Paper, year: str, version: str = "", note: str = "", url: str = "") -> str:
    """A BibTeX @techreport entry for the report (a fenced block)."""
    authors = " and ".join(
        f"{a.family_given[0]}, {a.family_given[1]}"
        if a.is_person and a.family_given[1]
        else f"{{{a.name}}}"
        for a in paper.authors
    )
    fields = {
        "title": f"{{{paper.full_title}}}",
        "author": authors,
        "year": year,
        "type": "Report",
        "version": version,
        "doi": paper.doi,
        "url": paper.url or url,
        "keywords": ", ".join(paper.keywords),
        "note": note,
    }
    body = ",\n".join(f"  {k:<8} = {{{v}}}" for k, v in fields.items() if v)
    return f"```bibtex\n@techreport{{{bibtex_key(paper, year)},\n{body}\n}}\n```"


def citation_text(paper: Paper, year: str, version: str = "", url: str = "") -> str:
    """The reference in words: authors (year). Title. Version. DOI or URL."""
    parts = [f"{author_list(paper)} ({year}). *{paper.full_title}*."]
    if version:
        parts.append(f"Version {version}.")
    if paper.doi:
        parts.append(f"<https://doi.org/{paper.doi}>")
    elif paper.url or url:
        parts.append(f"<{paper.url or url}>")
    return " ".join(parts)


def cff_fields(paper: Paper) -> dict[str, Any]:
    """What CITATION.cff must say about the paper (its other keys, e.g. references, are free)."""
    authors = []
    for author in paper.authors:
        family, given = author.family_given
        entry: dict[str, Any] = (
            {"family-names": family, "given-names": given}
            if author.is_person and given
            else {"name": author.name}
        )
        if author.orcid:
            entry["orcid"] = f"https://orcid.org/{author.orcid}"
        if author.email:
            entry["email"] = author.email
        if author.affiliations:
            entry["affiliation"] = "; ".join(author.affiliations)
        authors.append(entry)
    fields: dict[str, Any] = {"authors": authors}
    if (
        paper.title
    ):  # without one, the report shows each study's title and CITATION.cff keeps its own
        fields["title"] = paper.full_title
    if paper.keywords:
        fields["keywords"] = list(paper.keywords)
    if paper.license:
        fields["license"] = paper.license
    if paper.doi:
        fields["doi"] = paper.doi
    if paper.url:
        fields["url"] = paper.url
    return fields


def cff_differences(paper: Paper, cff: dict[str, Any]) -> list[str]:
    """The CITATION.cff keys that disagree with the metadata (empty when they agree)."""
    expected = cff_fields(paper)
    keys = set(expected) | ({"doi", "url", "keywords", "license"} & set(cff))
    return sorted(k for k in keys if cff.get(k) != expected.get(k))


def write_cff(paper: Paper, path: Path = CITATION_CFF) -> None:
    """Rewrite CITATION.cff's paper fields from the metadata, keeping its other keys."""
    cff = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    cff = cff or {}
    for key in ("doi", "url", "keywords", "license"):
        cff.pop(key, None)
    base = {"cff-version": "1.2.0", "message": CFF_MESSAGE, "type": "software"}
    merged = {**base, **cff, **cff_fields(paper)}
    order = [
        "cff-version",
        "message",
        "type",
        "title",
        "abstract",
        "authors",
        "version",
        "doi",
        "url",
        "repository-code",
        "license",
        "keywords",
    ]
    ordered = {k: merged[k] for k in order if k in merged}
    ordered.update({k: v for k, v in merged.items() if k not in ordered})
    text = yaml.dump(
        ordered, Dumper=_IndentedDumper, allow_unicode=True, sort_keys=False, width=10**6
    )
    path.write_text(text, encoding="utf-8")


class _IndentedDumper(yaml.SafeDumper):
    """YAML with list items indented under their key, as CITATION.cff files are usually written."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The paper's metadata and CITATION.cff.")
    parser.add_argument("--write-cff", action="store_true", help="rewrite CITATION.cff")
    args = parser.parse_args(argv)
    paper = load_paper()
    if args.write_cff:
        write_cff(paper)
        print(f"{CITATION_CFF.name} written from {METADATA.relative_to(ROOT)}")
        return 0
    cff = yaml.safe_load(CITATION_CFF.read_text(encoding="utf-8")) or {}
    different = cff_differences(paper, cff)
    if different:
        print(
            f"error: {CITATION_CFF.name}: {', '.join(different)} differ from "
            f"{METADATA.relative_to(ROOT)}; run python -m report.metadata --write-cff",
            file=sys.stderr,
        )
        return 1
    print(f"{CITATION_CFF.name} agrees with {METADATA.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
