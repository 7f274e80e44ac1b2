"""The report's Python: load a results folder, draw figures, build markdown tables and compute the
sentences the .qmd documents print. It only reads tables; it never recomputes RSA.

Modules: `results` (loading and checking), `style` (colours, page sizes, tick labels that never
overlap), `figures`, `tables` (markdown tables, and the full tables downloadable from the HTML),
`sentences` (generated findings and abstract), `paper` (methods, limitations, availability and
citation prose), `provenance` (the appendix).
"""
