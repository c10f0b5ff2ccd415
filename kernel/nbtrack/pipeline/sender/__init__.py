"""The sender stage (its own thread and workers): all network I/O of a run."""
