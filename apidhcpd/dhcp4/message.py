"""The DHCP message as a value: BOOTP header fields plus raw options.

Knows field meanings, the option catalogue (through options.py) for typed
accessors, and RFC 2131 table 3 for building a reply.  Knows nothing about
the wire format (codec.py), sockets or the server's decisions.
"""

import attr

from apidhcpd.dhcp4.options import ACK, OptionError, decode_option, encode_option

BROADCAST_FLAG = 0x8000

_CLIENT_ID = 61
_RELAY_AGENT_INFO = 82


def _padded(value, size, name):
    value = bytes(value)
    if len(value) > size:
        raise ValueError("%s is %d bytes, at most %d" % (name, len(value), size))
    return value.ljust(size, b"\x00")


@attr.s(slots=True)
class Message:
    """A DHCP message.  Addresses are dotted strings; options code -> raw bytes.

    chaddr, sname and file are zero-padded to 16, 64 and 128 bytes when the
    message is made (codec.encode pads later assignments).  The options dict
    is ordered: codec.encode writes it in that order, except 82, always last.
    """

    op = attr.ib(default=1)
    htype = attr.ib(default=1)
    hlen = attr.ib(default=6)
    hops = attr.ib(default=0)
    xid = attr.ib(default=0)
    secs = attr.ib(default=0)
    flags = attr.ib(default=0)
    ciaddr = attr.ib(default="0.0.0.0")
    yiaddr = attr.ib(default="0.0.0.0")
    siaddr = attr.ib(default="0.0.0.0")
    giaddr = attr.ib(default="0.0.0.0")
    chaddr = attr.ib(default=bytes(16))
    sname = attr.ib(default=bytes(64))
    file = attr.ib(default=bytes(128))
    options = attr.ib(factory=dict)

    def __attrs_post_init__(self):
        # Not attrs converters: they cost several microseconds per decode.
        if len(self.chaddr) != 16:
            self.chaddr = _padded(self.chaddr, 16, "chaddr")
        if len(self.sname) != 64:
            self.sname = _padded(self.sname, 64, "sname")
        if len(self.file) != 128:
            self.file = _padded(self.file, 128, "file")

    # Options through the catalogue.

    def get(self, code):
        """The decoded value of option code, or None if absent or malformed."""
        raw = self.options.get(code)
        if raw is None:
            return None
        try:
            return decode_option(code, raw)
        except OptionError:
            return None

    def set(self, code, value):
        """Encode value with the catalogue type of code (OptionError if bad)."""
        self.options[code] = encode_option(code, value)

    def set_raw(self, code, raw):
        self.options[code] = bytes(raw)

    # Typed accessors: None when the option is absent or malformed.

    @property
    def message_type(self):
        raw = self.options.get(53)  # read on every step of the chain: not through the catalogue
        return raw[0] if raw is not None and len(raw) == 1 else None

    @property
    def mac(self):
        """chaddr[:hlen] as "aa:bb:cc:dd:ee:ff"."""
        return self.chaddr[:min(self.hlen, 16)].hex(":")

    @property
    def client_id(self):
        return self.options.get(_CLIENT_ID)

    @property
    def client_id_hex(self):
        raw = self.options.get(_CLIENT_ID)
        return None if raw is None else raw.hex()

    @property
    def requested_ip(self):
        return self.get(50)

    @property
    def server_id(self):
        return self.get(54)

    @property
    def hostname(self):
        return self.get(12)

    @property
    def parameter_request_list(self):
        return self.get(55)

    @property
    def max_message_size(self):
        return self.get(57)

    @property
    def relay_agent_info(self):
        return self.options.get(_RELAY_AGENT_INFO)

    @property
    def broadcast(self):
        return bool(self.flags & BROADCAST_FLAG)

    @broadcast.setter
    def broadcast(self, value):
        if value:
            self.flags |= BROADCAST_FLAG
        else:
            self.flags &= ~BROADCAST_FLAG


def reply_for(request, msg_type):
    """A reply skeleton to request, per RFC 2131 table 3.

    Option 53 comes first; the client identifier (61, RFC 6842) and relay
    agent information (82, RFC 3046) are echoed.  ciaddr is the request's in
    an ACK and 0 otherwise.  yiaddr, siaddr, sname, file are left at zero.
    """
    options = {53: bytes((msg_type,))}
    for code in (_CLIENT_ID, _RELAY_AGENT_INFO):
        raw = request.options.get(code)
        if raw is not None:
            options[code] = raw
    return Message(
        op=2,
        htype=request.htype,
        hlen=request.hlen,
        xid=request.xid,
        flags=request.flags,
        ciaddr=request.ciaddr if msg_type == ACK else "0.0.0.0",
        giaddr=request.giaddr,
        chaddr=request.chaddr,
        options=options,
    )
