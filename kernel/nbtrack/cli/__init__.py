"""The nbtrack command."""
