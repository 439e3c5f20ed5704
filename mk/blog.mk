# blog-service (services/blog-service): the container image's lock.
.PHONY: lock-blog-image
lock-blog-image: setup-python ## Re-derive blog-service's image lock from requirements/python.lock
	uv pip compile -q --generate-hashes --python-version 3.11 \
	  services/blog-service/requirements.in -c requirements/python.lock \
	  -o services/blog-service/requirements.lock
