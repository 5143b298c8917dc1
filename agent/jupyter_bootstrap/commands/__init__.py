"""One module per command flow (pipx's `commands/` layout): cli.py parses the flags and
builds the context, a module here does the work and prints what the user reads."""
