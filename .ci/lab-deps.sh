#!/usr/bin/env bash
# Installs what the network lab (lab.ts, lab_test.ts, lan_test.ts), the NAT lab
# (nat_lab.ts, nat_lab_test.ts, nat_traversal_test.ts) and the terminal tests
# (tmux_test.ts) need on a Debian machine: iproute2 (ip, bridge), nftables (nft),
# conntrack (the NAT lab's routers' mappings), tmux, tcpdump (the
# ciphertext-only capture test) and tshark (the Wireshark dissector's tests,
# wireshark/*_test.ts). Idempotent: installs only
# what is missing and runs `apt-get update` only when something is. Then checks
# that a network namespace can be created. Run as root. Exits non-zero, loudly,
# on any failure.
set -euo pipefail

fail() {
  echo "" >&2
  echo "!!! lab-deps: FAILED: $*" >&2
  echo "" >&2
  exit 1
}
trap 'fail "command failed at line $LINENO: $BASH_COMMAND"' ERR

[ "$(id -u)" -eq 0 ] || fail "must run as root (network namespaces need root); try: sudo bash $0"
command -v apt-get >/dev/null || fail "apt-get not found: this script supports Debian/Ubuntu only"

# package:command pairs; a package counts as present when dpkg has it installed
# and its command is on PATH (root's PATH includes /usr/sbin).
PAIRS=("iproute2:ip" "iproute2:bridge" "nftables:nft" "tmux:tmux" "tcpdump:tcpdump" "conntrack:conntrack" "tshark:tshark" "netcat-openbsd:nc")
export PATH="$PATH:/usr/sbin:/sbin"

missing=()
for pair in "${PAIRS[@]}"; do
  pkg="${pair%%:*}"
  cmd="${pair##*:}"
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  if [ "$status" = "install ok installed" ] && command -v "$cmd" >/dev/null; then
    continue
  fi
  [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "lab-deps: iproute2, nftables, conntrack, tmux, tcpdump, tshark and nc already installed; nothing to install"
else
  echo "lab-deps: installing ${missing[*]} (running apt-get update first)"
  export DEBIAN_FRONTEND=noninteractive
  # tshark's package asks whether non-root users may capture: answer "no" without asking.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
  apt-get update -qq || fail "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    fail "apt-get install ${missing[*]} failed"
  for pair in "${PAIRS[@]}"; do
    command -v "${pair##*:}" >/dev/null || fail "${pair##*:} still missing after installing ${pair%%:*}"
  done
  echo "lab-deps: installed ${missing[*]}"
fi

echo "lab-deps: $(ip -V 2>&1 | head -n1); $(nft --version 2>&1 | head -n1)"

# Self-check: can this machine create (and delete) a network namespace?
probe="pclab-$$-depsprobe"
ip netns add "$probe" 2>/tmp/lab-deps-probe.err ||
  fail "cannot create a network namespace ($(cat /tmp/lab-deps-probe.err)); the lab needs root on a kernel/container that allows it"
ip netns delete "$probe" || fail "cannot delete the probe namespace $probe"
rm -f /tmp/lab-deps-probe.err
echo "lab-deps: network namespaces work; the lab is ready"
