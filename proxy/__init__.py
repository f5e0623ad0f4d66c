"""SafeThink guard proxy: an OpenAI-compatible gateway that steers reasoning models."""
