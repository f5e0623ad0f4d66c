"""Text banks (requests, answers, refusals, wrappers) for the cross-encoder's training data."""
