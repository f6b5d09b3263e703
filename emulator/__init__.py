"""A local Google Compute Engine emulator for the openclaw.gcp collection.

Run it with ``python -m emulator --state-dir DIR``; see ``emulator/README.md``.
"""

__version__ = "0.1.0"
