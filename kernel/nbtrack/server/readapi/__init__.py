"""The JSON read API (``/api/v1/...``): run views, history (raw, filtered, downsampled) and
the precomputed min/max levels that answer long runs fast."""
