"""Packet fixtures: real-looking DHCP messages as annotated bytes.

Built with struct and bytes.fromhex only, independently of apidhcpd.codec,
so that the codec tests compare it against a second reading of RFC 2131.
Addresses come from the documentation ranges.
"""

import socket
import struct

COOKIE = bytes.fromhex("63825363")


def header(op, xid, mac, secs=0, flags=0, hops=0, ciaddr="0.0.0.0", yiaddr="0.0.0.0",
           siaddr="0.0.0.0", giaddr="0.0.0.0", sname=b"", file=b""):
    """The 236-byte BOOTP header (RFC 951), without the vendor area."""
    packed = struct.pack("!BBBBIHH", op, 1, len(mac), hops, xid, secs, flags)
    for address in (ciaddr, yiaddr, siaddr, giaddr):
        packed += socket.inet_aton(address)
    packed += mac.ljust(16, b"\x00")
    packed += sname.ljust(64, b"\x00")
    packed += file.ljust(128, b"\x00")
    assert len(packed) == 236
    return packed


def bootp(op, xid, mac, options, pad_to=300, **fields):
    """A BOOTP/DHCP packet: 236-byte header, cookie, options, zero padding."""
    packet = header(op, xid, mac, **fields) + COOKIE + options
    return packet.ljust(pad_to, b"\x00")


def rfc951(xid, mac, vend=bytes(64), op=1, **fields):
    """An RFC 951 BOOTP packet: the header and a vendor area that is not RFC 1048's (no
    magic cookie): 64 bytes of zeros, as old PXE and embedded ROMs send, by default."""
    return header(op, xid, mac, **fields) + vend


def labels(name):
    """An RFC 1035 domain name in wire form, uncompressed."""
    out = b""
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\x00"


# ISC dhclient 4.4 DISCOVER, asking for its previous address.
DHCLIENT_MAC = bytes.fromhex("525400a1b2c3")
DHCLIENT_PRL = [1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42]
DHCLIENT_DISCOVER = bootp(1, 0x3903F326, DHCLIENT_MAC, secs=3, options=bytes.fromhex(
    "350101"                      # 53 message type: DISCOVER
    "3204c000020a"                # 50 requested address 192.0.2.10
    "0c06" "64656269616e"         # 12 host name "debian"
    "370d" "011c02030f06770c2c2f1a792a"  # 55 parameter request list (13)
    "ff"                          # end
))

# busybox udhcpc DISCOVER: client identifier, max message size, vendor class.
UDHCPC_MAC = bytes.fromhex("0200c0ffee01")
UDHCPC_DISCOVER = bootp(1, 0x6B8B4567, UDHCPC_MAC, options=bytes.fromhex(
    "350101"                      # 53 message type: DISCOVER
    "3d07" "01" "0200c0ffee01"    # 61 client id: type 1 (ethernet) + MAC
    "39020240"                    # 57 max message size 576
    "3c0c" "75646863702031"       # 60 vendor class "udhcp 1.36.1"
    "2e33362e31"
    "3707" "0103060c0f1c2a"       # 55 parameter request list (7)
    "ff"                          # end
))

# dhclient REQUEST in SELECTING state: server id + requested address, ciaddr 0.
DHCLIENT_REQUEST = bootp(1, 0x3903F326, DHCLIENT_MAC, secs=4, options=bytes.fromhex(
    "350103"                      # 53 message type: REQUEST
    "3604c0000201"                # 54 server identifier 192.0.2.1
    "3204c000020a"                # 50 requested address 192.0.2.10
    "0c06" "64656269616e"         # 12 host name "debian"
    "370d" "011c02030f06770c2c2f1a792a"  # 55 parameter request list
    "ff"                          # end
))

# A DISCOVER whose options overflow into the file field (option 52 = 1).
# The sname field still holds a real server name.
OVERLOAD_MAC = bytes.fromhex("0200000000aa")
OVERLOAD_DISCOVER = bootp(
    1, 0x01020304, OVERLOAD_MAC,
    sname=b"boot.example.net",
    options=bytes.fromhex(
        "350101"                  # 53 message type: DISCOVER
        "340101"                  # 52 overload: file holds options
        "0c03" "616263"           # 12 host name "abc" (first instance)
        "ff"                      # end
    ),
    file=bytes.fromhex(
        "3d07" "01" "0200000000aa"  # 61 client id
        "0c03" "646566"           # 12 host name, continued: "def"
        "00"                      # pad
        "ff"                      # end
    ),
)

# A server's OFFER carrying a domain search list (119) longer than 255 bytes,
# split in two instances (RFC 3396) with lease time (51) between them.
SEARCH_NAMES = ["site%02d.branch.example.org" % i for i in range(12)]
SEARCH_WIRE = b"".join(labels(name) for name in SEARCH_NAMES)
assert 255 < len(SEARCH_WIRE) < 510
LONG_OPTION_OFFER = bootp(
    2, 0x11223344, DHCLIENT_MAC, yiaddr="192.0.2.10", siaddr="192.0.2.1",
    options=bytes.fromhex("350102" "3604c0000201")    # 53 OFFER, 54 server id
    + bytes([119, 255]) + SEARCH_WIRE[:255]           # 119, first 255 bytes
    + bytes.fromhex("330400000e10")                   # 51 lease time 3600
    + bytes([119, len(SEARCH_WIRE) - 255]) + SEARCH_WIRE[255:]  # 119, rest
    + b"\xff",
    pad_to=0,
)

# A DISCOVER relayed by 198.51.100.1 (hops 1, giaddr) with relay agent
# information (82) last: circuit id "eth0:100" and a 6-byte remote id.
RELAYED_MAC = bytes.fromhex("0200000000bb")
RELAY_INFO = bytes.fromhex(
    "0108" "657468303a313030"     # sub-option 1 circuit id "eth0:100"
    "0206" "00005e005301"         # sub-option 2 remote id
)
RELAYED_DISCOVER = bootp(
    1, 0x0A0B0C0D, RELAYED_MAC, hops=1, giaddr="198.51.100.1", flags=0x8000,
    options=bytes.fromhex(
        "350101"                  # 53 message type: DISCOVER
        "3703" "01030f"           # 55 parameter request list
    ) + bytes([82, len(RELAY_INFO)]) + RELAY_INFO + b"\xff",  # 82, then end
)

# An RFC 951 BOOTREQUEST from an old boot ROM: 300 bytes, a vendor area of zeros.
RFC951_MAC = bytes.fromhex("0200000000cc")
RFC951_REQUEST = rfc951(0x00C0FFEE, RFC951_MAC, secs=2)

# The same with vendor-specific data in the vendor area (RFC 951 leaves it to the vendor).
RFC951_VENDOR_REQUEST = rfc951(0x00C0FFEF, RFC951_MAC, vend=b"ACME" + bytes(range(60)))

ALL = {
    "dhclient discover": DHCLIENT_DISCOVER,
    "udhcpc discover": UDHCPC_DISCOVER,
    "dhclient request": DHCLIENT_REQUEST,
    "overload discover": OVERLOAD_DISCOVER,
    "long option offer": LONG_OPTION_OFFER,
    "relayed discover": RELAYED_DISCOVER,
    "rfc951 request": RFC951_REQUEST,
    "rfc951 vendor request": RFC951_VENDOR_REQUEST,
}
