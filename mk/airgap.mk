# Air gap: gather, on a connected machine, what an offline site.yml installs from.
.PHONY: airgap
airgap: ## Gather k3s, the charts and every image for ENV into DIR (then site.yml with titanium_airgap_dir=DIR installs offline)
	@[[ -n "$(DIR)" ]] || { echo "make airgap needs DIR=/absolute/path (where to gather)" >&2; exit 2; }
	@[[ -d inventories/$(ENV) ]] || { echo "ENV=$(ENV) has no inventory; choose one of: $$(ls inventories | tr '\n' ' ')" >&2; exit 2; }
	@$(MAKE) setup-operator
	ansible-playbook playbooks/airgap.yml -i inventories/$(ENV) -e titanium_airgap_dir=$(abspath $(DIR)) $(AIRGAP_ARGS)
