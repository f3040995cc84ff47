# syntax=docker/dockerfile:1
# A CS3 site: revad (Reva v3.12.1, and Reva v2.27.7 for site descriptions with "reva": "v2"
# such as site-n.json, whose decomposedfs driver has native CS3 locks; both built by
# tools/revad/build.sh, the script CI and the demo use) started from a site description by
# tools/sites/site_runner.py, through docker/site-entrypoint.py. Build from the repository root:
#   docker build -f docker/revad.Dockerfile -t cs3lab-site .
# Not built here (no Docker engine on the machines this was written on): see docker/README.md.
ARG GO_IMAGE=golang:1.25-bookworm
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${GO_IMAGE} AS revad
WORKDIR /src
COPY tools/revad tools/revad
# build.sh keeps the Go module and build caches under $CS3LAB_CACHE and prints the binary's
# path on stdout (its only output there); cgo (for sqlite) uses the image's gcc.
ENV CS3LAB_CACHE=/cache
RUN --mount=type=cache,target=/cache \
    bin=$(bash tools/revad/build.sh) \
 && install -m 0755 "$bin" /usr/local/bin/revad \
 && /usr/local/bin/revad -version \
 && bin_v2=$(bash tools/revad/build.sh v2) \
 && install -m 0755 "$bin_v2" /usr/local/bin/revad-v2 \
 && /usr/local/bin/revad-v2 -version

FROM ${PYTHON_IMAGE}
# site_runner.py needs grpc and the CS3 API stubs to wait for revad and create the homes.
RUN pip install --no-cache-dir "cs3apis>=0.2.20260101" "grpcio>=1.60" "protobuf>=5" \
 && useradd --uid 1000 --create-home cs3lab \
 && install -d -o cs3lab -g cs3lab -m 0700 /run/cs3lab
COPY --from=revad /usr/local/bin/revad /usr/local/bin/revad-v2 /usr/local/bin/
COPY tools/sites /opt/cs3lab/tools/sites
COPY docker/site-entrypoint.py /opt/cs3lab/docker/site-entrypoint.py
# CS3LAB_REVAD, CS3LAB_REVAD_V2: site_runner uses these binaries instead of building them. TMPDIR: the site's
# temporary directory (config, users with their random passwords, storage) is created in
# /run/cs3lab, the volume the JupyterLab container shares.
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
