"""Bot detection: the CrawlerDetect pattern list plus headless-browser and automation hints.

CrawlerDetect knows thousands of crawler signatures but not every automation tool a site owner
would not want counted; the extra hints cover headless browsers and HTTP libraries.
"""

from __future__ import annotations

from functools import lru_cache

from crawlerdetect import CrawlerDetect

_DETECTOR = CrawlerDetect()
_HEADLESS_HINTS = (
    "headlesschrome",
    "phantomjs",
    "slimerjs",
    "puppeteer",
    "playwright",
    "selenium",
    "webdriver",
    "electron/",
    "cypress",
    "nightmare",
    "lighthouse",
    "chrome-lighthouse",
    "pingdom",
    "uptime",
    "python-requests",
    "python-urllib",
    "aiohttp",
    "httpx",
    "go-http-client",
    "curl/",
    "wget/",
    "okhttp",
    "java/",
    "libwww",
    "node-fetch",
    "axios/",
    "scrapy",
)


@lru_cache(maxsize=20_000)
def is_bot(user_agent: str) -> bool:
    if not user_agent or len(user_agent) < 10:
        return True  # real browsers always send a substantial User-Agent
    lowered = user_agent.lower()
    if any(hint in lowered for hint in _HEADLESS_HINTS):
        return True
    return bool(_DETECTOR.isCrawler(user_agent[:1000]))
