"""Which addresses a capture may fetch: public ones, and the seeds' own.

A public feed, page or post can link (or redirect) to `http://169.254.169.254/`, `http://10.0.0.5/admin`
or `http://localhost:6379/`; a crawler that follows it fetches an internal service and publishes the
answer in the archive. So private, loopback, link-local, multicast, unspecified and reserved
addresses (IPv4, IPv6, IPv6 unique-local, IPv4-mapped and 6to4/NAT64 forms of them) are refused,
except:

- the hosts of the run's seeds (a start request that is not a redirect): an archivist who points a
  capture at an intranet site or at 127.0.0.1 means it, for that host and its addresses;
- everything, with the setting `allow_private_targets = true`.

Checked twice: by `AddressPolicyMiddleware` for every request, redirects included (Scrapy sends
each redirect back through the downloader middlewares), on the literal host and on every address
the name resolves to, so the refusal is recorded as a failure with its reason; and by
`GuardedResolver` at connect time, so a name that resolves to a public address for the check and
to 127.0.0.1 for the connection (DNS rebinding) is still refused before a byte is sent.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import CachingThreadedResolver
from twisted.internet.error import DNSLookupError

from tawthiq.crawlers.browser.addresses import literal, unwrap, why_not_public  # noqa: F401 - re-exported

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Shared with the resolver: one capture runs per process (Scrapy's reactor cannot restart).
_allowed_hosts: set[str] = set()
_allowed_ips: set[IPAddress] = set()
_open = {"all": False}


class TargetRefused(IgnoreRequest):
    """A request to an address the policy does not allow; the message says which and why."""


# The rule itself lives in a module of the standard library only, so that the browser's recording
# proxy (which runs in mitmproxy's interpreter and cannot import tawthiq) applies the same one.
_unwrap = unwrap
_literal = literal


@functools.lru_cache(maxsize=4096)
def _resolve(host: str) -> tuple[IPAddress, ...]:
    return tuple(resolve(host))


def resolve(host: str) -> list[IPAddress]:
    """Every address `host` resolves to (the literal itself for an address)."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []  # the download fails with its own DNS error, recorded as usual
    return list(dict.fromkeys(_unwrap(ipaddress.ip_address(str(i[4][0]).split("%")[0])) for i in infos))


def allow_seed(host: str) -> None:
    """The seed's host and its addresses are allowed for this run."""
    host = host.lower()
    _allowed_hosts.add(host)
    _allowed_ips.update(resolve(host))


def allowed_hosts() -> set[str]:
    """The seeds' hosts allowed for this run (the browser's proxy is told them)."""
    return set(_allowed_hosts)


def refusal(host: str, addresses: list[IPAddress] | None = None) -> str | None:
    """Why fetching `host` is refused, or None when it is allowed."""
    if _open["all"] or host.lower() in _allowed_hosts:
        return None
    # Cached per name (a crawl asks about the same hosts again and again); the resolver's own
    # check at connect time sees each fresh answer, so the cache opens no rebinding gap.
    for ip in addresses if addresses is not None else _resolve(host.lower()):
        if ip in _allowed_ips:
            continue
        kind = why_not_public(ip)
        if kind is not None:
            shown = host if str(ip) == host.strip("[]") else f"{host} ({ip})"
            return (f"refused: {shown} is a {kind} address, not the seed's; "
                    "set allow_private_targets = true to capture it")
    return None


def refused_url(url: str) -> str | None:
    """`refusal` for a URL (yt-dlp's fetches go through this; they bypass Scrapy)."""
    return refusal(urlsplit(url).hostname or "")


class AddressPolicyMiddleware:
    """Refuses requests to non-public addresses that are not a seed's (see the module)."""

    def __init__(self, allow_all: bool) -> None:
        _open["all"] = allow_all

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "AddressPolicyMiddleware":
        return cls(crawler.settings.getbool("TAWTHIQ_ALLOW_PRIVATE_TARGETS"))

    def process_request(self, request: Request, spider: Any = None) -> None:
        host = urlsplit(request.url).hostname or ""
        if request.meta.get("is_start_request") and not request.meta.get("redirect_urls"):
            allow_seed(host)
            return None
        reason = refusal(host)
        if reason is not None:
            raise TargetRefused(reason)
        return None


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's resolver, refusing at connect time a name whose answer is not allowed."""

    def getHostByName(self, name: str, timeout: Any = None) -> Any:
        d = super().getHostByName(name, timeout)

        def check(address: str) -> str:
            reason = refusal(name, [_unwrap(ipaddress.ip_address(address))])
            if reason is not None:
                raise DNSLookupError(reason)
            return address

        return d.addCallback(check)
