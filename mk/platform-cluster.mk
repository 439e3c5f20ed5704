# Cluster phase (roles/preflight, roles/k3s): the local vault, the Molecule
# scenario of the k3s role and the image it runs in.
SETUP_TARGETS += setup-local-vault setup-molecule-image

MOLECULE_CONTAINERS_CONF := $(CURDIR)/molecule/k3s/containers.conf

.PHONY: setup-local-vault setup-molecule-image molecule-k3s
setup-local-vault: setup-python
	@scripts/local-vault.sh

setup-molecule-image: setup-apt
	@CONTAINERS_CONF=$(MOLECULE_CONTAINERS_CONF) scripts/molecule/debian-image.sh

molecule-k3s: setup-molecule-image ## Molecule: the k3s role's host side in Debian containers under podman
	@start=$$(date +%s); \
	CONTAINERS_CONF=$(MOLECULE_CONTAINERS_CONF) molecule test -s k3s; \
	echo "molecule-k3s: passed in $$(( $$(date +%s) - start )) s"
