#!/usr/bin/env bash
# Gradescope autograder set-up: runs once, as root, when Gradescope builds the autograder's
# Docker image (its base images are Ubuntu). The autograder zip holds this file, run_autograder,
# `part` (the part this assignment grades: 1, 2 or 3) and `lab/`: a checkout of the lab with its
# guest image already built in lab/build/out/image-<hash>/ (`npx farfetchd-lab image` on a Debian
# machine; the build needs Debian's linux-source-6.12, which Ubuntu does not have; ~130 MB).
set -euo pipefail
cd /autograder/source/lab
export DEBIAN_FRONTEND=noninteractive
apt-get update
# QEMU runs the guest; build-essential and python3 build node-pty for npm ci.
apt-get install -y --no-install-recommends ca-certificates curl git qemu-system-x86 qemu-utils \
	build-essential python3
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
	curl -fsSL https://deb.nodesource.com/setup_20.x | bash -
	apt-get install -y nodejs
fi
npm ci --no-audit --no-fund
image=$(ls -d build/out/image-*/ 2>/dev/null | head -n 1)
if [ -z "$image" ]; then
	echo "setup.sh: no lab/build/out/image-*/ in the zip: build it with npx farfetchd-lab image" >&2
	exit 1
fi
ln -sfn "$(basename "$image")" build/out/image
# The first boot makes the warm snapshot every later boot starts from: make it now, not in a
# student's 10 minutes.
npx farfetchd-lab exec -- true
