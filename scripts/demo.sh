#!/bin/bash
# The demo: a private Redis seeded with the seed's example inventory (examples/inventory.sh),
# apidhcpd in one network namespace, real DHCP clients in another. Everything is torn down
# at the end. Addresses are from the documentation range 192.0.2.0/24, inside the namespaces.
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

echo "== namespaces: $srv (192.0.2.1/24) <-> $cli"
ip netns add "$srv"; ip netns add "$cli"
ip link add "$tag-s" type veth peer name "$tag-c"
ip link set "$tag-s" netns "$srv"; ip link set "$tag-c" netns "$cli"
ip -n "$srv" link set "$tag-s" name eth0; ip -n "$cli" link set "$tag-c" name eth0
ip -n "$srv" addr add 192.0.2.1/24 dev eth0
for ns in "$srv" "$cli"; do ip -n "$ns" link set lo up; ip -n "$ns" link set eth0 up; done

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

echo "== what the server wrote to Redis"
R="redis-cli -s $demo/redis.sock"
echo "   mac:dc:a6:32:43:e5:e0 ts=$($R hget mac:dc:a6:32:43:e5:e0 ts)"
echo "   mac:02:00:00:de:a1:01 ip=$($R hget mac:02:00:00:de:a1:01 ip) dynamic=$($R hget mac:02:00:00:de:a1:01 dynamic)"
echo "   pool: $($R hgetall pool | paste -sd' ' | sed 's/  */ /g')"
echo "== server log"
grep -E "apidhcpd\.(dhcp4\.server|tap|ha\.heartbeat)#(info|warn)" "$demo/apidhcpd.log" | sed 's/^[^ ]* /   /'
