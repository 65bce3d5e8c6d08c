"""Real-world-ish shares for the synthetic data set: devices, software, places, sources, events.

Weights are relative (they need not add up to 1). Shares follow public web-analytics surveys
of 2024-2026 (StatCounter-like device, browser and OS splits; a SaaS site's traffic mix) closely
enough for a benchmark: what matters is that the columns have the cardinalities and skews of
real traffic, so that compression, dictionary sizes and group-by costs are realistic.
"""

from __future__ import annotations

Weighted = list[tuple[str, float]]

# Plausible's screen_size values.
DEVICES: Weighted = [("Mobile", 52), ("Desktop", 28), ("Laptop", 17), ("Tablet", 3)]

# Operating system by device class, with version shares.
OS_BY_DEVICE: dict[str, Weighted] = {
    "Mobile": [("Android", 68), ("iOS", 31.5), ("KaiOS", 0.5)],
    "Tablet": [("iOS", 55), ("Android", 45)],
    "Desktop": [("Windows", 72), ("Mac", 17), ("GNU/Linux", 8), ("Chrome OS", 3)],
    "Laptop": [("Windows", 62), ("Mac", 27), ("GNU/Linux", 6), ("Chrome OS", 5)],
}
OS_VERSIONS: dict[str, Weighted] = {
    "Android": [("14", 38), ("13", 22), ("15", 18), ("12", 11), ("11", 7), ("10", 4)],
    "iOS": [("18.1", 30), ("18.0", 18), ("17.6", 25), ("17.5", 12), ("16.7", 10), ("15.8", 5)],
    "KaiOS": [("3.1", 100)],
    "Windows": [("10", 64), ("11", 34), ("8.1", 1), ("7", 1)],
    "Mac": [("10.15", 100)],  # browsers freeze the macOS version in the User-Agent
    "GNU/Linux": [("", 100)],
    "Chrome OS": [("16033", 60), ("15917", 40)],
}

# Browser by operating system, with version shares.
BROWSERS_BY_OS: dict[str, Weighted] = {
    "Android": [("Chrome", 78), ("Samsung Internet", 12), ("Firefox", 3), ("Opera", 4)],
    "iOS": [("Safari", 86), ("Chrome", 11), ("Firefox", 2), ("Edge", 1)],
    "KaiOS": [("Firefox", 100)],
    "Windows": [("Chrome", 68), ("Edge", 20), ("Firefox", 8), ("Opera", 3), ("Brave", 1)],
    "Mac": [("Safari", 48), ("Chrome", 43), ("Firefox", 6), ("Edge", 2), ("Brave", 1)],
    "GNU/Linux": [("Firefox", 48), ("Chrome", 44), ("Chromium", 6), ("Brave", 2)],
    "Chrome OS": [("Chrome", 100)],
}
BROWSER_VERSIONS: dict[str, Weighted] = {
    "Chrome": [("131.0", 45), ("130.0", 30), ("129.0", 12), ("128.0", 8), ("109.0", 5)],
    "Safari": [("18.1", 40), ("18.0", 20), ("17.6", 25), ("16.6", 15)],
    "Edge": [("131.0", 60), ("130.0", 40)],
    "Firefox": [("132.0", 50), ("131.0", 30), ("128.0", 20)],
    "Samsung Internet": [("26.0", 60), ("25.0", 40)],
    "Opera": [("114.0", 70), ("113.0", 30)],
    "Brave": [("131.0", 100)],
    "Chromium": [("131.0", 100)],
}

# Countries, and for the larger ones regions (ISO 3166-2) with GeoNames city ids.
COUNTRIES: Weighted = [
    ("US", 28), ("DE", 7), ("GB", 6), ("IN", 6), ("FR", 4), ("CA", 4), ("BR", 3),
    ("NL", 2.5), ("JP", 2.5), ("ES", 2), ("IT", 2), ("PL", 2), ("AU", 2), ("SE", 1.5),
    ("CH", 1.2), ("AT", 1), ("BE", 1), ("DK", 0.8), ("NO", 0.8), ("FI", 0.7), ("IE", 0.7),
    ("PT", 0.7), ("CZ", 0.7), ("RO", 0.6), ("UA", 0.8), ("TR", 0.8), ("RU", 0.8), ("MX", 1),
    ("AR", 0.6), ("CO", 0.5), ("CL", 0.4), ("ZA", 0.5), ("NG", 0.5), ("EG", 0.4), ("KE", 0.3),
    ("IL", 0.5), ("AE", 0.4), ("SA", 0.3), ("PK", 0.6), ("BD", 0.4), ("ID", 1), ("VN", 0.7),
    ("PH", 0.7), ("TH", 0.5), ("MY", 0.4), ("SG", 0.6), ("KR", 0.9), ("TW", 0.5), ("HK", 0.4),
    ("CN", 0.6), ("NZ", 0.4), ("GR", 0.4), ("HU", 0.4), ("SK", 0.2), ("BG", 0.3), ("HR", 0.2),
    ("RS", 0.2), ("LT", 0.2), ("LV", 0.1), ("EE", 0.15), ("SI", 0.1), ("IS", 0.05),
]  # fmt: skip
REGIONS: dict[str, list[tuple[str, float, list[int]]]] = {
    "US": [
        ("US-CA", 18, [5391959, 5368361, 5392171]),  # San Francisco, Los Angeles, San Jose
        ("US-NY", 12, [5128581]),  # New York
        ("US-TX", 10, [4671654, 4699066]),  # Austin, Houston
        ("US-WA", 6, [5809844]),  # Seattle
        ("US-FL", 6, [4164138]),  # Miami
        ("US-IL", 5, [4887398]),  # Chicago
        ("US-MA", 4, [4930956]),  # Boston
    ],
    "DE": [
        ("DE-BE", 20, [2950159]),  # Berlin
        ("DE-BY", 18, [2867714]),  # Munich
        ("DE-NW", 22, [2886242]),  # Cologne
        ("DE-HH", 8, [2911298]),  # Hamburg
    ],
    "GB": [("GB-ENG", 80, [2643743, 2643123]), ("GB-SCT", 10, [2650225])],
    "FR": [("FR-IDF", 40, [2988507]), ("FR-ARA", 15, [2996944])],
    "IN": [("IN-MH", 20, [1275339]), ("IN-KA", 20, [1277333]), ("IN-DL", 15, [1273294])],
    "CA": [("CA-ON", 40, [6167865]), ("CA-BC", 15, [6173331]), ("CA-QC", 20, [6077243])],
    "BR": [("BR-SP", 40, [3448439]), ("BR-RJ", 15, [3451190])],
    "NL": [("NL-NH", 35, [2759794]), ("NL-ZH", 30, [2747891])],
}
LOCATED_SHARE = 0.7  # of visitors in those countries, how many resolve to a region and city

# Referrers: (host, weight); "" is direct traffic. The importer names the source from the
# host, as the live pipeline does. About 300 distinct sources with the long tail added.
SEARCH: Weighted = [
    ("www.google.com", 22), ("www.google.de", 2), ("www.google.co.uk", 1.5), ("www.google.fr", 1),
    ("www.google.co.in", 1), ("www.google.ca", 0.8), ("www.google.com.br", 0.6),
    ("www.bing.com", 3), ("duckduckgo.com", 1.2), ("search.yahoo.com", 0.5),
    ("www.ecosia.org", 0.4), ("yandex.ru", 0.3), ("www.baidu.com", 0.2),
    ("search.brave.com", 0.3), ("www.startpage.com", 0.1), ("www.qwant.com", 0.1),
    ("kagi.com", 0.05), ("www.naver.com", 0.05), ("www.seznam.cz", 0.05),
]  # fmt: skip
SOCIAL: Weighted = [
    ("l.facebook.com", 2), ("t.co", 1.5), ("www.reddit.com", 1.5), ("www.linkedin.com", 1),
    ("news.ycombinator.com", 1), ("github.com", 1), ("www.youtube.com", 0.6),
    ("l.instagram.com", 0.4), ("www.pinterest.com", 0.3), ("bsky.app", 0.2),
    ("mastodon.social", 0.15), ("fosstodon.org", 0.1), ("chatgpt.com", 0.8),
    ("www.perplexity.ai", 0.2), ("mail.google.com", 0.2), ("lobste.rs", 0.1),
    ("dev.to", 0.3), ("medium.com", 0.3), ("stackoverflow.com", 0.4),
]  # fmt: skip
DIRECT_WEIGHT = 38.0
LONG_TAIL_WEIGHT = 12.0  # spread over the generated referral sites by a Zipf law
LONG_TAIL_SITES = 270

_TAIL_WORDS = (
    "tech", "dev", "code", "data", "web", "cloud", "stack", "open", "byte", "pixel", "growth",
    "indie", "maker", "saas", "startup", "product", "design", "ops",
)  # fmt: skip
_TAIL_SUFFIXES = ("weekly", "digest", "notes", "hub", "daily", "insider", "review", "labs")
_TAIL_TLDS = ("com", "io", "net", "org", "dev", "co.uk", "de", "fr")


def long_tail_hosts() -> list[str]:
    """Deterministic, plausible-looking referral domains (blogs, newsletters, directories)."""
    hosts = []
    for i in range(LONG_TAIL_SITES):
        word = _TAIL_WORDS[i % len(_TAIL_WORDS)]
        suffix = _TAIL_SUFFIXES[(i // len(_TAIL_WORDS)) % len(_TAIL_SUFFIXES)]
        tld = _TAIL_TLDS[(i * 7) % len(_TAIL_TLDS)]
        hosts.append(f"{word}{suffix}.{tld}")
    return hosts


# UTM-tagged campaigns: (utm_source, utm_medium, referrer host or "", weight).
CAMPAIGN_SOURCES: list[tuple[str, str, str, float]] = [
    ("newsletter", "email", "", 30),
    ("google", "cpc", "www.google.com", 20),
    ("facebook", "paid_social", "l.facebook.com", 10),
    ("linkedin", "social", "www.linkedin.com", 8),
    ("twitter", "social", "t.co", 6),
    ("bing", "cpc", "www.bing.com", 5),
    ("producthunt", "referral", "www.producthunt.com", 5),
    ("partner-acme", "affiliate", "acme-partners.com", 4),
    ("partner-globex", "affiliate", "globex.io", 3),
    ("podcast", "audio", "", 3),
    ("youtube", "video", "www.youtube.com", 4),
    ("reddit", "paid_social", "www.reddit.com", 2),
]
CAMPAIGNS = [
    "spring_sale", "summer_launch", "black_friday", "weekly_digest", "onboarding",
    "product_update", "webinar_2026", "retargeting", "brand", "competitor", "free_trial",
    "case_study", "feature_flags", "pricing_change", "holiday_promo", "ebook", "conference",
    "integration_launch", "survey", "referral_program", "api_launch", "mobile_app",
    "year_in_review", "changelog", "community",
]  # fmt: skip
UTM_SHARE = 0.10

# Hours of the day (UTC) when visits start: a European and American audience.
HOUR_WEIGHTS = [
    1.5, 1.2, 1.0, 0.9, 1.0, 1.4, 2.2, 3.4, 4.6, 5.4, 5.8, 6.0,
    6.0, 6.2, 6.6, 6.8, 6.6, 6.2, 5.6, 5.0, 4.4, 3.6, 2.8, 2.0,
]  # fmt: skip
WEEKDAY_FACTORS = [1.08, 1.12, 1.1, 1.06, 0.98, 0.78, 0.8]  # Monday first

# Pageviews per visit: 45 % single-page bounces, then a geometric tail up to 8.
PAGEVIEWS_PER_VISIT: list[tuple[int, float]] = [
    (1, 45),
    *((n, 55 * 0.6 ** (n - 2) / sum(0.6**k for k in range(7))) for n in range(2, 9)),
]
VISITS_PER_VISITOR_DAY: list[tuple[int, float]] = [(1, 55), (2, 25), (3, 12), (4, 5), (5, 3)]

# Custom events: 5 % of all events, in visits of two or more pages (so bounces stay bounces).
# (name, weight, props key, prop values)
CUSTOM_EVENTS: list[tuple[str, float, str, list[str]]] = [
    ("Outbound Link: Click", 35, "url", [f"https://partner{i}.example.org/" for i in range(40)]),
    ("Download", 20, "file", [f"whitepaper-{i}.pdf" for i in range(15)] + ["app.dmg", "app.exe"]),
    ("Video Play", 15, "video", [f"demo-{i}" for i in range(25)]),
    ("Signup", 12, "plan", ["free"] * 14 + ["pro"] * 5 + ["business"]),
    ("Newsletter Subscribe", 8, "list", ["weekly", "product", "security"]),
    ("404", 6, "path", [f"/old/page-{i}" for i in range(60)]),
    ("Purchase", 4, "plan", ["pro"] * 4 + ["business"]),
]
PRICES = {"pro": 19.0, "business": 99.0}
