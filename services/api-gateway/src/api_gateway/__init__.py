"""api-gateway: the blog's only public entry."""
