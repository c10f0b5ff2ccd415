"""The run pages, served by the Jupyter extension and by the tracking server alike: the
HTML shell and the static files the browser loads (built from ``js/``)."""
