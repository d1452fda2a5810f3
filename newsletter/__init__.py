"""newsletter: a daily research-paper digest (collect, rank, render, send)."""

__version__ = "0.1.0"
