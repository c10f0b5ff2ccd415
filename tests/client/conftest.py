"""The fake W&B server fixture for the transport tests."""

from helpers.fakewandb import fake  # noqa: F401  (fixture)
