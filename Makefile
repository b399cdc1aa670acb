# cmcgrader — the two commands a newcomer needs are `make demo` and `make test`.

GO        ?= go
BIN       := bin/cmcgrader
SAMPLE    := testdata/sample
GOVERSION := $(shell sed -n 's/^go: *"\{0,1\}\([0-9.]*\)"\{0,1\}.*/\1/p' $(SAMPLE)/bank/bank.yaml)
IMAGE     := cmcgrader-sandbox:go$(GOVERSION)
DEMO      := build/demo
CANDIDATE ?= candidate/subset

.PHONY: all build tools browser registry kube-deps kube image demo test vet clean bench

all: build

build:
	$(GO) build -o $(BIN) ./cmd/cmcgrader

# What the image build needs on the host besides Go, git and Docker:
# debootstrap, installed from Debian's packages when it is missing.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
tools:
	@command -v debootstrap >/dev/null 2>&1 || { \
		command -v apt-get >/dev/null 2>&1 || { echo "debootstrap is missing: install it with your package manager" >&2; exit 1; }; \
		echo "installing debootstrap"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq debootstrap >/dev/null; \
	}

# What the dashboard's browser test needs: a Chromium, installed from
# Debian's packages when there is none.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1 || { \
		command -v apt-get >/dev/null 2>&1 || { echo "chromium is missing: install it with your package manager" >&2; exit 1; }; \
		echo "installing chromium"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	}

# What the image push tests need: Debian's docker-registry (the v2
# registry they push to on loopback), installed when it is missing.
registry:
	@command -v docker-registry >/dev/null 2>&1 || { \
		command -v apt-get >/dev/null 2>&1 || { echo "docker-registry is missing: install it with your package manager" >&2; exit 1; }; \
		echo "installing docker-registry"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null; \
	}

# What the test Kubernetes cluster (internal/kubecluster) runs besides the
# Kubernetes binaries it builds itself: etcd, the CNI plugins, containerd
# and gcc with a static libc (for the pod sandbox program), installed from
# Debian's packages when missing.
KUBE_DEPS := /usr/bin/etcd:etcd-server /usr/lib/cni/bridge:containernetworking-plugins \
	/usr/bin/containerd:containerd /usr/bin/gcc:gcc /usr/include/stdio.h:libc6-dev
kube-deps:
	@missing=""; for dep in $(KUBE_DEPS); do \
		[ -e "$${dep%%:*}" ] || missing="$$missing $${dep#*:}"; \
	done; \
	[ -z "$$missing" ] || { \
		command -v apt-get >/dev/null 2>&1 || { echo "missing:$$missing: install them with your package manager" >&2; exit 1; }; \
		echo "installing$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	}

# The base sandbox image, built from Debian packages and the Go module proxy
# (no container registry needed). When it exists, only the grader's own
# files in it (the supervisor, the JUnit reporter, opa) are brought up to
# date, which needs no debootstrap, and the Go module proxy only to build a
# new opa version the first time; `make image FORCE=1`
# rebuilds it whole.
image: build
	@if [ -z "$(FORCE)" ] && docker image inspect $(IMAGE) >/dev/null 2>&1; then \
		$(BIN) image build --bank $(SAMPLE)/bank; \
	else \
		$(MAKE) --no-print-directory tools && \
		$(BIN) image build --bank $(SAMPLE)/bank $(if $(FORCE),--force); \
	fi

# Grade the bundled sample candidate against the sample bank.
demo: image
	rm -rf $(DEMO) && mkdir -p $(DEMO)
	sh $(SAMPLE)/mkrepo.sh $(DEMO)/meshery.git
	$(BIN) grade --bank $(SAMPLE)/bank --repo $(DEMO)/meshery.git --branch $(CANDIDATE) --out $(DEMO)/report.json
	@echo "JSON report: $(DEMO)/report.json"

# Measure grading with a cold image, a warm image and on the host, the
# sandbox overhead, cached fetches and peak RSS, on the sample and on a
# generated Meshery-size repository (slow: it compiles client-go cold).
bench: image
	$(GO) run ./cmd/cmcgrader-bench -binary $(BIN) -out build/bench.md

vet:
	test -z "$$(gofmt -l cmd grader internal sandbox tasks bench)" || { gofmt -l cmd grader internal sandbox tasks bench; exit 1; }
	$(GO) vet ./...

# The Kubernetes binaries the test cluster runs, built once from the Go
# module proxy and cached (internal/kubecluster).
kube: kube-deps
	$(GO) run ./internal/kubecluster/kubebuild

# The one-time Kubernetes build compiles while the image build mostly
# downloads, so that neither waits for the other.
test: browser registry kube-deps
	@$(GO) run ./internal/kubecluster/kubebuild & kb=$$!; \
	$(MAKE) --no-print-directory image vet; st=$$?; \
	wait $$kb || { echo "building the Kubernetes binaries failed" >&2; exit 1; }; \
	exit $$st
	$(GO) test -count=1 -timeout 75m ./...

clean:
	rm -rf bin build
