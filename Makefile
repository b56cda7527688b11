# The README's two commands (`make demo`, `make test`) need root (network namespaces, port 67,
# apt-get). `make lint` and `make typecheck` are the guard rails CI also runs.
.PHONY: setup demo test bench bench6 lint typecheck

setup:
	sh scripts/setup.sh

demo: setup
	bash scripts/demo.sh

test: setup
	.venv/bin/python -m tests

bench: setup
	.venv/bin/python bench/run.py

# the same for DHCPv6 (perfdhcp -6 against apidhcpd's DHCPv6 and kea-dhcp6)
bench6: setup
	.venv/bin/python bench/run.py --family 6

lint: setup
	.venv/bin/ruff check apidhcpd tests bench

typecheck: setup
	.venv/bin/mypy
