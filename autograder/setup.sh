#!/usr/bin/env bash
# d2lgrade's setup.sh for an Otter autograder zip (it replaces Otter's, which needs conda and GitHub).
# Gradescope runs it once, as root, when it builds the assignment's image; `make image` runs it the same way.
# It installs what grading needs: Python 3.11 and the pinned environment (requirements-lock.txt), bubblewrap
# and python3-seccomp for the sandbox, the libraries MXNet loads, and chromium for the written answers' PDF.
# The environment goes to /opt/d2lgrade, readable by the sandbox's unprivileged user; the zip's configuration
# (the references among it) stays in /autograder/source, which only root may enter.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SOURCE=/autograder/source
ENV=/opt/d2lgrade

apt-get update -q
# procps: /bin/kill, with which the container mode clears a kernel's processes (d2lgrade/sandbox/userprocs.py)
apt-get install -y -q --no-install-recommends bubblewrap python3 python3-seccomp libgomp1 libquadmath0 procps \
    ca-certificates fonts-dejavu-core
# Debian's chromium, or none (Ubuntu's is a snap, which does not run in a container): the PDF is then skipped
apt-get install -y -q --no-install-recommends chromium || echo "setup.sh: no chromium package; the PDF of written answers will be skipped"
if ! command -v python3.11 >/dev/null; then
    apt-get install -y -q --no-install-recommends python3.11 python3.11-venv || {
        echo "setup.sh: this image's package lists have no python3.11 (add the deadsnakes PPA on Ubuntu 24.04)" >&2
        exit 1
    }
fi
apt-get install -y -q --no-install-recommends python3.11-venv || true

python3.11 -m venv "$ENV"
"$ENV/bin/python" -m pip install --quiet --no-cache-dir --disable-pip-version-check "uv==0.13.8"
"$ENV/bin/python" -m uv pip sync --quiet --no-cache --python "$ENV/bin/python" --require-hashes \
    "$SOURCE/requirements-lock.txt"
# the grading package itself: plain source, copied (no build backend to fetch)
cp -r "$SOURCE/files/d2lgrade-src/d2lgrade" "$("$ENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/"
"$ENV/bin/python" -m compileall -q "$ENV" >/dev/null || true
chmod -R a+rX "$ENV"
"$ENV/bin/python" -c "import d2lgrade.otter.plugin, mxnet"   # fails the build now, not every submission later

# Only root may enter the zip's folder: the configuration holds the hidden inputs and reference answers.
chown -R root:root "$SOURCE"
chmod 0700 "$SOURCE"
apt-get clean
rm -rf /var/lib/apt/lists/*
