"""The handler stage (its own thread): steps, summary, sampled history."""
