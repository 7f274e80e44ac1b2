"""qmdrender: render this project's Quarto sources without the Quarto binary.

Real parts only: Jupyter (nbclient + ipykernel) runs the cells, pandoc (from
pypandoc-binary) with ``--citeproc`` writes the HTML and the typst source, and
the ``typst`` Python package compiles the PDF. Only the Quarto features the
report uses are supported; anything else stops the render with a clear error.
"""

from qmdrender.errors import RenderError

__all__ = ["RenderError", "identity"]


def identity() -> str:
    """This renderer's name and the versions of its parts, for the report's provenance."""
    from importlib.metadata import version

    import pypandoc

    return (
        f"qmdrender fallback (Jupyter nbclient {version('nbclient')}, "
        f"pandoc {pypandoc.get_pandoc_version()}, typst {version('typst')})"
    )
