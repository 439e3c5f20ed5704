# The blog services' container images: one services/Dockerfile, built here with
# podman on a local Python base (no registry is reachable on the build
# machines). CI builds the same file with BuildKit on python:3.11-slim-bookworm.
IMAGE_SERVICES := api-gateway auth-service user-service blog-service

.PHONY: images
images: setup-apt ## Build the four service images with podman: localhost/titanium-<service>:dev
	@for svc in $(IMAGE_SERVICES); do scripts/services/build-image.sh $$svc; done
