"""RSA of ResNet-50 layers against BOLD5000 ROIs: load, align, compare, infer, and write tables."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bold5000-resnet-rsa")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.1.0"
