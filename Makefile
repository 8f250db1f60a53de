# archiverelay: `make run` starts a node on the embedded default, `make test` runs every check.
# Both install the Debian packages they need first (apt-get; sudo when not root).
SWIFT ?= swift
FUZZ_SECONDS ?= 20
# libxml2: FoundationXML (S3's XML answers, Sources/ObjectStorage) links the system's copy.
RUN_PACKAGES := libzstd-dev libsqlite3-dev pkg-config libxml2
DEB_PACKAGES := dpkg-dev lintian systemd python3
TEST_PACKAGES := $(RUN_PACKAGES) $(DEB_PACKAGES) python3-pip swaks libnet-ssleay-perl postfix python3-aiosmtpd python3-seccomp openssl nginx libnginx-mod-stream curl strace prometheus
# From PyPI: moto's S3 server and boto3/botocore, the ObjectStorage tests' server and oracles.
PIP_PACKAGES := 'moto[server]==5.2.1' boto3==1.43.11 botocore==1.43.11

.PHONY: run test build deb deps-run deps-test deps-deb fuzz soak sanitize microbench clean

deps-run:
	@scripts/install-deps $(RUN_PACKAGES)

deps-test:
	@scripts/install-deps $(TEST_PACKAGES)
	@python3 -m pip install --quiet --disable-pip-version-check $(PIP_PACKAGES) 2>/dev/null \
		|| python3 -m pip install --quiet --disable-pip-version-check --break-system-packages $(PIP_PACKAGES)

deps-deb:
	@scripts/install-deps $(RUN_PACKAGES) $(DEB_PACKAGES)

build: deps-run
	$(SWIFT) build -c release --product archiverelay

run: build
	$(SWIFT) run -c release archiverelay serve

# The Debian package (README, "Install"), into DEB_DIR. A release build of its own, in
# .build-deb: the Swift runtime and Foundation linked in (the package runs where no Swift
# toolchain is), no RUNPATH; then scripts/build-deb and lintian, which must report no error.
DEB_DIR ?= .build-deb/package
deb: deps-deb
	$(SWIFT) build -c release --product archiverelay --scratch-path .build-deb --static-swift-stdlib --disable-local-rpath -Xswiftc -no-toolchain-stdlib-rpath
	deb=$$(scripts/build-deb .build-deb/release/archiverelay $(DEB_DIR)) && lintian --fail-on error "$$deb" && echo "built $$deb"

test: deps-test
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/test-all

# Each fuzz target for FUZZ_SECONDS, from the committed seeds. New inputs go to
# Fuzz/.build/corpus/<target> (libFuzzer writes to its first corpus folder), never into
# the committed seeds: a crash is kept as a regression test and its input added by hand.
FUZZ_TARGETS := $(notdir $(wildcard Fuzz/Sources/Fuzz*))
fuzz: deps-test
	cd Fuzz && $(SWIFT) build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
	for t in $(FUZZ_TARGETS); do mkdir -p Fuzz/.build/corpus/$$t && Fuzz/.build/debug/$$t -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=Fuzz/.build/ Fuzz/.build/corpus/$$t Fuzz/Corpus/$$t || exit 1; done

# The long mode of the fault suite (docs/RELIABILITY.md): the volume fault tests with
# SOAK_FACTOR times their kills and messages (200 SIGKILLs, 50,000 messages through nginx
# at the default 10), every other fault suite once more, then each fuzz target for
# SOAK_FUZZ_SECONDS. About 2 hours at the defaults.
SOAK_FACTOR ?= 10
SOAK_FUZZ_SECONDS ?= 600
SOAK_FILTER ?= NodeTests|NginxChainTests|ForwardCrashTests|DiskFullTests|SlowlorisTests|PeerFaultTests|RecoveryTests|SmugglingProbeTests
soak: deps-test
	$(SWIFT) build --build-tests
	ARCHIVERELAY_SOAK=$(SOAK_FACTOR) $(SWIFT) test --skip-build --filter '$(SOAK_FILTER)'
	$(MAKE) fuzz FUZZ_SECONDS=$(SOAK_FUZZ_SECONDS)

# The test suite under ThreadSanitizer and AddressSanitizer, each in its own build folder.
# Slow (two full builds); run before resolving reliability work, not on every CI run.
# The volume tests (10,000-message drains, 5,000 messages through nginx, the 20-kill crash
# loop) exceed their time limits at the sanitizers' 5-15x slowdown and are skipped; every
# other test runs (the node suites with 4x their time limits), and the nodes the node
# tests start are sanitized binaries too.
SANITIZE_SKIP ?= backlogDrainsInOrderAfterThePeerComesUp|backlogDrainsIntoPostfixSmtpSinkOverFourConnections|acknowledgedMailSurvivesSigkill|haPairBehindNginxKeepsEveryAcknowledgedMessageThroughANodeCrash
sanitize: deps-test
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	ARCHIVERELAY_TIME_SCALE=4 ARCHIVERELAY_BINARY=$(CURDIR)/.build-tsan/debug/archiverelay $(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan --skip '$(SANITIZE_SKIP)'
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
	ARCHIVERELAY_TIME_SCALE=4 LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan-suppressions.txt ARCHIVERELAY_BINARY=$(CURDIR)/.build-asan/debug/archiverelay $(SWIFT) test --skip-build --sanitize=address --scratch-path .build-asan --skip '$(SANITIZE_SKIP)'

# The micro-benchmarks (package-benchmark, a package of their own: Benchmarks/README.md).
# Release build of the Benchmarks package, then every benchmark; a few minutes on 2 cores.
microbench: deps-run
	cd Benchmarks && $(SWIFT) package benchmark

clean:
	rm -rf .build .build-tsan .build-asan .build-deb Fuzz/.build Benchmarks/.build
