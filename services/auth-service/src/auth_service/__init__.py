"""auth-service: registration, login, refresh-token rotation and the JWKS."""
