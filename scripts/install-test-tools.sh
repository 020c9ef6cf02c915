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
# Chromium with its recommended packages (fonts, mesa), as it was tried
# here and in the machine's probe.
browser=()
command -v chromium >/dev/null || browser+=(chromium chromium-driver)
[ ${#need[@]} -eq 0 ] && [ ${#browser[@]} -eq 0 ] && exit 0

echo "installing ${need[*]} ${browser[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-tools: need root to install ${need[*]} ${browser[*]} (sudo apt-get install ...)" >&2
  exit 1
fi
apt-get update -qq
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ ${#browser[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${browser[@]}" >/dev/null
fi
