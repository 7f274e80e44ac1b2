"""The document's authorship and citation, as Quarto shows them: title-block metadata for the HTML
template and for typst, Google Scholar (Highwire) meta tags, and the Reuse and Citation appendix.

Input is the merged metadata (``_quarto.yml``, the directory's ``_metadata.yml``, front matter) in
Quarto's schema: ``author`` (a name, or a list of names or of ``{name, orcid, email,
affiliations}``), ``keywords``, ``license``, ``doi``, ``citation`` and ``google-scholar``.
"""

from __future__ import annotations

import html
import re
from typing import Any


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def authors(meta: dict[str, Any]) -> list[dict[str, Any]]:
    """Every author as {name, orcid, email, affiliations: [names]} (Quarto's normalised form)."""
    entries = meta.get("author", [])
    entries = entries if isinstance(entries, list) else [entries]
    out = []
    for entry in entries:
        if not entry:
            continue
        if not isinstance(entry, dict):
            out.append({"name": _text(entry), "orcid": "", "email": "", "affiliations": []})
            continue
        name = entry.get("name", "")
        if isinstance(name, dict):
            name = " ".join(_text(name.get(k)) for k in ("given", "family") if name.get(k))
        raw = entry.get("affiliations", entry.get("affiliation", []))
        raw = raw if isinstance(raw, list) else [raw]
        affiliations = [_text(a.get("name")) if isinstance(a, dict) else _text(a) for a in raw]
        out.append(
            {
                "name": _text(name),
                "orcid": _text(entry.get("orcid")).removeprefix("https://orcid.org/"),
                "email": _text(entry.get("email")),
                "affiliations": [a for a in affiliations if a],
            }
        )
    return out


def author_names(meta: dict[str, Any]) -> list[str]:
    return [a["name"] for a in authors(meta) if a["name"]]


def keywords(meta: dict[str, Any]) -> list[str]:
    value = meta.get("keywords") or []
    value = [value] if isinstance(value, str) else value
    return [_text(k) for k in value if _text(k)]


def doi(meta: dict[str, Any]) -> str:
    """The document's DOI (top-level ``doi``, else ``citation.doi``), without a resolver prefix."""
    citation = meta.get("citation") if isinstance(meta.get("citation"), dict) else {}
    value = _text(meta.get("doi") or citation.get("doi"))
    for prefix in ("https://doi.org/", "http://doi.org/", "doi:"):
        value = value.removeprefix(prefix)
    return value


def title_block(meta: dict[str, Any]) -> dict[str, Any]:
    """Pandoc metadata for the HTML template's title block: authors with their ORCID, email and
    affiliations, the DOI and the keywords (as Quarto's title block shows them)."""
    out: dict[str, Any] = {
        "authors": [
            {
                "name": a["name"],
                "orcid": a["orcid"],
                "email": a["email"],
                "affiliation": ", ".join(a["affiliations"]),
            }
            for a in authors(meta)
        ],
        "has-affiliations": any(a["affiliations"] for a in authors(meta)),
    }
    if doi(meta):
        out["doi"] = doi(meta)
    if keywords(meta):
        out["keywords"] = ", ".join(keywords(meta))
    return out


def typst_title(meta: dict[str, Any], date: str) -> dict[str, Any]:
    """Pandoc metadata for typst's title block: each author's affiliation and email (with the
    ORCID beside it), and the date followed by the DOI and the keywords, as the project's typst
    partial (report/typst/typst-show.typ) makes Quarto show them."""
    people = []
    for a in authors(meta):
        contact = [a["email"]] if a["email"] else []
        if a["orcid"]:
            contact.append(f"ORCID [{a['orcid']}](https://orcid.org/{a['orcid']})")
        people.append(
            {
                "name": a["name"],
                "affiliation": ", ".join(a["affiliations"]),
                "email": "\\\n".join(contact),
            }
        )
    lines = [date] if date else []
    if doi(meta):
        lines.append(f"DOI: [{doi(meta)}](https://doi.org/{doi(meta)})")
    if keywords(meta):
        lines.append(f"Keywords: {', '.join(keywords(meta))}")
    out: dict[str, Any] = {"author": people}
    if lines:
        out["date"] = "\\\n".join(lines)
    return out


def _year(meta: dict[str, Any]) -> str:
    citation = meta.get("citation") if isinstance(meta.get("citation"), dict) else {}
    return _text(citation.get("issued", meta.get("date", "")))[:4]


def citation_meta(meta: dict[str, Any]) -> str:
    """Highwire (Google Scholar) ``citation_*`` meta tags, the ones Quarto writes."""
    citation = meta.get("citation")
    if not citation and not meta.get("google-scholar"):
        return ""
    citation = citation if isinstance(citation, dict) else {}
    tags: list[tuple[str, str]] = [("citation_title", _text(meta.get("title")))]
    if keywords(meta):
        tags.append(("citation_keywords", ",".join(keywords(meta))))
    for author in authors(meta):
        tags.append(("citation_author", author["name"]))
        tags += [("citation_author_institution", a) for a in author["affiliations"]]
        if author["orcid"]:
            tags.append(("citation_author_orcid", author["orcid"]))
        if author["email"]:
            tags.append(("citation_author_email", author["email"]))
    issued = _text(citation.get("issued", meta.get("date")))
    if issued:
        tags += [("citation_publication_date", issued), ("citation_year", issued[:4])]
    for value, tag in (
        (citation.get("url"), "citation_fulltext_html_url"),
        (doi(meta), "citation_doi"),
        (citation.get("publisher"), "citation_publisher"),
        (citation.get("container-title"), "citation_journal_title"),
        (meta.get("lang"), "citation_language"),
    ):
        if value:
            tags.append((tag, _text(value)))
    return (
        "\n".join(f'<meta name="{n}" content="{html.escape(v, quote=True)}">' for n, v in tags if v)
        + "\n"
    )


def _family_given(name: str) -> tuple[str, str]:
    given, _, family = name.rpartition(" ")
    return family, given


def citation_appendix(meta: dict[str, Any]) -> str:
    """ "Reuse" (the licence) and "Citation" (BibTeX and the reference in words), as Quarto
    appends to HTML when ``license`` and ``citation`` are set."""
    out = ""
    if meta.get("license"):
        out += f"\n\n# Reuse {{.unnumbered}}\n\n{_text(meta['license'])}\n"
    citation = meta.get("citation")
    if not citation:
        return out
    citation = citation if isinstance(citation, dict) else {}
    names = author_names(meta)
    bib_names = [
        f"{family}, {given}" if given else f"{{{family}}}"
        for family, given in map(_family_given, names)
    ]
    year = _year(meta)
    fields = {
        "author": " and ".join(bib_names),
        "title": _text(meta.get("title")),
        "date": _text(citation.get("issued", meta.get("date", ""))),
        "url": _text(citation.get("url")),
        "doi": doi(meta),
        "langid": _text(meta.get("lang")),
    }
    first = _family_given(names[0])[0] if names else "report"
    key = re.sub(r"\W+", "", first.lower()) + year
    entry = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields.items() if v)
    kind = "report" if citation.get("type", "report") == "report" else "misc"
    where = f"<https://doi.org/{doi(meta)}>" if doi(meta) else fields["url"]
    words = f"{' and '.join(names)}. {year}. “{fields['title']}.” {where}".strip()
    return (
        out + f"\n\n# Citation {{.unnumbered}}\n\nBibTeX citation:\n\n```bibtex\n@{kind}{{{key},\n"
        f"{entry}\n}}\n```\n\nFor attribution, please cite this work as:\n\n{words}\n"
    )
