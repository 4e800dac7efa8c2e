"""Which addresses a capture must not reach: the one rule for both paths, in a module that needs
only the standard library. crawlers/address_policy.py (the Scrapy and yt-dlp paths) imports it;
the browser's recording addon (mitm_addon.py), which runs inside mitmproxy's own interpreter and
cannot import tawthiq (nor Scrapy), loads this file by path.
"""

from __future__ import annotations

import ipaddress
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def unwrap(ip: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped, 6to4 or NAT64 IPv6 address, else the address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def why_not_public(ip: IPAddress) -> str | None:
    """What kind of non-public address this is, or None for a public one (as address_policy)."""
    ip = unwrap(ip)
    for label, flag in (("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
                        ("multicast", ip.is_multicast), ("unspecified", ip.is_unspecified),
                        ("private", ip.is_private), ("reserved", ip.is_reserved)):
        if flag:
            return label
    if not ip.is_global:
        return "not globally routable"
    return None


def literal(host: str) -> IPAddress | None:
    """`host` as an address when it is one, in the forms browsers and libc accept (127.1, 0x7f.1)."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def refused(host: str) -> str | None:
    """A reason when `host` is, or resolves to, an address a capture must not reach."""
    found = literal(host)
    if found is not None:
        addresses = [found]
    else:
        try:
            addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0])
                         for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)]
        except (OSError, UnicodeError, ValueError):
            return None  # mitmproxy reports the failed lookup itself
    for ip in addresses:
        kind = why_not_public(ip)
        if kind is not None:
            shown = host if str(ip) == host.strip("[]") else f"{host} ({ip})"
            return f"refused: {shown} is a {kind} address, not the seed's"
    return None
