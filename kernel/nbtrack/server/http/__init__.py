"""The HTTP server: routing of every path, authentication of requests and body limits."""
