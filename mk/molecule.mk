# molecule/default: site.yml end to end on the simulated cluster (tests/cluster).

.PHONY: molecule-default
molecule-default: setup-cluster ## Molecule: site.yml on the simulated cluster, idempotence and verify; prints its duration
	@start=$$(date +%s); \
	molecule test -s default && \
	echo "molecule-default: passed in $$(( $$(date +%s) - start )) s"
