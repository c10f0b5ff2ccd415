"""nbtrack: experiment tracking that lives inside the Jupyter kernel."""

from nbtrack.version import __version__

__all__ = ["__version__"]
