"""pytest set-up for the memory drill: the helpers and `settings` fixture of molecule/default."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "default" / "tests"))

from openclaw_checks import settings_fixture  # noqa: E402,F401  (pytest fixture named "settings")
