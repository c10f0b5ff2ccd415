"""Talking to a tracking server from the kernel or the CLI: the HTTP transport and its
retry policy, the W&B calls, the read API, finding (or starting) the local server."""
