# archiverelay: `make run` starts a node on the embedded default, `make test` runs every check.
# Both install the Debian packages they need first (apt-get; sudo when not root).
SWIFT ?= swift
FUZZ_SECONDS ?= 20
RUN_PACKAGES := libzstd-dev libsqlite3-dev pkg-config
TEST_PACKAGES := $(RUN_PACKAGES) swaks postfix python3 python3-aiosmtpd openssl nginx libnginx-mod-stream curl

.PHONY: run test build deps-run deps-test fuzz sanitize clean

deps-run:
	@scripts/install-deps $(RUN_PACKAGES)

deps-test:
	@scripts/install-deps $(TEST_PACKAGES)

build: deps-run
	$(SWIFT) build -c release --product archiverelay

run: build
	$(SWIFT) run -c release archiverelay serve

test: deps-test
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/test-all

fuzz: deps-test
	cd Fuzz && $(SWIFT) build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
	for t in FuzzCommandParser FuzzDataDecoder FuzzProxyHeader FuzzRecordCodec FuzzQueueJournal FuzzConfigDecoder; do Fuzz/.build/debug/$$t -max_total_time=$(FUZZ_SECONDS) Fuzz/Corpus/$$t || exit 1; done

# The test suite under ThreadSanitizer and AddressSanitizer, each in its own build folder.
# Slow (two full builds); run before resolving reliability work, not on every CI run.
sanitize: deps-test
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	ARCHIVERELAY_BINARY=$(CURDIR)/.build-tsan/debug/archiverelay $(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
	ARCHIVERELAY_BINARY=$(CURDIR)/.build-asan/debug/archiverelay $(SWIFT) test --skip-build --sanitize=address --scratch-path .build-asan

clean:
	rm -rf .build .build-tsan .build-asan Fuzz/.build
