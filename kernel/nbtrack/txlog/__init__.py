"""The run's transaction log: its format, the writer, the reader that recovers a torn
tail, and verify."""
