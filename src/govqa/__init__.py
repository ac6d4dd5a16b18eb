"""govqa: citation-grounded question answering over government documents, offline."""

__version__ = "0.1.0"
