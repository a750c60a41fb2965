"""Development and test tools (not shipped with the integration)."""
