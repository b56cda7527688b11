#!/bin/sh
# The seed's example inventory (SEED.md), in the seed's own redis-cli style, renumbered from
# 172.17.0.0/16 into the documentation network 192.0.2.0/24 so the demo can serve it inside
# network namespaces. Like the seed's data, `broadcast` holds a netmask: apidhcpd accepts it,
# sends the subnet's real broadcast address and logs a warning.
# Use: REDIS="redis-cli -s /path/to/redis.sock" sh examples/inventory.sh
R=${REDIS:-redis-cli}

# Groups
$R del group:default
$R hset group:default domain 'ojala.cloud.'
$R hset group:default lease-time 24h
$R hset group:default gateway 192.0.2.254
$R hset group:default broadcast 255.255.255.0
$R hset group:default dns 192.0.2.53
$R hset group:default prefix 24

$R del group:pool
$R hset group:pool lease-time 1h
$R hset group:pool gateway 192.0.2.254
$R hset group:pool broadcast 255.255.255.0
$R hset group:pool dns 192.0.2.53,192.0.2.2
$R hset group:pool domain 'ojala.cloud.'
$R hset group:pool ntp 192.0.2.22

$R del group:getflix
$R hset group:getflix broadcast 255.255.255.0
$R hset group:getflix dns 198.51.100.240,198.51.100.68
$R hset group:getflix prefix 24
$R hset group:getflix domain 'ojala.cloud.'
$R hset group:getflix ntp 192.0.2.22
$R hset group:getflix lease-time 24h
$R hset group:getflix gateway 192.0.2.254

# k8s-node-4 (raspberry-pi4-5)
$R del mac:dc:a6:32:43:e5:e0
$R hset mac:dc:a6:32:43:e5:e0 description 'Kubernetes Node 4 (raspberry-pi4-5)'
$R hset mac:dc:a6:32:43:e5:e0 hostname 'raspberry-pi4-5'
$R hset mac:dc:a6:32:43:e5:e0 ip 192.0.2.75

# Chromecast Ultra (WiFi)
$R del mac:f4:f5:d8:a9:5a:b6
$R hset mac:f4:f5:d8:a9:5a:b6 description 'Google Chromecast Ultra'
$R hset mac:f4:f5:d8:a9:5a:b6 hostname 'chromecast-ultra'
$R hset mac:f4:f5:d8:a9:5a:b6 ip 192.0.2.49
$R hset mac:f4:f5:d8:a9:5a:b6 group getflix

# Google Nest Hub (Kitchen)
$R del mac:1c:f2:9a:68:49:b1
$R hset mac:1c:f2:9a:68:49:b1 description 'Google Nest Hub (Kitchen)'
$R hset mac:1c:f2:9a:68:49:b1 hostname 'google-hub-kitchen'
$R hset mac:1c:f2:9a:68:49:b1 ip 192.0.2.30

$R del mac:18:b4:30:a5:b1:bf
$R hset mac:18:b4:30:a5:b1:bf description 'Google Nest Protect (Hallway)'
$R hset mac:18:b4:30:a5:b1:bf ip 192.0.2.34

$R del mac:e0:66:78:68:b8:31
$R hset mac:e0:66:78:68:b8:31 description 'Apple iPad Mini (Kitchen)'
$R hset mac:e0:66:78:68:b8:31 ip 192.0.2.184

$R del mac:00:17:88:22:03:4c
$R hset mac:00:17:88:22:03:4c description 'Philips Hue hub'
$R hset mac:00:17:88:22:03:4c ip 192.0.2.31

$R del mac:40:cb:c0:c9:51:d6
$R hset mac:40:cb:c0:c9:51:d6 description 'Apple TV 4K (Living room)'
$R hset mac:40:cb:c0:c9:51:d6 ip 192.0.2.48
$R hset mac:40:cb:c0:c9:51:d6 group getflix

$R del mac:26:fc:7f:43:d6:dc
$R hset mac:26:fc:7f:43:d6:dc description 'Google Edge TPU Board'
$R hset mac:26:fc:7f:43:d6:dc ip 192.0.2.81

$R del mac:18:b4:30:31:52:fc
$R hset mac:18:b4:30:31:52:fc description 'Google Nest Protect (Study)'
$R hset mac:18:b4:30:31:52:fc ip 192.0.2.35

$R del mac:b8:27:eb:4b:19:a2
$R hset mac:b8:27:eb:4b:19:a2 description 'Raspberry Pi Zero W'
$R hset mac:b8:27:eb:4b:19:a2 ip 192.0.2.24

$R del mac:b8:27:eb:37:92:e5
$R hset mac:b8:27:eb:37:92:e5 description 'GPS/NTP Server (Raspberry Pi Zero W)'
$R hset mac:b8:27:eb:37:92:e5 ip 192.0.2.22

$R del mac:dc:54:d7:d2:18:55
$R hset mac:dc:54:d7:d2:18:55 description 'Amazon Echo Show 5 (Study)'
$R hset mac:dc:54:d7:d2:18:55 ip 192.0.2.32

$R del mac:54:62:e2:06:11:4c
$R hset mac:54:62:e2:06:11:4c description 'Apple iPad Air (Petri)'
$R hset mac:54:62:e2:06:11:4c ip 192.0.2.180

$R del mac:00:80:a3:91:38:d4
$R hset mac:00:80:a3:91:38:d4 description 'RIPE Atlas Probe'
$R hset mac:00:80:a3:91:38:d4 ip 192.0.2.250

# The dynamic pool, in the seed's form: field = address, empty value = free
for n in 200 201 202 203 204 205 206 207 208 209; do
  $R hset pool 192.0.2.$n ''
done
