"""The DHCPv6 catalogue: message types, option codes, status codes, DUID types, and which
value type (values.py, names.py) each option carries, by code and by name.

Knows the numbers of RFC 8415 and the option RFCs it names, and how an option an inventory
may set (`option6-<name>` or `option6-<code>`) is encoded from its text form. Knows nothing
about messages or the packet: not the option framing (values.scan_options), not the IA
structures (ia.py), not DUIDs (duid.py).
"""

from collections.abc import Mapping
from enum import IntEnum

import attr

from apidhcpd.dhcp6 import names, values
from apidhcpd.dhcp6.names import ClientFQDN
from apidhcpd.dhcp6.values import OptionError, RawOption, Status, ValueType

# What an option's value may be, decoded (each value type's decode gives one of these).
OptionValue = (str | int | bool | bytes | list[str] | list[int] | list[bytes] | Status
               | tuple[int, bytes] | tuple[int, list[bytes]] | tuple[int, list[RawOption]]
               | ClientFQDN)


class _Code(IntEnum):
    """A number with a name; printed as the number (as IntEnum is from Python 3.11 on)."""

    __str__ = int.__repr__


class MessageType(_Code):
    """msg-type (RFC 8415 7.3, and the later message types a server may meet)."""

    SOLICIT = 1
    ADVERTISE = 2
    REQUEST = 3
    CONFIRM = 4
    RENEW = 5
    REBIND = 6
    REPLY = 7
    RELEASE = 8
    DECLINE = 9
    RECONFIGURE = 10
    INFORMATION_REQUEST = 11
    RELAY_FORW = 12
    RELAY_REPL = 13
    LEASEQUERY = 14            # RFC 5007
    LEASEQUERY_REPLY = 15
    LEASEQUERY_DONE = 16       # RFC 5460
    LEASEQUERY_DATA = 17
    DHCPV4_QUERY = 20          # RFC 7341
    DHCPV4_RESPONSE = 21


RELAY_TYPES = frozenset((MessageType.RELAY_FORW, MessageType.RELAY_REPL))
HOP_COUNT_LIMIT = 32  # RFC 8415 7.6: the most relay agents a message may pass


class OptionCode(_Code):
    """Option codes (RFC 8415 21 and the IANA registry)."""

    CLIENTID = 1
    SERVERID = 2
    IA_NA = 3
    IA_TA = 4
    IAADDR = 5
    ORO = 6
    PREFERENCE = 7
    ELAPSED_TIME = 8
    RELAY_MSG = 9
    AUTH = 11
    UNICAST = 12
    STATUS_CODE = 13
    RAPID_COMMIT = 14
    USER_CLASS = 15
    VENDOR_CLASS = 16
    VENDOR_OPTS = 17
    INTERFACE_ID = 18
    RECONF_MSG = 19
    RECONF_ACCEPT = 20
    SIP_SERVER_D = 21          # RFC 3319
    SIP_SERVER_A = 22
    DNS_SERVERS = 23           # RFC 3646
    DOMAIN_LIST = 24
    IA_PD = 25
    IAPREFIX = 26
    NIS_SERVERS = 27           # RFC 3898
    NISP_SERVERS = 28
    NIS_DOMAIN_NAME = 29
    NISP_DOMAIN_NAME = 30
    SNTP_SERVERS = 31          # RFC 4075
    INFORMATION_REFRESH_TIME = 32  # RFC 8415 21.23
    REMOTE_ID = 37             # RFC 4649
    SUBSCRIBER_ID = 38         # RFC 4580
    CLIENT_FQDN = 39           # RFC 4704
    NEW_POSIX_TIMEZONE = 41    # RFC 4833
    NEW_TZDB_TIMEZONE = 42
    ERO = 43                   # RFC 4994: the relay's echo request
    NTP_SERVER = 56            # RFC 5908
    BOOTFILE_URL = 59          # RFC 5970
    BOOTFILE_PARAM = 60
    CLIENT_ARCH = 61
    NII = 62
    AFTR_NAME = 64             # RFC 6334
    CLIENT_LINKLAYER_ADDR = 79  # RFC 6939
    SOL_MAX_RT = 82            # RFC 8415 21.24
    INF_MAX_RT = 83
    CAPTIVE_PORTAL = 103       # RFC 8910
    RELAY_SOURCE_PORT = 135    # RFC 8357


class StatusCode(_Code):
    """Status codes (RFC 8415 21.13)."""

    Success = 0
    UnspecFail = 1
    NoAddrsAvail = 2
    NoBinding = 3
    NotOnLink = 4
    UseMulticast = 5
    NoPrefixAvail = 6


class DUIDType(_Code):
    """DUID types (RFC 8415 11.1, RFC 6355 for UUID)."""

    LLT = 1
    EN = 2
    LL = 3
    UUID = 4


MESSAGE_TYPE_NAMES: Mapping[int, str] = {t: t.name for t in MessageType}


@attr.s(frozen=True, slots=True)
class Option:
    """One entry of the catalogue: its code, its name and how its value is written."""

    code: int = attr.ib()
    name: str = attr.ib()
    type: "ValueType[OptionValue]" = attr.ib()

    def encode(self, value: object) -> bytes:
        return self.type.encode(value)

    def decode(self, raw: bytes) -> OptionValue:
        return self.type.decode(raw)

    def encode_text(self, text: str) -> bytes:
        """The value written in an inventory field, encoded (OptionError if it is not one)."""
        if not isinstance(text, str):
            raise OptionError("an inventory value is a string, got %r" % (text,))
        return self.type.encode(self.type.parse(text))


C = OptionCode
V = values
N = names
# The structures (IA_NA, IA_TA, IA_PD, IAADDR, IAPREFIX: ia.py) and the messages' own
# identifiers are listed as bytes: the server builds them, never the inventory.
OPTIONS: Mapping[int, Option] = {o.code: o for o in [
    Option(C.CLIENTID, "client-id", V.Bytes),
    Option(C.SERVERID, "server-id", V.Bytes),
    Option(C.IA_NA, "ia-na", V.Bytes),
    Option(C.IA_TA, "ia-ta", V.Bytes),
    Option(C.IAADDR, "iaaddr", V.Bytes),
    Option(C.ORO, "oro", V.CodeList),
    Option(C.PREFERENCE, "preference", V.U8),
    Option(C.ELAPSED_TIME, "elapsed-time", V.U16),
    Option(C.RELAY_MSG, "relay-msg", V.Bytes),
    Option(C.AUTH, "auth", V.Bytes),
    Option(C.UNICAST, "unicast", V.Address),
    Option(C.STATUS_CODE, "status-code", V.StatusValue),
    Option(C.RAPID_COMMIT, "rapid-commit", V.Flag),
    Option(C.USER_CLASS, "user-class", V.OpaqueList),
    Option(C.VENDOR_CLASS, "vendor-class", V.VendorClass),
    Option(C.VENDOR_OPTS, "vendor-opts", V.VendorOptions),
    Option(C.INTERFACE_ID, "interface-id", V.Bytes),
    Option(C.RECONF_MSG, "reconf-msg", V.U8),
    Option(C.RECONF_ACCEPT, "reconf-accept", V.Flag),
    Option(C.SIP_SERVER_D, "sip-server-domains", N.DomainList),
    Option(C.SIP_SERVER_A, "sip-server-addresses", V.AddressList),
    Option(C.DNS_SERVERS, "dns-servers", V.AddressList),
    Option(C.DOMAIN_LIST, "domain-search", N.DomainList),
    Option(C.IA_PD, "ia-pd", V.Bytes),
    Option(C.IAPREFIX, "iaprefix", V.Bytes),
    Option(C.NIS_SERVERS, "nis-servers", V.AddressList),
    Option(C.NISP_SERVERS, "nisp-servers", V.AddressList),
    Option(C.NIS_DOMAIN_NAME, "nis-domain-name", N.DomainName),
    Option(C.NISP_DOMAIN_NAME, "nisp-domain-name", N.DomainName),
    Option(C.SNTP_SERVERS, "sntp-servers", V.AddressList),
    Option(C.INFORMATION_REFRESH_TIME, "information-refresh-time", V.U32),
    Option(C.REMOTE_ID, "remote-id", V.Enterprise),
    Option(C.SUBSCRIBER_ID, "subscriber-id", V.Bytes),
    Option(C.CLIENT_FQDN, "client-fqdn", N.FQDN),
    Option(C.NEW_POSIX_TIMEZONE, "posix-timezone", V.Text),
    Option(C.NEW_TZDB_TIMEZONE, "tzdb-timezone", V.Text),
    Option(C.ERO, "ero", V.CodeList),
    Option(C.NTP_SERVER, "ntp-server", N.NTPServers),
    Option(C.BOOTFILE_URL, "bootfile-url", V.Text),
    Option(C.BOOTFILE_PARAM, "bootfile-param", V.OpaqueList),
    Option(C.CLIENT_ARCH, "client-arch-type", V.CodeList),
    Option(C.NII, "nii", V.Bytes),
    Option(C.AFTR_NAME, "aftr-name", N.DomainName),
    Option(C.CLIENT_LINKLAYER_ADDR, "client-linklayer-addr", V.LinkLayer),
    Option(C.SOL_MAX_RT, "sol-max-rt", V.U32),
    Option(C.INF_MAX_RT, "inf-max-rt", V.U32),
    Option(C.CAPTIVE_PORTAL, "captive-portal", V.Text),
    Option(C.RELAY_SOURCE_PORT, "relay-source-port", V.U16),
]}

BY_NAME: Mapping[str, Option] = {o.name: o for o in OPTIONS.values()}


def by_name(name: str) -> Option:
    """The Option called name; OptionError if there is none."""
    try:
        return BY_NAME[name]
    except (KeyError, TypeError):
        raise OptionError("unknown DHCPv6 option name %r" % (name,)) from None


def lookup(key: str) -> Option:
    """The Option an inventory field's suffix names: a catalogue name, or a code 1-65535
    (a code the catalogue does not know carries hex bytes). OptionError if neither."""
    if isinstance(key, str) and key.isascii() and key.isdigit():
        code = int(key)
        if not 1 <= code <= 0xFFFF:
            raise OptionError("option code must be 1..65535, got %s" % key)
        return OPTIONS.get(code) or Option(code, key, values.Bytes)
    return by_name(key)


def _type_for(code: int) -> "ValueType[OptionValue]":
    option = OPTIONS.get(code)
    if option is not None:
        return option.type
    if isinstance(code, int) and 1 <= code <= 0xFFFF:
        return values.Bytes
    raise OptionError("option code must be 1..65535, got %r" % (code,))


def encode_option(code: int, value: object) -> bytes:
    """The bytes of option code carrying value (codes the catalogue does not know: bytes)."""
    return _type_for(code).encode(value)


def decode_option(code: int, raw: bytes) -> OptionValue:
    """The value of option code read from its bytes (codes the catalogue does not know:
    bytes)."""
    return _type_for(code).decode(raw)
