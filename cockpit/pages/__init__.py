"""One module per section of the cockpit."""
