#!/usr/bin/env bash
# The NAT lab of docs/lab.md, exercise 4: two home networks behind routers that
# do real NAT (nftables masquerade and a stateful filter), and a coordinator
# on the "internet", all in network namespaces. Nothing leaves the machine; the
# root namespace gets no address, route or rule.
#
#   lab-coord 203.0.113.2 ─┐
#                          ├─ lab-inet (bridge br0, 203.0.113.0/24)
#   lab-rtA wan0 .11 ──────┤           lab-rtB wan0 .12 ──┘
#   lab-rtA lan0 192.168.1.1           lab-rtB lan0 192.168.2.1
#   lab-alice 192.168.1.10             lab-bob 192.168.2.10
#
# Usage (as root; needs iproute2 and nftables):
#   bash docs/nat-lab.sh up      make the namespaces
#   bash docs/nat-lab.sh down    remove them (and stop what runs in them)
#   NAT_B=hard bash docs/nat-lab.sh up   router B a symmetric NAT (NAT_A too; default easy)
# LAB_PREFIX=xyz- renames every namespace xyz-… instead of lab-… (the test does).
set -euo pipefail

P="${LAB_PREFIX:-lab-}"
NAT_A="${NAT_A:-easy}"
NAT_B="${NAT_B:-easy}"
case "$NAT_A$NAT_B" in easyeasy | easyhard | hardeasy | hardhard) ;; *)
  echo "NAT_A and NAT_B are easy or hard" >&2
  exit 2
  ;;
esac
NAMES="inet coord rtA rtB alice bob"

down() {
  for n in $NAMES; do
    if [ -e "/var/run/netns/${P}${n}" ]; then
      for pid in $(ip netns pids "${P}${n}"); do kill "$pid" 2>/dev/null || true; done
      ip netns del "${P}${n}"
    fi
  done
}

# link NS1 IF1 NS2 IF2: a cable between two namespaces, created inside them.
link() { ip -n "$1" link add "$2" type veth peer name "$4" netns "$3"; }

# A home router: masquerade keeps the source port and maps endpoint-independently
# (an "easy" NAT); what arrives on wan0 unasked (ct state new) is dropped, in input
# too, so that a peer's early probe leaves no conntrack entry that would make the
# router map alice's own flow to that peer to another port.
# With KIND "hard", masquerade random: a new port for every destination (a symmetric NAT), which
# hole punching cannot get through from the other side.
router() { # router NAME WAN-ADDRESS KIND
  local r="${P}$1" masquerade="masquerade"
  [ "$3" = hard ] && masquerade="masquerade random"
  link "${P}inet" "wan-$1" "$r" wan0
  ip -n "${P}inet" link set "wan-$1" master br0 up
  ip -n "$r" addr add "$2/24" dev wan0
  ip -n "$r" link set wan0 up
  ip -n "$r" link set lo up
  ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1
  ip netns exec "$r" nft -f - <<EOF
add table ip nat
add chain ip nat post { type nat hook postrouting priority srcnat; }
add rule ip nat post oifname "wan0" $masquerade
add table ip filter
add chain ip filter inbound { type filter hook input priority filter; policy accept; }
add rule ip filter inbound iifname "wan0" ct state new counter drop
add chain ip filter passing { type filter hook forward priority filter; policy accept; }
add rule ip filter passing iifname "wan0" ct state new counter drop
EOF
}

host() { # host ROUTER NAME ADDRESS GATEWAY
  local h="${P}$2" r="${P}$1"
  link "$r" lan0 "$h" eth0
  ip -n "$r" addr add "$4/24" dev lan0
  ip -n "$r" link set lan0 up
  ip -n "$h" addr add "$3/24" dev eth0
  ip -n "$h" link set eth0 up
  ip -n "$h" link set lo up
  ip -n "$h" route add default via "$4"
}

up() {
  down
  for n in $NAMES; do ip netns add "${P}${n}"; done
  ip -n "${P}inet" link add br0 type bridge
  ip -n "${P}inet" link set br0 up
  ip -n "${P}inet" link set lo up
  link "${P}inet" wan-coord "${P}coord" eth0
  ip -n "${P}inet" link set wan-coord master br0 up
  ip -n "${P}coord" addr add 203.0.113.2/24 dev eth0
  ip -n "${P}coord" link set eth0 up
  ip -n "${P}coord" link set lo up
  router rtA 203.0.113.11 "$NAT_A"
  router rtB 203.0.113.12 "$NAT_B"
  host rtA alice 192.168.1.10 192.168.1.1
  host rtB bob 192.168.2.10 192.168.2.1
  echo "NAT lab up: ${P}coord 203.0.113.2, ${P}alice 192.168.1.10 behind ${P}rtA" \
    "(203.0.113.11, $NAT_A), ${P}bob 192.168.2.10 behind ${P}rtB (203.0.113.12, $NAT_B)"
}

case "${1:-}" in
up) up ;;
down) down ;;
*)
  echo "usage: $0 up|down" >&2
  exit 2
  ;;
esac
