# The collection artifact and the checks every certified collection runs.
COLLECTION_OUT := build/collection

.PHONY: collection sanity
collection: ## Build the collection artifact (ansible-galaxy collection build) into build/collection/
	@rm -rf $(COLLECTION_OUT)
	ansible-galaxy collection build --output-path $(COLLECTION_OUT)

# ansible-test must run from inside ansible_collections/<namespace>/<name>: a
# freshly built artifact, installed there, is what it checks (what users get,
# not the checkout). A private directory outside this work tree: inside it,
# ansible-test would ask Git which files to check, and Git ignores build/; and
# two runs at once must not share one.
sanity: ## ansible-test sanity on the built collection (what kubernetes.core and certified collections run)
	@root=$$(mktemp -d "$${TMPDIR:-/tmp}/titanium-sanity.XXXXXX"); trap 'rm -rf "$$root"' EXIT; \
	ansible-galaxy collection build --output-path "$$root/dist" >/dev/null; \
	ansible-galaxy collection install --offline --no-deps --force -p "$$root" "$$root"/dist/*.tar.gz 2>&1 \
	  | grep -v "is not part of the configured"; \
	cd "$$root/ansible_collections/titanium/platform" && ansible-test sanity --python 3.11 --color no
