"""user-service: profiles and credentials of the blog's users."""
