# syntax=docker/dockerfile:1
# Image cs3lab-site: CS3 sites as the tests run them. revad (Reva v3.12.1, and Reva v2.27.7
# for descriptions with "reva": "v2" such as site-n.json and the OCM pair site-fa/site-fb),
# built by tools/revad/build.sh with a Go toolchain from the Go module proxy, started from
# site descriptions by tools/sites/site_runner.py through docker/site-entrypoint.py.
# Build from the repository root:
#   docker build -f docker/revad.Dockerfile -t cs3lab-site .
# Built and run by tests/test_images.py (buildah, no Docker engine): see docker/README.md.
ARG DEBIAN_IMAGE=debian:bookworm-slim

FROM ${DEBIAN_IMAGE} AS revad
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends ca-certificates curl unzip gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY tools/revad tools/revad
# The Go version that builds revad; GOPROXY: where the toolchain and the modules come from.
ARG GO_VERSION=1.26.8
ARG GOPROXY=https://proxy.golang.org,direct
# CS3LAB_CACHE: the toolchain, Go's module and build caches and the revad binaries
# (build.sh reuses a binary built from the same go.mod, go.sum and Go). A BuildKit cache
# mount by default; a build may point it at a volume holding a previous build's cache
# (tests/test_images.py mounts the test suite's ~/.cache/cs3lab there).
ARG CS3LAB_CACHE=/cache
ENV GOPROXY=${GOPROXY} CS3LAB_CACHE=${CS3LAB_CACHE}
RUN --mount=type=cache,target=/cache \
    goroot=$(bash tools/revad/install-go.sh "$GO_VERSION") \
 && export PATH="$goroot/bin:$PATH" \
 && install -m 0755 "$(bash tools/revad/build.sh v3)" /usr/local/bin/revad \
 && install -m 0755 "$(bash tools/revad/build.sh v2)" /usr/local/bin/revad-v2 \
 && /usr/local/bin/revad -version && /usr/local/bin/revad-v2 -version

FROM ${DEBIAN_IMAGE}
# The same first layer as the JupyterLab and Hub images: Python 3.11 in a venv.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/venv \
 && useradd --uid 1000 --create-home cs3lab
ENV PATH=/opt/venv/bin:$PATH
# site_runner.py needs grpc and the CS3 API stubs to wait for revad and create the homes.
RUN pip install --no-cache-dir "cs3apis>=0.2.20260101" "grpcio>=1.60" "protobuf>=5" \
 && install -d -o cs3lab -g cs3lab -m 0700 /run/cs3lab
COPY --from=revad /usr/local/bin/revad /usr/local/bin/revad-v2 /usr/local/bin/
COPY tools/sites /opt/cs3lab/tools/sites
COPY docker/site-entrypoint.py /opt/cs3lab/docker/site-entrypoint.py
# CS3LAB_REVAD, CS3LAB_REVAD_V2: site_runner uses these binaries instead of building them.
# TMPDIR: each site's temporary directory (config, users with their random passwords,
# storage) is made in /run/cs3lab, the volume the JupyterLab container shares.
ENV CS3LAB_REVAD=/usr/local/bin/revad \
    CS3LAB_REVAD_V2=/usr/local/bin/revad-v2 \
    TMPDIR=/run/cs3lab \
    CS3LAB_RUN_DIR=/run/cs3lab \
    PYTHONUNBUFFERED=1
USER cs3lab
WORKDIR /home/cs3lab
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s CMD test -s /run/cs3lab/gateway
ENTRYPOINT ["python", "/opt/cs3lab/docker/site-entrypoint.py"]
CMD ["site-a.json"]
