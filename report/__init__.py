"""The report's Python: load a results folder, draw figures, build markdown tables and compute the
sentences the .qmd documents print. It only reads tables; it never recomputes RSA.

Modules: `results` (loading and checking), `style` (colours and labels), `figures`, `tables`
(markdown tables), `sentences` (generated prose), `provenance` (the appendix).
"""
