# zcg top-level targets. README.md documents the two that users run:
#   make packages   build every package into out/
#   make test       build what is missing, then run host and guest tests
SHELL := /bin/bash
.DEFAULT_GOAL := packages

.PHONY: packages deps kernel kernel-distro-config liburing repo test test-host \
	test-guest kernel-tree kernel-export liburing-tree liburing-export clean \
	bench bench-report bench-record

packages: deps kernel liburing repo

deps:
	bash scripts/install-deps.sh

kernel: deps
	bash kernel-src/build.sh test

# Hosts install the distro flavour; CI only checks its configuration.
kernel-distro: deps
	bash kernel-src/build.sh distro

kernel-distro-config: deps
	bash kernel-src/config.sh distro "$$(bash kernel-src/fetch.sh)" build/kernel/obj-distro

liburing: deps
	bash packaging/build-liburing.sh

repo:
	bash packaging/repo.sh

test: packages
	bash tests/run.sh

test-host: deps
	bash tests/host/run.sh

test-guest:
	bash tests/guest/run.sh

# Benchmark guest run (bench/run.sh): builds the bench kernel patched and
# unpatched, boots each in a TCG guest running zcg-bench and the
# send-zerocopy cross-check; CSVs, results.md and plots in out/bench/.
bench: deps liburing
	bash bench/run.sh

# Only the table and plots again, from the CSVs already in out/bench/.
bench-report:
	python3 bench/report.py out/bench

# Keep the last run in the repository (bench/recorded/), for the README.
bench-record:
	mkdir -p bench/recorded
	cp out/bench/summary.md out/bench/results.md out/bench/results.csv \
		out/bench/crosscheck.csv out/bench/settings.txt \
		out/bench/*.png bench/recorded/

# Developer workflow: build/kernel/linux is a git tree (pristine base tagged
# zcg-base, our series applied on top). Edit and commit there, then export.
kernel-tree: deps
	bash kernel-src/fetch.sh

kernel-export:
	bash scripts/export-series.sh kernel

liburing-tree: deps
	bash liburing-fork/fetch.sh

liburing-export:
	bash scripts/export-series.sh liburing

clean:
	rm -rf build out
