"""Round trips against the real server over Wyoming, as a satellite does them."""
