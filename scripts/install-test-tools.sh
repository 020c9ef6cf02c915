#!/usr/bin/env bash
# Installs the external programs the tests check our code against, when
# missing: openssl (CMS), xmlsec1 (XML-DSig), xmllint (canonical XML),
# Chromium for the console's browser tests (driven over CDP by chromedp),
# axe-core, the accessibility checker those tests load into each page
# (from npm, into $(go env GOPATH)/lienthong-tools, outside the checkout;
# LIENTHONG_AXE points the tests at another axe.min.js), kcat and Debian's
# python3-confluent-kafka for the example consumers, and promtool for the
# Prometheus rules' unit tests.
# Debian packages; needs root (CI runs as root). Quick when all are there.
set -euo pipefail

axe_version=4.14.1
tools="$(go env GOPATH)/lienthong-tools"
install_axe() {
  if [ -f "$tools/node_modules/axe-core/axe.min.js" ] &&
    grep -q "\"version\": \"$axe_version\"" "$tools/node_modules/axe-core/package.json"; then
    return
  fi
  echo "installing axe-core $axe_version into $tools"
  mkdir -p "$tools"
  (cd "$tools" && npm install --no-audit --no-fund --silent --no-save "axe-core@$axe_version" >/dev/null)
}

# apt_install installs Debian packages, as root only.
apt_install() {
  echo "installing $*"
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-tools: need root to install $* (sudo apt-get install ...)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# The example consumers of scripts/examples/ (kcat.sh, consume.py), run by
# TestExampleConsumers in internal/cli: kcat and Debian's Python Kafka
# client, which lives in /usr/bin/python3's dist-packages (a python3 of
# pyenv or a venv earlier on PATH does not see it; the test finds the one
# that imports it).
install_example_tools() {
  local missing=()
  command -v kcat >/dev/null || missing+=(kcat)
  /usr/bin/python3 -c 'import confluent_kafka' 2>/dev/null || missing+=(python3-confluent-kafka)
  [ ${#missing[@]} -eq 0 ] && return
  apt_install "${missing[@]}"
}
install_example_tools

# promtool, for the Prometheus rules' unit tests (deploy/prometheus/tests,
# internal/metrics TestPrometheusRules): Debian's prometheus package.
install_promtool() {
  command -v promtool >/dev/null && return
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-tools: need root to install promtool (sudo apt-get install prometheus)" >&2
    exit 1
  fi
  echo "installing prometheus (promtool)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
}
install_promtool

# amtool and the Alertmanager itself, for deploy/alertmanager
# (internal/cli TestDeployAlertmanager*): Debian's prometheus-alertmanager.
install_alertmanager() {
  command -v amtool >/dev/null && command -v prometheus-alertmanager >/dev/null && return
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-tools: need root to install amtool (sudo apt-get install prometheus-alertmanager)" >&2
    exit 1
  fi
  echo "installing prometheus-alertmanager (amtool)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null 2>&1 ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null; }
}
install_alertmanager

# pdfsig and pdfinfo (poppler-utils) sign and verify the PDFs of
# internal/pdfsig/pdfsigtest, with NSS databases made by certutil and
# pk12util (libnss3-tools).
install_pdfsig_tools() {
  local missing=()
  command -v pdfsig >/dev/null && command -v pdfinfo >/dev/null || missing+=(poppler-utils)
  command -v certutil >/dev/null && command -v pk12util >/dev/null || missing+=(libnss3-tools)
  [ ${#missing[@]} -eq 0 ] && return
  apt_install "${missing[@]}"
}
install_pdfsig_tools

# redocly lints the published OpenAPI documents (internal/schemas,
# TestRedoclyLint), from npm into a folder of its own beside axe-core's (an
# npm install --no-save in one folder prunes what the other put there).
redocly_version=2.77.0
install_redocly() {
  local dir="$tools/redocly"
  if [ -x "$dir/node_modules/.bin/redocly" ] &&
    grep -q "\"version\": \"$redocly_version\"" "$dir/node_modules/@redocly/cli/package.json"; then
    return
  fi
  echo "installing @redocly/cli $redocly_version into $dir"
  mkdir -p "$dir"
  # A package.json of its own, or npm would install into $tools's.
  [ -f "$dir/package.json" ] || echo '{"private": true}' >"$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --silent --no-save "@redocly/cli@$redocly_version" >/dev/null)
}

need=()
command -v openssl >/dev/null || need+=(openssl)
command -v xmlsec1 >/dev/null || need+=(xmlsec1)
command -v xmllint >/dev/null || need+=(libxml2-utils)
# Chromium with its recommended packages (fonts, mesa), as it was tried
# here and in the machine's probe.
browser=()
command -v chromium >/dev/null || browser+=(chromium chromium-driver)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -eq 0 ] && [ ${#browser[@]} -eq 0 ]; then
  install_axe
  install_redocly
  exit 0
fi

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
install_axe
install_redocly
