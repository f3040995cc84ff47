# syntax=docker/dockerfile:1
# Image cs3lab-jupyterlab: JupyterLab with cs3lab (the wheel built from this repository, its
# labextension built from labextension/), the kernels' FUSE mount (pyfuse3, fuse3) and
# jupyterhub-singleuser, so that the same image runs alone, next to the site image
# (docker/compose.yaml) and as the Hub's single-user server (docker/z2jh-values.yaml).
# docker/jupyterlab-entrypoint.sh starts `jupyter lab` with cs3lab as the contents manager;
# the CS3 connection comes from the environment (CS3LAB_GATEWAY, CS3LAB_USER,
# CS3LAB_SECRET_FILE, CS3LAB_HOME, ...). Build from the repository root:
#   docker build -f docker/jupyterlab.Dockerfile -t cs3lab-jupyterlab .
# Built and run by tests/test_images.py (buildah, no Docker engine): see docker/README.md.
ARG DEBIAN_IMAGE=debian:bookworm-slim

FROM ${DEBIAN_IMAGE} AS wheel
# npm for the labextension, gcc and libfuse3's headers for pyfuse3 (no binary wheel).
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends python3 python3-venv python3-dev \
      ca-certificates nodejs npm gcc pkg-config libfuse3-dev \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/build
# JupyterLab's builder needs Node ^20.19 (Debian's is 18): Node's own binary, from the npm
# registry's node-linux-<arch> package, as /usr/local/bin/node.
ARG NODE_VERSION=20.20.2
RUN arch=$(dpkg --print-architecture | sed 's/amd64/x64/') \
 && npm install -g --no-audit --no-fund --loglevel=error "node-linux-$arch@$NODE_VERSION" \
 && node --version
WORKDIR /src/labextension
# The npm packages first: this layer is rebuilt only when they change.
COPY labextension/package.json labextension/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund --loglevel=error
WORKDIR /src
COPY . .
# The wheels of cs3lab (its build hook builds the labextension with npm, in a build
# environment with JupyterLab's builder) and pyfuse3.
RUN --mount=type=cache,target=/root/.cache/pip \
    /opt/build/bin/pip wheel --no-deps --wheel-dir /dist . "pyfuse3>=3.3"

FROM ${DEBIAN_IMAGE}
# The same first layer as the site and Hub images: Python 3.11 in a venv.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/venv \
 && useradd --uid 1000 --create-home cs3lab
ENV PATH=/opt/venv/bin:$PATH
# fuse3: fusermount3 and libfuse3 for the kernels' mount, used when the container gets the
# device (docker run --device /dev/fuse --cap-add SYS_ADMIN); else kernels use cs3:// only.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends fuse3 \
 && rm -rf /var/lib/apt/lists/*
# cs3lab's dependencies (and the hub extra: jupyterhub-singleuser), read from pyproject.toml:
# this layer is rebuilt only when they change, not with every change of cs3lab's code.
COPY pyproject.toml /tmp/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/pip \
    python3 -c 'import tomllib; p = tomllib.load(open("/tmp/pyproject.toml", "rb"))["project"]; print("\n".join(p["dependencies"] + p["optional-dependencies"]["hub"]))' \
      > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt "jupyterlab>=4.6,<5" \
 && rm /tmp/pyproject.toml /tmp/requirements.txt
COPY --from=wheel /dist /dist
RUN pip install /dist/pyfuse3-*.whl \
 && pip install --no-deps /dist/cs3lab-*.whl \
 && rm -rf /dist \
 && pip check \
 && jupyter labextension list 2>&1 | grep -E "cs3lab .*enabled.*OK"
COPY --chmod=0755 docker/jupyterlab-entrypoint.sh /usr/local/bin/cs3lab-jupyterlab
USER cs3lab
# Kernels start here; notebooks and files live in CS3.
WORKDIR /home/cs3lab
EXPOSE 8888
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
  CMD python3 -c 'import os, urllib.request; urllib.request.urlopen("http://127.0.0.1:%s/api" % os.environ.get("CS3LAB_PORT", "8888"), timeout=2)' 2>/dev/null || exit 1
ENTRYPOINT ["cs3lab-jupyterlab"]
