"""pytest set-up for the default scenario: the `settings` fixture from openclaw_checks."""

from openclaw_checks import settings_fixture  # noqa: F401  (pytest fixture named "settings")
