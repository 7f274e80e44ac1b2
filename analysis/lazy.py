"""Public names of a package loaded on first use (PEP 562), so that importing one light module
(e.g. for a cached rerun) does not load the numeric ones."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def attach(
    package: str, sources: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """`__getattr__`, `__dir__` and `__all__` for `package`, whose public names are defined in
    its submodules as `sources` says ({name: submodule}); as lazy_loader.attach, in ten lines."""

    def __getattr__(name: str) -> Any:  # noqa: N807 (the module hook's name)
        if name not in sources:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f".{sources[name]}", package), name)

    def __dir__() -> list[str]:  # noqa: N807
        return sorted(set(vars(sys.modules[package])) | set(sources))

    return __getattr__, __dir__, sorted(sources)
