"""scripts/develop's stack: HA API helpers, onboarding, the browser check."""
