"""RSA of network layers against brain ROIs: read, compare, infer, and write tables.

Data flow one way: `reading` (study file, RDM files, alignment) → `comparison` (RDM vs RDM) →
`inference` (dual bootstrap, noise ceilings, tests) → `pipeline` (stages, cache, tables,
manifest) → a results folder whose tables `analysis.schema` defines and the report reads.
"""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]  # the subpackages above are the public face; import them by name

try:
    __version__ = version("bold5000-resnet-rsa")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.1.0"
