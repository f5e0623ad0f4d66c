"""SafeThink reward service: scores partial reasoning traces for safety."""
