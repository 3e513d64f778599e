"""File discovery, configuration, parsing, running checks and suppression."""
