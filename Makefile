# The README's two commands. Both need root (network namespaces, port 67, apt-get).
.PHONY: setup demo test bench

setup:
	sh scripts/setup.sh

demo: setup
	bash scripts/demo.sh

test: setup
	.venv/bin/python -m tests

bench: setup
	.venv/bin/python bench/run.py
