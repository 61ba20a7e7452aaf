"""The desk API and console: filled by the desk issue."""
