"""Titanium blog-service: posts, categories and the server-rendered blog UI."""
