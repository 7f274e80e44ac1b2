"""Quarto post-render step: move _output/report/index.* up to _output/.

Quarto keeps a source's folder under the output directory; the project
promises _output/index.html and _output/index.pdf. Runs from the project root
with QUARTO_PROJECT_OUTPUT_DIR set (by Quarto, or by qmdrender on its staging copy).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def main() -> int:
    """Move every file of <output>/report/ to <output>/ and drop the empty folder."""
    output = Path(os.environ.get("QUARTO_PROJECT_OUTPUT_DIR", "_output"))
    source = output / "report"
    if not source.is_dir():
        print(f"error: {source}: nothing rendered to move", file=sys.stderr)
        return 2
    for item in source.iterdir():
        target = output / item.name
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(item, target)
    source.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
