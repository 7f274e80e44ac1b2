"""The report's Python: load a results folder, draw figures, build markdown tables and compute the
sentences the .qmd documents print. It only reads tables; it never recomputes RSA.

Modules: `results` (loading and checking), `style` (colours, page sizes, tick labels that never
overlap), `figures`, `tables` (markdown tables, and the full tables downloadable from the HTML),
`sentences` (generated findings and abstract), `paper` (methods, limitations, availability and
citation prose), `provenance` (the appendix), `parts` (which figures and tables a study supports,
and the sentence in place of the others), `text` (names escaped for Markdown, ties, words).
"""

# The public face: these modules, imported by name (nothing is re-exported here).
__all__ = [
    "figures",
    "geometry_figures",
    "inference_figures",
    "paper",
    "parts",
    "provenance",
    "results",
    "sentences",
    "style",
    "tables",
    "text",
]
