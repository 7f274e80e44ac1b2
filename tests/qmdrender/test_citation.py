"""qmdrender's authorship and citation writers (qmdrender/citation.py) and directory metadata."""

from __future__ import annotations

from qmdrender.citation import citation_appendix, citation_meta, title_block, typst_title
from qmdrender.config import directory_metadata

META = {
    "title": "My report",
    "author": [
        {
            "name": "Jane Doe",
            "orcid": "0000-0002-1825-0097",
            "email": "jane@example.org",
            "affiliations": [{"name": "Example University"}],
        },
        "John Roe",
    ],
    "keywords": ["RSA", "fMRI"],
    "license": "MIT",
    "doi": "10.5281/zenodo.1234567",
    "date": "2026-12-01",
    "lang": "en",
    "citation": {"type": "report", "url": "https://example.org/r/"},
    "google-scholar": True,
}


def test_google_scholar_tags_as_quarto_writes_them_and_more():
    tags = citation_meta(META)
    for tag in (
        '<meta name="citation_title" content="My report">',
        '<meta name="citation_keywords" content="RSA,fMRI">',
        '<meta name="citation_author" content="Jane Doe">',
        '<meta name="citation_author_institution" content="Example University">',
        '<meta name="citation_author_orcid" content="0000-0002-1825-0097">',
        '<meta name="citation_author" content="John Roe">',
        '<meta name="citation_publication_date" content="2026-12-01">',
        '<meta name="citation_doi" content="10.5281/zenodo.1234567">',
        '<meta name="citation_fulltext_html_url" content="https://example.org/r/">',
    ):
        assert tag in tags
    assert citation_meta({"title": "x"}) == ""


def test_title_blocks_carry_orcid_affiliation_doi_and_keywords():
    html = title_block(META)
    assert html["authors"][0] == {
        "name": "Jane Doe",
        "orcid": "0000-0002-1825-0097",
        "email": "jane@example.org",
        "affiliation": "Example University",
    }
    assert html["doi"] == "10.5281/zenodo.1234567" and html["keywords"] == "RSA, fMRI"
    typst = typst_title(META, "2026-12-01")
    assert typst["author"][0]["email"] == (
        "jane@example.org\\\nORCID [0000-0002-1825-0097](https://orcid.org/0000-0002-1825-0097)"
    )
    assert typst["date"].split("\\\n") == [
        "2026-12-01",
        "DOI: [10.5281/zenodo.1234567](https://doi.org/10.5281/zenodo.1234567)",
        "Keywords: RSA, fMRI",
    ]


def test_appendix_has_reuse_and_bibtex_with_the_doi():
    text = citation_appendix(META)
    assert "# Reuse {.unnumbered}\n\nMIT" in text
    assert "@report{doe2026," in text and "author = {Doe, Jane and Roe, John}" in text
    assert "doi = {10.5281/zenodo.1234567}" in text


def test_directory_metadata_merges_from_the_root_down(tmp_path):
    (tmp_path / "_metadata.yml").write_text("title: Root\nkeywords: [a]\n")
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "_metadata.yml").write_text("title: Near\n")
    source = tmp_path / "report" / "index.qmd"
    source.write_text("")
    assert directory_metadata(tmp_path, source) == {"title": "Near", "keywords": ["a"]}
