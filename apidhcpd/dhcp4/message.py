"""The DHCP message as a value: BOOTP header fields plus raw options.

Knows field meanings, the option catalogue (through options.py) for typed
accessors, and RFC 2131 table 3 for building a reply.  Knows nothing about
the wire format (codec.py), sockets or the server's decisions.
"""

from typing import TypeVar

import attr

from apidhcpd.dhcp4.options import (
    BOOTP_REPLY,
    IP,
    U16,
    ByteList,
    MessageType,
    OptionCode,
    OptionError,
    OptionValue,
    Text,
    ValueType,
    decode_option,
    encode_option,
)

BOOTREQUEST, BOOTREPLY = 1, 2  # op
BROADCAST_FLAG = 0x8000
ZERO = "0.0.0.0"

# read on every request: module globals, which cost less than attributes of OptionCode
_MESSAGE_TYPE = OptionCode.MESSAGE_TYPE
_ACK = MessageType.ACK
_CLIENT_ID = OptionCode.CLIENT_ID
_RELAY_AGENT_INFO = OptionCode.RELAY_AGENT_INFO
_REQUESTED_ADDRESS = OptionCode.REQUESTED_ADDRESS
_SERVER_ID = OptionCode.SERVER_ID
_HOST_NAME = OptionCode.HOST_NAME
_PARAMETER_REQUEST_LIST = OptionCode.PARAMETER_REQUEST_LIST
_MAX_MESSAGE_SIZE = OptionCode.MAX_MESSAGE_SIZE

T = TypeVar("T")


def _padded(value: bytes, size: int, name: str) -> bytes:
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

    op: int = attr.ib(default=1)
    htype: int = attr.ib(default=1)
    hlen: int = attr.ib(default=6)
    hops: int = attr.ib(default=0)
    xid: int = attr.ib(default=0)
    secs: int = attr.ib(default=0)
    flags: int = attr.ib(default=0)
    ciaddr: str = attr.ib(default=ZERO)
    yiaddr: str = attr.ib(default=ZERO)
    siaddr: str = attr.ib(default=ZERO)
    giaddr: str = attr.ib(default=ZERO)
    chaddr: bytes = attr.ib(default=bytes(16))
    sname: bytes = attr.ib(default=bytes(64))
    file: bytes = attr.ib(default=bytes(128))
    options: dict[int, bytes] = attr.ib(factory=dict)

    def __attrs_post_init__(self) -> None:
        # Not attrs converters: they cost several microseconds per decode.
        if len(self.chaddr) != 16:
            self.chaddr = _padded(self.chaddr, 16, "chaddr")
        if len(self.sname) != 64:
            self.sname = _padded(self.sname, 64, "sname")
        if len(self.file) != 128:
            self.file = _padded(self.file, 128, "file")

    # Options through the catalogue.

    def get(self, code: int) -> OptionValue | None:
        """The decoded value of option code, or None if absent or malformed."""
        raw = self.options.get(code)
        if raw is None:
            return None
        try:
            return decode_option(code, raw)
        except OptionError:
            return None

    def typed(self, code: int, kind: ValueType[T]) -> T | None:
        """The value of option code read as `kind` (the catalogue's type for code), or None
        if absent or malformed: what the typed accessors below use."""
        raw = self.options.get(code)
        if raw is None:
            return None
        try:
            return kind.decode(raw)
        except OptionError:
            return None

    def set(self, code: int, value: object) -> None:
        """Encode value with the catalogue type of code (OptionError if bad)."""
        self.options[code] = encode_option(code, value)

    def set_raw(self, code: int, raw: bytes) -> None:
        self.options[code] = bytes(raw)

    # Typed accessors: None when the option is absent or malformed.

    @property
    def message_type(self) -> int | None:
        raw = self.options.get(_MESSAGE_TYPE)  # read on every step: not through the catalogue
        return raw[0] if raw is not None and len(raw) == 1 else None

    @property
    def mac(self) -> str:
        """chaddr[:hlen] as "aa:bb:cc:dd:ee:ff"."""
        return self.chaddr[:min(self.hlen, 16)].hex(":")

    @property
    def bootp(self) -> bool:
        """A BOOTP message (RFC 951): one without option 53."""
        return _MESSAGE_TYPE not in self.options

    @property
    def client_id(self) -> bytes | None:
        return self.options.get(_CLIENT_ID)

    @property
    def client_id_hex(self) -> str | None:
        raw = self.options.get(_CLIENT_ID)
        return None if raw is None else raw.hex()

    @property
    def requested_ip(self) -> str | None:
        return self.typed(_REQUESTED_ADDRESS, IP)

    @property
    def server_id(self) -> str | None:
        return self.typed(_SERVER_ID, IP)

    @property
    def hostname(self) -> str | None:
        return self.typed(_HOST_NAME, Text)

    @property
    def parameter_request_list(self) -> list[int] | None:
        return self.typed(_PARAMETER_REQUEST_LIST, ByteList)

    @property
    def max_message_size(self) -> int | None:
        return self.typed(_MAX_MESSAGE_SIZE, U16)

    @property
    def relay_agent_info(self) -> bytes | None:
        return self.options.get(_RELAY_AGENT_INFO)

    @property
    def broadcast(self) -> bool:
        return bool(self.flags & BROADCAST_FLAG)

    @broadcast.setter
    def broadcast(self, value: bool) -> None:
        if value:
            self.flags |= BROADCAST_FLAG
        else:
            self.flags &= ~BROADCAST_FLAG


def reply_for(request: Message, msg_type: int) -> Message:
    """A reply skeleton to request, per RFC 2131 table 3.

    Option 53 comes first (none in a BOOTREPLY to a BOOTP request, msg_type
    BOOTP_REPLY); the client identifier (61, RFC 6842) and relay agent
    information (82, RFC 3046) are echoed.  ciaddr is the request's in an ACK
    or a BOOTREPLY and 0 otherwise.  yiaddr, siaddr, sname, file are left at zero.
    """
    bootp = msg_type == BOOTP_REPLY
    options: dict[int, bytes] = {} if bootp else {_MESSAGE_TYPE: bytes((msg_type,))}
    for code in (_CLIENT_ID, _RELAY_AGENT_INFO):
        raw = request.options.get(code)
        if raw is not None:
            options[code] = raw
    return Message(
        op=BOOTREPLY,
        htype=request.htype,
        hlen=request.hlen,
        xid=request.xid,
        flags=request.flags,
        ciaddr=request.ciaddr if msg_type == _ACK or bootp else ZERO,
        giaddr=request.giaddr,
        chaddr=request.chaddr,
        options=options,
    )
