"""Media encoding off the user's thread: jobs, the ``nbtrack-media`` worker, the resolver."""
