#!/bin/bash
# The demo: a private Redis seeded with the seed's example inventory (examples/inventory.sh),
# apidhcpd in one network namespace, real DHCP clients in another. Everything is torn down
# at the end. Addresses are from the documentation ranges 192.0.2.0/24 and 2001:db8::/32,
# inside the namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
demo=$(mktemp -d /tmp/apidhcpd-demo.XXXXXX)
tag=adhd$$
srv=$tag-srv cli=$tag-cli
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 0.3
  ip netns del "$srv" 2>/dev/null || true
  ip netns del "$cli" 2>/dev/null || true
  rm -rf "$demo"
}
trap cleanup EXIT

echo "== private Redis (unix socket $demo/redis.sock)"
redis-server --port 0 --unixsocket "$demo/redis.sock" --unixsocketperm 700 --save '' \
  --appendonly no --dir "$demo" --logfile "$demo/redis.log" &
pids+=($!)
for _ in $(seq 50); do [ -S "$demo/redis.sock" ] && break; sleep 0.1; done
REDIS="redis-cli -s $demo/redis.sock" sh examples/inventory.sh >/dev/null
echo "   seeded $(redis-cli -s "$demo/redis.sock" --scan --pattern 'mac:*' | wc -l) hosts, 3 groups, a pool of $(redis-cli -s "$demo/redis.sock" hlen pool) addresses"
# DHCPv6 from the same inventory: an IPv6 network with addresses and delegated prefixes, and
# Kubernetes Node 4's entry also reserves an IPv6 address (the index entry is what put.lua,
# the API and the CLI write beside the hash)
R6="redis-cli -s $demo/redis.sock"
$R6 hset subnet6:2001:db8:1::/64 range 2001:db8:1::100-2001:db8:1::1ff \
  pd-pool "2001:db8:100::/40 56" dns6 2001:db8:1::53 search example.test >/dev/null
$R6 zadd subnets6 64 2001:db8:1:: >/dev/null
$R6 hset mac:dc:a6:32:43:e5:e0 ip6 2001:db8:1::4 >/dev/null
echo "   and subnet6:2001:db8:1::/64 (a range and a /40 of /56 prefixes), ip6 2001:db8:1::4 for Node 4"

echo "== namespaces: $srv (192.0.2.1/24, 2001:db8:1::1/64) <-> $cli"
ip netns add "$srv"; ip netns add "$cli"
ip link add "$tag-s" type veth peer name "$tag-c"
ip link set "$tag-s" netns "$srv"; ip link set "$tag-c" netns "$cli"
ip -n "$srv" link set "$tag-s" name eth0; ip -n "$cli" link set "$tag-c" name eth0
ip -n "$srv" addr add 192.0.2.1/24 dev eth0
for ns in "$srv" "$cli"; do
  ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.accept_dad=0 \
    net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.eth0.accept_dad=0
  ip -n "$ns" link set lo up; ip -n "$ns" link set eth0 up
done
ip -n "$srv" -6 addr add 2001:db8:1::1/64 dev eth0 nodad
for _ in $(seq 50); do  # the client's link-local address, which dhclient -6 sends from
  ip -n "$cli" -6 -o addr show dev eth0 scope link | grep -q fe80:: && break; sleep 0.1
done

echo "== twistd -n apidhcpd --interface eth0 (log: $demo/apidhcpd.log)"
PYTHONPATH=$top ip netns exec "$srv" "$top/.venv/bin/twistd" -n --pidfile= -l "$demo/apidhcpd.log" \
  apidhcpd --interface eth0 --redis "unix://$demo/redis.sock" --heartbeat-port 0 &
pids+=($!)
for _ in $(seq 50); do grep -q "serving DHCP" "$demo/apidhcpd.log" 2>/dev/null && break; sleep 0.1; done

cat > "$demo/show-lease" <<'SCRIPT'
#!/bin/sh
case "$reason" in BOUND|RENEW|REBOOT)
  echo "   $reason: ip=$new_ip_address mask=$new_subnet_mask router=$new_routers dns=$new_domain_name_servers"
  echo "          domain=$new_domain_name lease=${new_dhcp_lease_time}s server=$new_dhcp_server_identifier hostname=${new_host_name:-}"
  kill "$PPID";;  # one lease is all the demo wants: stop dhclient (no release)
esac
SCRIPT
chmod +x "$demo/show-lease"

client() {  # $1 = MAC, $2 = what it is
  echo "== dhclient as $1 ($2)"
  ip -n "$cli" link set eth0 address "$1"
  { ip netns exec "$cli" timeout 30 dhclient -1 -d -sf "$demo/show-lease" -lf "$demo/$1.lease" \
    -pf "$demo/dhclient.pid" eth0; } 2>/dev/null || true
}
client dc:a6:32:43:e5:e0 "Kubernetes Node 4: reserved in the inventory"
client f4:f5:d8:a9:5a:b6 "Chromecast Ultra: group getflix"
client 02:00:00:de:a1:01 "unknown to the inventory: gets a pool address"

cat > "$demo/show-lease6" <<'SCRIPT'
#!/bin/sh
case "$reason" in BOUND6|RENEW6|REBIND6)  # once per address or prefix
  { echo "   $reason: ${new_ip6_address:+address=$new_ip6_address }${new_ip6_prefix:+prefix=$new_ip6_prefix }dns=$new_dhcp6_name_servers search=$new_dhcp6_domain_search"
    echo "          preferred=${new_preferred_life}s valid=${new_max_life}s"; } >> @EVENTS@;;
esac
SCRIPT
# dhclient gives its script a fresh environment: the events file is written into it
sed -i "s|@EVENTS@|$demo/events6|" "$demo/show-lease6"
chmod +x "$demo/show-lease6"

client6() {  # $1 = MAC, $2 = what it is, then dhclient's flags (-N address, -P prefix)
  local mac=$1 what=$2; shift 2
  echo "== dhclient -6 $* as $mac ($what)"
  # a new MAC, and the link-local address made from it (the server's neighbour cache holds
  # the old one's MAC: a reply to the old address would not reach the new MAC)
  ip -n "$cli" link set eth0 down
  ip -n "$cli" link set eth0 address "$mac"
  ip -n "$cli" link set eth0 up
  for _ in $(seq 50); do
    ip -n "$cli" -6 -o addr show dev eth0 scope link | grep fe80:: | grep -vq tentative \
      && break
    sleep 0.1
  done
  local events="$demo/events6"
  : > "$events"
  ip netns exec "$cli" timeout 20 dhclient -6 -1 -d -v -D LL "$@" \
    -sf "$demo/show-lease6" -lf "$demo/$mac.lease6" -pf "$demo/dhclient6.pid" eth0 \
    >"$demo/dhclient6.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do  # one BOUND6 per flag: an address (-N) and a prefix (-P)
    [ "$(grep -c '^   BOUND6' "$events")" -ge "$#" ] && break; sleep 0.1
  done
  cat "$events"
  [ -s "$events" ] || sed 's/^/   dhclient: /' "$demo/dhclient6.log"
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
}
client6 dc:a6:32:43:e5:e0 "Kubernetes Node 4: its reserved IPv6 address" -N
client6 02:00:00:de:a1:02 "a router: an address and a delegated prefix" -N -P

echo "== what the server wrote to Redis"
R="redis-cli -s $demo/redis.sock"
echo "   mac:dc:a6:32:43:e5:e0 ts=$($R hget mac:dc:a6:32:43:e5:e0 ts)"
echo "   mac:02:00:00:de:a1:01 ip=$($R hget mac:02:00:00:de:a1:01 ip) dynamic=$($R hget mac:02:00:00:de:a1:01 dynamic)"
echo "   pool: $($R hgetall pool | paste -sd' ' | sed 's/  */ /g')"
for v in 2001:db8:1::4 2001:db8:1::100 2001:db8:100::/56; do
  echo "   lease6:$v $($R hgetall "lease6:$v" | paste -sd' ')"
done
echo "== server log"
grep -E "apidhcpd\.(dhcp4\.server|dhcp6\.server|tap|ha\.heartbeat)#(info|warn)" "$demo/apidhcpd.log" | sed 's/^[^ ]* /   /'
