#!/usr/bin/env bash
# Installs the external programs the tests check our code against, when
# missing: openssl (CMS), xmlsec1 (XML-DSig), xmllint (canonical XML), and
# Chromium for the console's browser tests (driven over CDP by chromedp).
# Debian packages; needs root (CI runs as root). Quick when all are there.
set -euo pipefail

need=()
command -v openssl >/dev/null || need+=(openssl)
command -v xmlsec1 >/dev/null || need+=(xmlsec1)
command -v xmllint >/dev/null || need+=(libxml2-utils)
command -v chromium >/dev/null || need+=(chromium chromium-driver fonts-dejavu-core)
[ ${#need[@]} -eq 0 ] && exit 0

echo "installing ${need[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-tools: need root to install ${need[*]} (sudo apt-get install ${need[*]})" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
