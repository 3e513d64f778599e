"""The runtime auditor. Nothing in this package imports torch at module import time."""
