"""Scrapy settings for a tawthiq capture: the recording download handler and the post pipeline.

Decompression stays in place for the spiders (they need decoded HTML); the handler archives
each response before any middleware sees it. Scrapy's own size limit is off: ours (in the wire
capture) truncates and keeps, where Scrapy's would drop the response. DOWNLOAD_MAXSIZE still
bounds decompression: the handler ignores it for downloads, HttpCompressionMiddleware refuses to
decode past it (0 would uncap it: a 1 MB gzip of zeros would become 1 GB in memory). The raw
bytes are archived all the same; only the spider does not get to parse past the bound.

Accept-Encoding lists only codings that warcio and pywb decode on replay (Scrapy adds zstd).
"""

from __future__ import annotations

from typing import Any

HANDLER = "tawthiq.crawlers.wire.RecordingDownloadHandler"

# What warcio and pywb can decode; Scrapy's default list adds zstd, which they cannot.
ACCEPT_ENCODING = "gzip, deflate, br"
# Decoded size past which a spider is not handed a body (the raw bytes are archived anyway).
MAX_DECODED_BYTES = 32 * 1024 * 1024
# Every Scrapy extension that listens on a socket or sends anything over the network is off:
# the telnet console and RemoteControl run code sent to them; a capture needs neither.
_NETWORK_EXTENSIONS_OFF: dict[str, Any] = {
    "scrapy.extensions.telnet.TelnetConsole": None,
    "scrapy.extensions.remote_control.RemoteControl": None,
    "scrapy.extensions.feedexport.FeedExporter": None,  # FEEDS can upload (S3, FTP, GCS)
    "scrapy.extensions.memdebug.MemoryDebugger": None,
}
_ADDRESS_POLICY = "tawthiq.crawlers.address_policy.AddressPolicyMiddleware"
# Between RetryMiddleware (550) and the decompression/redirect ones, so it sees a 429 before
# Retry would resend it at once (crawlers/ratelimit.py).
_RATE_LIMIT = "tawthiq.crawlers.ratelimit.RateLimitMiddleware"
# Scrapy's retry codes without 429: a rate limit is answered by waiting, not by retrying at once.
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408]


def scrapy_settings(
    *,
    sink_key: str,
    user_agent: str,
    max_response_size: int,
    concurrent_requests: int = 16,
    concurrent_requests_per_domain: int = 8,
    download_delay: float = 0.0,
    download_timeout: int = 60,
    retry_times: int = 2,
    obey_robots_txt: bool = False,
    log_level: str = "INFO",
    log_file: str | None = None,
    record: bool = True,
    allow_private_targets: bool = False,
    rate_limit_max_wait: float = 300.0,
    rate_limit_tries: int = 5,
) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "TAWTHIQ_SINK": sink_key,
        "TAWTHIQ_MAX_RESPONSE_BYTES": max_response_size,
        "USER_AGENT": user_agent,
        "ROBOTSTXT_OBEY": obey_robots_txt,
        "CONCURRENT_REQUESTS": concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrent_requests_per_domain,
        "DOWNLOAD_DELAY": download_delay,
        "DOWNLOAD_TIMEOUT": download_timeout,
        "RETRY_TIMES": retry_times,
        "RETRY_HTTP_CODES": RETRY_HTTP_CODES,
        "TAWTHIQ_RATE_LIMIT_MAX_WAIT": rate_limit_max_wait,
        "TAWTHIQ_RATE_LIMIT_TRIES": rate_limit_tries,
        "DOWNLOAD_MAXSIZE": MAX_DECODED_BYTES,
        "DEFAULT_REQUEST_HEADERS": {
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "Accept-Language": "en",
            "Accept-Encoding": ACCEPT_ENCODING,
        },
        "DOWNLOAD_WARNSIZE": 0,
        "DOWNLOAD_FAIL_ON_DATALOSS": True,
        "COOKIES_ENABLED": True,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "MEMUSAGE_NOTIFY_MAIL": [],
        "EXTENSIONS": dict(_NETWORK_EXTENSIONS_OFF),
        # Private and loopback targets only for the seeds' hosts (crawlers/address_policy.py).
        "TAWTHIQ_ALLOW_PRIVATE_TARGETS": allow_private_targets,
        "DOWNLOADER_MIDDLEWARES": {_ADDRESS_POLICY: 50, _RATE_LIMIT: 560},
        "DNS_RESOLVER": "tawthiq.crawlers.address_policy.GuardedResolver",
        "LOG_LEVEL": log_level,
        "LOG_FILE": log_file,
        "LOG_ENABLED": log_file is not None,
        "ITEM_PIPELINES": {"tawthiq.crawlers.pipelines.ArchivePostsPipeline": 300},
        # Scrapy starts this many tasks per callback output; our pipeline is synchronous.
        "CONCURRENT_ITEMS": 16,
    }
    if record:
        settings["DOWNLOAD_HANDLERS"] = {"http": HANDLER, "https": HANDLER}
    return settings
