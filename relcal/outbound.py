"""Where Relcal may send a request of its own (team webhooks, an SLO's Prometheus server): the
address policy against server-side request forgery, and a POST pinned to a checked address.

* Link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10, the metadata hosts) are
  always refused: nothing legitimate lives there, and a metadata service hands out credentials.
* Loopback, private and other non-public ranges (127/8, ::1, RFC 1918, fc00::/7, 100.64/10…)
  are refused unless the caller's setting allows them (a self-hosted chat, a Prometheus server).
* The check is made on every address a host name resolves to, at save time and again at send
  time; the request then connects to the address that was checked (with the original Host
  header and TLS server name), so a name that re-resolves elsewhere (DNS rebinding) gains
  nothing.
* What went wrong is told in three words ("could not connect", "timed out", "HTTP <status>"):
  the raw socket error would tell open, closed and filtered ports apart.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import ipaddress
import socket
import ssl
from urllib.parse import unquote, urlsplit

METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.internal",
        "instance-data",
        "instance-data.ec2.internal",
    }
)

# Always refused: link-local (AWS, GCP, Azure and OpenStack metadata at 169.254.169.254),
# other clouds' metadata addresses, "this network" and multicast.
ALWAYS_REFUSED = tuple(
    ipaddress.ip_network(net)
    for net in (
        "169.254.0.0/16",
        "fe80::/10",
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "fd00:ec2::254/128",  # AWS metadata over IPv6
        "0.0.0.0/8",
        "::/128",
        "224.0.0.0/4",
        "ff00::/8",
        "255.255.255.255/32",
    )
)


class AddressRefused(ValueError):
    """The target is not a place Relcal sends requests to; ``message`` says why, for a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SendFailed(OSError):
    """The request went out and failed: "could not connect", "timed out" or "HTTP <status>"."""


def check_address(address: str, *, allow_private: bool) -> None:
    """Raise ``AddressRefused`` unless ``address`` (an IP literal) may be sent to."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if any(ip in net for net in ALWAYS_REFUSED if net.version == ip.version):
        raise AddressRefused("Link-local and cloud metadata addresses are not allowed.")
    if not ip.is_global and not allow_private:
        raise AddressRefused("Loopback and private network addresses are not allowed here.")


def _check_name(host: str) -> None:
    name = host.rstrip(".").lower()
    if name in METADATA_HOSTS:
        raise AddressRefused("Link-local and cloud metadata addresses are not allowed.")


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        return None


def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to for ``host``: every address it resolves to is checked (one
    refused address refuses the name), the first is returned. Raises ``AddressRefused``, or
    ``SendFailed("could not connect")`` when the name does not resolve."""
    _check_name(host)
    if _literal(host):
        check_address(host, allow_private=allow_private)
        return host
    if host.rstrip(".").lower() == "localhost" or host.rstrip(".").lower().endswith(".localhost"):
        check_address("127.0.0.1", allow_private=allow_private)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise SendFailed("could not connect") from None
    addresses = [info[4][0] for info in infos]
    for address in addresses:
        check_address(address, allow_private=allow_private)
    if not addresses:
        raise SendFailed("could not connect")
    return addresses[0]


def check_url(url: str, *, allow_private: bool) -> None:
    """The save-time check: raise ``AddressRefused`` for a URL whose host is (or resolves to) an
    address refused by the policy. A name that does not resolve now passes: the send-time
    check decides, and a chat service's DNS being briefly down must not block an edit."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host:
        raise AddressRefused("Give an address with a host name.")
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        raise AddressRefused("The port is not a number between 0 and 65535.") from None
    with contextlib.suppress(SendFailed):
        resolve(host, port, allow_private=allow_private)


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the URL's host name, not the pinned address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float, allow_private: bool):
    """POST ``body`` to ``url`` (http or https) at an address the policy allows; redirects are
    not followed. ``user:password@`` in the URL is sent as HTTP Basic authentication.

    Returns the status (2xx). Raises ``AddressRefused``, or ``SendFailed`` with one of
    "could not connect", "timed out", "HTTP <status>"."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if scheme not in ("http", "https") or not host:
        raise AddressRefused("Give an http:// or https:// address.")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise AddressRefused("The port is not a number between 0 and 65535.") from None
    address = resolve(host, port, allow_private=allow_private)
    headers = dict(headers)
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection_class = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    connection = connection_class(host, port, address, timeout)
    try:
        connection.request("POST", target, body=body, headers=headers)
        status = connection.getresponse().status
    except TimeoutError:
        raise SendFailed("timed out") from None
    except (OSError, http.client.HTTPException):
        raise SendFailed("could not connect") from None
    finally:
        connection.close()
    if not 200 <= status < 300:
        raise SendFailed(f"HTTP {status}")
    return status
