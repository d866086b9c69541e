# zcg top-level targets. README.md documents the two that users run:
#   make packages   build every package into out/
#   make test       build what is missing, then run host and guest tests
# and make test-full, make test with liburing's whole send-zerocopy matrix.
SHELL := /bin/bash
.DEFAULT_GOAL := packages

# When this make started: the build scripts log each phase's time in
# out/logs/times.txt, and tests/run.sh prints the phases of this run.
ifndef ZCG_RUN_START
ZCG_RUN_START := $(shell date +%s)
endif
export ZCG_RUN_START

.PHONY: packages deps kernel kernel-distro kernel-cloud kernel-distro-config liburing repo test test-full \
	test-host test-guest kernel-tree kernel-export liburing-tree liburing-export clean \
	bench bench-report bench-record test-liburing test-liburing-record test-host-kernel

packages: deps kernel liburing repo

deps:
	bash scripts/install-deps.sh

kernel: deps
	bash kernel-src/build.sh test

# Hosts install the distro flavour; CI only checks its configuration.
kernel-distro: deps
	bash kernel-src/build.sh distro

# Debian's cloud-amd64 configuration + our fragment, for virtual machines.
kernel-cloud: deps
	bash kernel-src/build.sh cloud

kernel-distro-config: deps
	bash kernel-src/config.sh distro "$$(bash kernel-src/fetch.sh)" build/kernel/obj-distro

liburing: deps
	bash packaging/build-liburing.sh

# The signed apt (out/repo) and rpm (out/rpm-repo) repositories.
repo: kernel liburing
	bash packaging/repo.sh
	bash packaging/rpm-repo.sh

# CI runs make test (.ci/run): the deb guest runs liburing's send-zerocopy
# as a bounded subset, the rpm guest leaves it out.
test: packages
	bash tests/run.sh

# The same with send-zerocopy's whole matrix in the deb guest (about 25 min
# more on the debug kernel).
test-full: packages
	ZCG_TEST_PHASES="host deb:full rpm:quick" bash tests/run.sh

# Upstream liburing's own suite on our test kernel and on the same
# configuration from the pristine source, side by side (tests/liburing/;
# about 70 min, not in CI). Fails on any test that passes on the pristine
# kernel only, and on a splat or leak in our guest.
test-liburing: packages
	bash tests/liburing/run.sh

# Keep its last report in the repository (tests/recorded/, the README).
test-liburing-record:
	mkdir -p tests/recorded
	cp out/liburing-suite/report.md tests/recorded/liburing-suite.md

# A host flavour (FLAVOUR=cloud or distro) built, installed with apt and
# DKMS into a guest as a host installs it, booted with its initramfs, and
# zcg-selftest --strict run there (tests/host-kernel/; not in CI: the
# flavour's first build takes hours on 2 cores).
FLAVOUR ?= cloud
test-host-kernel: deps
	bash tests/host-kernel/run.sh $(FLAVOUR)

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
