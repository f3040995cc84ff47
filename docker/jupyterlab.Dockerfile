# syntax=docker/dockerfile:1
# JupyterLab with cs3lab: the cs3lab wheel (with its labextension built from labextension/)
# and JupyterLab, started by docker/jupyterlab-entrypoint.sh with cs3lab as the contents
# manager. The CS3 connection comes from the environment (CS3LAB_GATEWAY, CS3LAB_USER,
# CS3LAB_SECRET_FILE, CS3LAB_HOME, ...), which cs3lab's CS3Connection reads.
# Build from the repository root:
#   docker build -f docker/jupyterlab.Dockerfile -t cs3lab-jupyterlab .
# Not built here (no Docker engine on the machines this was written on): see docker/README.md.
ARG NODE_IMAGE=node:20-bookworm-slim
ARG PYTHON_IMAGE=python:3.11-bookworm
ARG RUNTIME_IMAGE=python:3.11-slim-bookworm

FROM ${NODE_IMAGE} AS node

FROM ${PYTHON_IMAGE} AS wheel
# The wheel's build hook (hatch-jupyter-builder) runs npm to build the labextension.
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && node --version && npm --version
# pyfuse3 (the kernels' FUSE mount) builds against libfuse3's headers.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libfuse3-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist . \
 && pip wheel --no-cache-dir --no-deps --wheel-dir /dist "pyfuse3>=3.3"

FROM ${RUNTIME_IMAGE}
COPY --from=wheel /dist /dist
# fuse3: fusermount3 and libfuse3 for the mount; it is used when the container gets the
# device (docker run --device /dev/fuse --cap-add SYS_ADMIN), else kernels use cs3:// only.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends fuse3 \
 && rm -rf /var/lib/apt/lists/* \
 && pip install --no-cache-dir /dist/pyfuse3-*.whl \
 && pip install --no-cache-dir /dist/cs3lab-*.whl "jupyterlab>=4.6,<5" \
 && rm -rf /dist \
 && jupyter labextension list 2>&1 | grep -E "cs3lab .*enabled.*OK" \
 && useradd --uid 1000 --create-home cs3lab
COPY --chmod=0755 docker/jupyterlab-entrypoint.sh /usr/local/bin/cs3lab-jupyterlab
USER cs3lab
# Kernels start here; notebooks and files live in CS3.
WORKDIR /home/cs3lab
EXPOSE 8888
ENTRYPOINT ["cs3lab-jupyterlab"]
