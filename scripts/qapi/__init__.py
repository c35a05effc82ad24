"""vmig's QAPI code generator (see main.py)."""
