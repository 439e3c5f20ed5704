module titanium/molecule/k3s/standin

go 1.26
