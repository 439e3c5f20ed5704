# molecule/default: site.yml end to end on the simulated cluster (tests/cluster).

# The duration is printed whether the scenario passes or fails: the budget is
# 10 minutes (molecule/default/README.md has the measured figures).
.PHONY: molecule-default
molecule-default: setup-cluster ## Molecule: site.yml on the simulated cluster, idempotence and testinfra verify; prints its duration
	@start=$$(date +%s); rc=0; \
	molecule test -s default || rc=$$?; \
	echo "molecule-default: $$( [ $$rc -eq 0 ] && echo passed || echo "failed (rc=$$rc)" ) in $$(( $$(date +%s) - start )) s"; \
	exit $$rc
