"""Talking to a tracking server from the kernel or the CLI: transports (one request, one
response), the HTTP client above them (retries, auth, redaction, network status), the W&B
calls, the read API, and finding (or starting) the local server."""
