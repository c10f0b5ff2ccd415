"""What a run records about itself, each in a background thread of its own: console
output, system metrics, the environment it ran in."""
