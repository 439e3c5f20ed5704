# The collection artifact and the checks every certified collection runs.
COLLECTION_OUT := build/collection
# ansible-test must run from inside ansible_collections/<namespace>/<name>: the
# artifact, installed there, is what it checks (what users get, not the
# checkout). Outside this work tree: inside it, ansible-test would ask Git which
# files to check, and Git ignores build/.
SANITY_ROOT := $(or $(TMPDIR),/tmp)/titanium-sanity

.PHONY: collection sanity
collection: ## Build the collection artifact (ansible-galaxy collection build) into build/collection/
	@rm -rf $(COLLECTION_OUT)
	ansible-galaxy collection build --output-path $(COLLECTION_OUT)

sanity: collection ## ansible-test sanity on the built collection (what kubernetes.core and certified collections run)
	@rm -rf $(SANITY_ROOT)
	@ansible-galaxy collection install --offline --no-deps --force -p $(SANITY_ROOT) $(COLLECTION_OUT)/*.tar.gz 2>&1 | grep -v "is not part of the configured"
	cd $(SANITY_ROOT)/ansible_collections/titanium/platform && \
	  ansible-test sanity --python 3.11 --color no
