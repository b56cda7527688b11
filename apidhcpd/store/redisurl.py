"""Where Redis is: a `--redis` URL parsed (RedisURL), and its TLS options for rediss://.

Knows URL syntax, credentials and PEM files; knows nothing of txredisapi, connections or keys.
"""

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

import attr

if TYPE_CHECKING:
    from twisted.internet.interfaces import IOpenSSLClientConnectionCreator


@attr.s(frozen=True)
class RedisURL:
    """A parsed `--redis` value:

    - redis://[[user]:password@]host[:port][/db]; rediss://... the same over TLS, with
      ?ca=FILE (the CA that signed the server's certificate; default: the system's) and
      ?cert=FILE&key=FILE (a client certificate, for Redis' tls-auth-clients)
    - unix://[[user]:password@]/path[?db=N]
    - redis+sentinel://[[user]:password@]host:port,host:port,.../service[/db] (the current
      master of `service`, as the sentinels say)

    `user` is a Redis 6 ACL user (AUTH user password); without it, the password is
    requirepass' (AUTH password). Special characters in either are %-encoded."""

    host: str = attr.ib(default="127.0.0.1")
    port: int = attr.ib(default=6379)
    path: str | None = attr.ib(default=None)
    db: int = attr.ib(default=0)
    password: str | None = attr.ib(default=None, repr=False)
    sentinels: tuple[tuple[str, int], ...] = attr.ib(default=())
    service: str | None = attr.ib(default=None)
    username: str | None = attr.ib(default=None)
    tls: bool = attr.ib(default=False)
    ca: str | None = attr.ib(default=None)  # PEM files (rediss://)
    cert: str | None = attr.ib(default=None)
    key: str | None = attr.ib(default=None)

    @classmethod
    def parse(cls, url: str) -> "RedisURL":
        if url.startswith("redis+sentinel://"):
            return cls._sentinel(url)
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        try:
            username = unquote(parts.username) if parts.username else None
            password = unquote(parts.password) if parts.password else None
            if parts.scheme == "unix":
                if not parts.path:
                    raise ValueError("unix URL needs a socket path")
                return cls(path=parts.path, db=int(query.get("db", ["0"])[0]),
                           username=username, password=password)
            if parts.scheme in ("redis", "rediss"):
                db = parts.path.strip("/")
                tls: dict[str, str] = {}
                if parts.scheme == "rediss":
                    tls = {name: query[name][0] for name in ("ca", "cert", "key")
                           if name in query}
                    if ("cert" in tls) != ("key" in tls):
                        raise ValueError("a client certificate needs both cert= and key=")
                    for path in tls.values():
                        with open(path, "rb"):
                            pass  # unreadable: say so now, not at the first connection
                elif set(query) & {"ca", "cert", "key"}:
                    raise ValueError("ca=, cert= and key= are for rediss:// (TLS) URLs")
                return cls(host=parts.hostname or "127.0.0.1", port=parts.port or 6379,
                           db=int(db) if db else 0, tls=parts.scheme == "rediss",
                           ca=tls.get("ca"), cert=tls.get("cert"), key=tls.get("key"),
                           username=username, password=password)
        except (ValueError, OSError) as e:
            raise ValueError("bad Redis URL %r: %s" % (_hide_password(url), e)) from e
        raise ValueError("bad Redis URL %r: use redis://host:port/db, rediss://host:port/db, "
                         "unix:///path?db=N or redis+sentinel://host:port,.../service/db"
                         % (_hide_password(url),))

    @classmethod
    def _sentinel(cls, url: str) -> "RedisURL":
        rest = url[len("redis+sentinel://"):]
        netloc, _, path = rest.partition("/")
        username = password = None
        if "@" in netloc:
            credentials, _, netloc = netloc.rpartition("@")
            user, _, secret = credentials.partition(":")
            username, password = unquote(user) or None, unquote(secret) or None
        service, _, db = path.strip("/").partition("/")
        try:
            sentinels = []
            for item in filter(None, netloc.split(",")):
                host, _, port = item.rpartition(":")
                if not host:
                    host, port = port, "26379"
                sentinels.append((host, int(port)))
            if not sentinels or not service:
                raise ValueError("it needs sentinels and a service name")
            return cls(sentinels=tuple(sentinels), service=service, db=int(db or 0),
                       password=password, username=username)
        except ValueError as e:
            raise ValueError("bad Redis URL %r: %s (redis+sentinel://host:port,.../service/db)"
                             % (_hide_password(url), e)) from e

    def tls_options(self) -> "IOpenSSLClientConnectionCreator":
        """The client TLS options of a rediss:// URL: the server's certificate checked against
        `ca` (else the system's trust store) and the URL's host name or address."""
        from twisted.internet import ssl  # OpenSSL only for rediss:// URLs
        trust = None
        if self.ca:
            with open(self.ca, "rb") as f:
                trust = ssl.Certificate.loadPEM(f.read())
        client = None
        if self.cert and self.key:  # parse() accepts neither without the other
            with open(self.cert, "rb") as cert, open(self.key, "rb") as key:
                client = ssl.PrivateCertificate.loadPEM(  # type: ignore[no-untyped-call]
                    cert.read() + b"\n" + key.read())
        return ssl.optionsForClientTLS(self.host, trustRoot=trust, clientCertificate=client)


def _hide_password(url: str) -> str:
    """A URL as it may be shown: the password replaced by ***."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, tail = rest.partition("/")
    if "@" in netloc:
        credentials, _, hosts = netloc.rpartition("@")
        user, colon, _ = credentials.partition(":")
        netloc = "%s%s***@%s" % (user, colon, hosts) if colon else netloc
    return scheme + sep + netloc + slash + tail
