#!/bin/sh
# A redis-cli script in the seed's style: quoting, comments, blank lines.

# Lab group
redis-cli del group:lab
redis-cli hset group:lab gateway 192.0.2.254
redis-cli hset group:lab prefix 24
redis-cli hset group:lab dns "192.0.2.53,192.0.2.54"
redis-cli hset group:lab lease-time 1h30m

# Workstation ("Anna's PC") in the lab
redis-cli del mac:02:00:00:00:02:01
redis-cli hset mac:02:00:00:00:02:01 description "Anna's PC (lab)"
redis-cli hset mac:02:00:00:00:02:01 hostname 'anna-pc'
redis-cli hset mac:02:00:00:00:02:01 ip 192.0.2.31   # trailing comment
redis-cli hset mac:02:00:00:00:02:01 group lab

# Upper-case MAC, merged into whatever is there
redis-cli hset mac:02:00:00:00:02:0A description 'Lab "switch"'
redis-cli hset mac:02:00:00:00:02:0A ip 192.0.2.32 group group:lab

# A host by client id
redis-cli hset client:lab-printer ip 192.0.2.33 group lab

redis-cli keys '*'
echo done
