"""One router per resource: posts, categories, and the web UI."""
