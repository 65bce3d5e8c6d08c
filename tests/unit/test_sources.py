"""Unit tests for tinytrail.ingest.sources: referrer cleaning, source naming, channels."""

from __future__ import annotations

import random

import pytest

from tinytrail.ingest import sources
from tinytrail.ingest.sources import (
    PLAUSIBLE_CHANNELS,
    SOURCE_CATEGORIES,
    TINYTRAIL_CHANNELS,
    channel,
    clean_referrer,
    referrer_source,
    source_category,
    tinytrail_channel,
    tinytrail_channel_sql_cases,
)

# --------------------------------------------------------------------------------------------
# clean_referrer
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://t.co/fzWTE9OTPt/", ("t.co", "t.co/fzWTE9OTPt")),
        ("https://t.co/fzWTE9OTPt", ("t.co", "t.co/fzWTE9OTPt")),
        ("https://www.google.com/", ("google.com", "google.com")),
        ("https://www.google.com", ("google.com", "google.com")),
        (
            "https://www.Google.co.uk/search?q=tinytrail#top",
            ("google.co.uk", "google.co.uk/search"),
        ),
        ("HTTP://WWW.EXAMPLE.COM/Blog/Post/", ("example.com", "example.com/Blog/Post")),
        (
            "http://news.ycombinator.com/item?id=1",
            ("news.ycombinator.com", "news.ycombinator.com/item"),
        ),
        ("https://example.com/a///", ("example.com", "example.com/a")),
        ("https://user:secret@www.example.com:8443/x/", ("example.com", "example.com/x")),
        ("  https://example.com/padded  ", ("example.com", "example.com/padded")),
        ("https://example.com./dot", ("example.com", "example.com/dot")),
        ("https://www.www.example.com/", ("www.example.com", "www.example.com")),
        ("https://l.facebook.com/l.php?u=x", ("l.facebook.com", "l.facebook.com/l.php")),
        ("http://[::1]:3000/dev", ("::1", "::1/dev")),
        ("https://bücher.de/", ("bücher.de", "bücher.de")),
        (
            "android-app://com.google.android.gm/",
            ("android-app://com.google.android.gm", "android-app://com.google.android.gm"),
        ),
        ("android-app://com.Slack", ("android-app://com.slack", "android-app://com.slack")),
    ],
)
def test_clean_referrer_valid(raw: str, expected: tuple[str, str]) -> None:
    assert clean_referrer(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        " ",
        "garbage",
        "google.com",
        "//google.com/path",
        "javascript:alert(1)",
        "data:text/html,hi",
        "file:///etc/passwd",
        "ftp://example.com/file",
        "chrome-extension://abcdef/page.html",
        "about:blank",
        "mailto:someone@example.com",
        "https://",
        "https:///path-only",
        "https:example.com",
        "http://[::1/",
        "http://[not-ipv6]/",
        "https://exa mple.com/",
        "https://exa\x00mple.com/",
        "https://<script>/",
        "https://a%2fb.com/",
        "https://www./",
        "https://.../",
        "\x00\x01\x02\xff",
        "\ud800\udfff",
        "https://\ud800.com/",
        "https://" + "a" * 300 + ".com/",
    ],
)
def test_clean_referrer_rejects(raw: str) -> None:
    assert clean_referrer(raw) == ("", "")


def test_clean_referrer_drops_unprintable_path_characters() -> None:
    host, cleaned = clean_referrer("https://example.com/a\x00b\ud800c/")
    assert (host, cleaned) == ("example.com", "example.com/abc")
    cleaned.encode("utf-8")  # storable


def test_clean_referrer_caps_length() -> None:
    host, cleaned = clean_referrer("https://example.com/" + "p" * 100_000)
    assert host == "example.com"
    assert cleaned.startswith("example.com/ppp")
    assert len(cleaned) == 2000


def test_clean_referrer_huge_garbage_does_not_raise() -> None:
    assert clean_referrer("\x00" * 5_000_000) == ("", "")
    assert clean_referrer("http://[" * 100_000) == ("", "")
    assert clean_referrer("https://" + "a." * 1_000_000) == ("", "")


def test_clean_referrer_never_raises_on_random_input() -> None:
    rng = random.Random(20240229)
    alphabet = (
        "htps:/[]@%#?.:wgoOGLE\x00\x7f\u00e9\u200b\ud800 \t\n-_~!$&'()*+,;=\\^`{|}<>\"0123456789"
    )
    prefixes = [
        "",
        "http://",
        "https://",
        "android-app://",
        "HTTPS://www.",
        "http://[",
        "https://a@",
    ]
    for _ in range(3000):
        body = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        raw = rng.choice(prefixes) + body
        host, cleaned = clean_referrer(raw)
        assert isinstance(host, str)
        assert isinstance(cleaned, str)
        assert (host == "") == (cleaned == "")
        if host:
            assert cleaned.startswith(host)
            assert not host.startswith("www.")
            assert host == host.lower()
            cleaned.encode("utf-8")


def test_clean_referrer_random_bytes_decoded_as_text() -> None:
    rng = random.Random(7)
    for _ in range(500):
        blob = bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
        for text in (blob.decode("latin-1"), blob.decode("utf-8", "surrogateescape")):
            clean_referrer(text)
            clean_referrer("https://" + text)


# --------------------------------------------------------------------------------------------
# referrer_source
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("google.com", "Google"),
        ("www.google.com", "Google"),
        ("google.co.uk", "Google"),
        ("google.com.br", "Google"),
        ("google.de", "Google"),
        ("news.google.co.jp", "Google"),
        ("android-app://com.google.android.googlequicksearchbox", "Google"),
        ("bing.com", "Bing"),
        ("cn.bing.com", "Bing"),
        ("duckduckgo.com", "DuckDuckGo"),
        ("t.co", "Twitter"),
        ("twitter.com", "Twitter"),
        ("x.com", "Twitter"),
        ("mobile.twitter.com", "Twitter"),
        ("facebook.com", "Facebook"),
        ("m.facebook.com", "Facebook"),
        ("l.facebook.com", "Facebook"),
        ("lm.facebook.com", "Facebook"),
        ("news.ycombinator.com", "Hacker News"),
        ("reddit.com", "Reddit"),
        ("old.reddit.com", "Reddit"),
        ("android-app://com.reddit.frontpage", "Reddit"),
        ("linkedin.com", "LinkedIn"),
        ("lnkd.in", "LinkedIn"),
        ("youtube.com", "YouTube"),
        ("m.youtube.com", "YouTube"),
        ("youtu.be", "YouTube"),
        ("github.com", "GitHub"),
        ("yandex.ru", "Yandex"),
        ("yandex.com.tr", "Yandex"),
        ("ya.ru", "Yandex"),
        ("baidu.com", "Baidu"),
        ("m.baidu.com", "Baidu"),
        ("yahoo.com", "Yahoo!"),
        ("search.yahoo.com", "Yahoo!"),
        ("de.search.yahoo.com", "Yahoo!"),
        ("ecosia.org", "Ecosia"),
        ("mail.google.com", "Gmail"),
        ("android-app://com.google.android.gm", "Gmail"),
        ("outlook.live.com", "Outlook.com"),
        ("mail.yahoo.com", "Yahoo! Mail"),
        ("chatgpt.com", "ChatGPT"),
        ("chat.openai.com", "ChatGPT"),
        ("perplexity.ai", "Perplexity"),
        ("claude.ai", "Claude"),
        ("gemini.google.com", "Gemini"),
        ("amazon.com", "Amazon"),
        ("amazon.co.uk", "Amazon"),
        ("ebay.de", "eBay"),
        ("shopping.google.com", "Google Shopping"),
        ("en.wikipedia.org", "Wikipedia"),
        ("en.m.wikipedia.org", "Wikipedia"),
        ("t.me", "Telegram"),
        ("bsky.app", "Bluesky"),
        ("pinterest.co.uk", "Pinterest"),
    ],
)
def test_referrer_source_known(host: str, expected: str) -> None:
    assert referrer_source(host, "example.com", "") == expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("markosaric.com", "markosaric.com"),
        ("www.markosaric.com", "markosaric.com"),
        ("blog.example.org", "blog.example.org"),
        # `brand.*` must not be fooled by look-alike hosts.
        ("google.evil.com", "google.evil.com"),
        ("google.attacker.io", "google.attacker.io"),
        ("googleusercontent.com", "googleusercontent.com"),
        ("notgoogle.com", "notgoogle.com"),
        ("android-app://com.example.app", "android-app://com.example.app"),
        ("192.0.2.1", "192.0.2.1"),
    ],
)
def test_referrer_source_unknown_is_host(host: str, expected: str) -> None:
    assert referrer_source(host, "example.com", "") == expected


def test_referrer_source_self_referral() -> None:
    assert referrer_source("example.com", "example.com", "") == ""
    assert referrer_source("www.example.com", "example.com", "") == ""
    assert referrer_source("example.com", "www.example.com", "") == ""
    assert referrer_source("EXAMPLE.com", "example.COM", "") == ""
    # Only exact equality counts: another subdomain of the same site is a referrer.
    assert referrer_source("blog.example.com", "example.com", "") == "blog.example.com"
    assert referrer_source("example.com", "app.example.com", "") == "example.com"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1"])
def test_referrer_source_localhost(host: str) -> None:
    assert referrer_source(host, "example.com", "") == ""


def test_referrer_source_empty() -> None:
    assert referrer_source("", "example.com", "") == ""
    assert referrer_source("", "", "") == ""
    assert referrer_source("", "example.com", "   ") == ""


def test_referrer_source_from_cleaned_referrer() -> None:
    host, _ = clean_referrer("https://www.google.co.uk/search?q=x")
    assert referrer_source(host, "example.com", "") == "Google"
    host, _ = clean_referrer("https://www.example.com/other-page")
    assert referrer_source(host, "example.com", "") == ""


@pytest.mark.parametrize(
    ("tagged", "expected"),
    [
        ("google", "Google"),
        ("GOOGLE", "Google"),
        ("Google", "Google"),
        ("adwords", "Google"),
        ("google_ads", "Google"),
        ("google.de", "Google"),
        ("www.google.com", "Google"),
        ("ig", "Instagram"),
        ("IG", "Instagram"),
        ("instagram", "Instagram"),
        ("fb", "Facebook"),
        ("facebook", "Facebook"),
        ("fb-ads", "Facebook"),
        ("tw", "Twitter"),
        ("twitter", "Twitter"),
        ("x", "Twitter"),
        ("X", "Twitter"),
        ("t.co", "Twitter"),
        ("hn", "Hacker News"),
        ("hacker news", "Hacker News"),
        ("news.ycombinator.com", "Hacker News"),
        ("li", "LinkedIn"),
        ("linkedin", "LinkedIn"),
        ("yt", "YouTube"),
        ("youtube", "YouTube"),
        ("YouTube", "YouTube"),
        ("reddit", "Reddit"),
        ("bing", "Bing"),
        ("duckduckgo", "DuckDuckGo"),
        ("yahoo", "Yahoo!"),
        ("gmail", "Gmail"),
        ("chatgpt.com", "ChatGPT"),
        ("chatgpt", "ChatGPT"),
        ("perplexity", "Perplexity"),
        ("tiktokads", "TikTok"),
        ("wikipedia", "Wikipedia"),
        ("linktree", "Linktree"),
        ("  ig  ", "Instagram"),
        # Unknown tags are kept verbatim (case included).
        ("Newsletter", "Newsletter"),
        ("my-partner", "my-partner"),
        ("example.com", "example.com"),
        ("firebase", "firebase"),
    ],
)
def test_referrer_source_tagged(tagged: str, expected: str) -> None:
    assert referrer_source("", "example.com", tagged) == expected


def test_tagged_source_wins_over_referrer() -> None:
    assert referrer_source("google.com", "example.com", "newsletter") == "newsletter"
    assert referrer_source("t.co", "example.com", "fb") == "Facebook"
    # Even a self-referral or localhost referrer keeps an explicit tag.
    assert referrer_source("example.com", "example.com", "ig") == "Instagram"
    assert referrer_source("localhost", "example.com", "hn") == "Hacker News"


def test_referrer_source_long_inputs() -> None:
    long_host = "a" * 10_000 + ".com"
    assert referrer_source(long_host, "example.com", "") == long_host
    long_tag = "t" * 10_000
    assert referrer_source("", "", long_tag) == long_tag


# --------------------------------------------------------------------------------------------
# source_category
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Google", "search"),
        ("google", "search"),
        ("GOOGLE", "search"),
        ("Bing", "search"),
        ("DuckDuckGo", "search"),
        ("Yahoo!", "search"),
        ("Ecosia", "search"),
        ("Yandex", "search"),
        ("Baidu", "search"),
        ("Brave", "search"),
        ("Facebook", "social"),
        ("Instagram", "social"),
        ("Twitter", "social"),
        ("LinkedIn", "social"),
        ("Reddit", "social"),
        ("Hacker News", "social"),
        ("GitHub", "social"),
        ("Telegram", "social"),
        ("Discord", "social"),
        ("Gmail", "email"),
        ("Outlook.com", "email"),
        ("Proton Mail", "email"),
        ("YouTube", "video"),
        ("Vimeo", "video"),
        ("Twitch", "video"),
        ("Amazon", "shopping"),
        ("eBay", "shopping"),
        ("Temu", "shopping"),
        ("ChatGPT", "ai"),
        ("Perplexity", "ai"),
        ("Claude", "ai"),
        ("Gemini", "ai"),
        ("Copilot", "ai"),
        # Raw hosts and aliases categorise like their site.
        ("t.co", "social"),
        ("chatgpt.com", "ai"),
        ("google.co.uk", "search"),
        ("m.youtube.com", "video"),
        ("fb", "social"),
        # Known but uncategorised, unknown, empty.
        ("Wikipedia", ""),
        ("markosaric.com", ""),
        ("newsletter", ""),
        ("", ""),
    ],
)
def test_source_category(source: str, expected: str) -> None:
    assert source_category(source) == expected


def test_every_category_is_populated() -> None:
    found = {source_category(name) for name in set(sources._NAME_BY_KEY.values())}
    assert found == {*SOURCE_CATEGORIES, ""}


def test_table_size_and_consistency() -> None:
    names = set(sources._NAME_BY_KEY.values())
    assert 150 <= len(names) <= 300
    # Every display name resolves to itself, so normalising is idempotent.
    for name in names:
        assert referrer_source("", "", name) == name
    # Every listed host resolves to its own entry.
    for host, name in sources._NAME_BY_HOST.items():
        assert referrer_source(host, "example.com", "") == name


def test_malformed_table_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown category"):
        sources._parse_source_table("[nonsense]\nX | x.com |\n")
    with pytest.raises(ValueError, match="malformed"):
        sources._parse_source_table("[search]\nX | x.com\n")
    with pytest.raises(ValueError, match="maps to both"):
        sources._parse_source_table("[search]\nA | a.com |\nB | a.com |\n")


# --------------------------------------------------------------------------------------------
# channel
# --------------------------------------------------------------------------------------------


def ch(
    source: str = "",
    medium: str = "",
    utm_source: str = "",
    campaign: str = "",
    click_id: str = "",
) -> str:
    return channel(source, medium, utm_source, campaign, click_id)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # 1 Cross-network
        (
            {"source": "Google", "medium": "cpc", "campaign": "summer-Cross-Network"},
            "Cross-network",
        ),
        ({"campaign": "cross-network"}, "Cross-network"),
        # 2 Paid Shopping
        ({"source": "Amazon", "medium": "cpc"}, "Paid Shopping"),
        ({"source": "Google", "medium": "cpc", "campaign": "shopping-q4"}, "Paid Shopping"),
        ({"source": "Google", "medium": "ppc", "campaign": "e-shop"}, "Paid Shopping"),
        # 3 Paid Search
        ({"source": "Google", "medium": "cpc"}, "Paid Search"),
        ({"source": "Bing", "medium": "PPC"}, "Paid Search"),
        ({"source": "DuckDuckGo", "medium": "paid-search"}, "Paid Search"),
        ({"source": "Google", "click_id": "gclid"}, "Paid Search"),
        ({"source": "Bing", "click_id": "msclkid"}, "Paid Search"),
        ({"source": "Google", "utm_source": "adwords"}, "Paid Search"),
        ({"source": "Google", "utm_source": "Google_Ads"}, "Paid Search"),
        ({"source": "Google", "medium": "retargeting"}, "Paid Search"),
        # 4 Paid Social
        ({"source": "Facebook", "medium": "cpc"}, "Paid Social"),
        ({"source": "Facebook", "utm_source": "fb-ads"}, "Paid Social"),
        ({"source": "LinkedIn", "medium": "paid_social"}, "Paid Social"),
        ({"source": "Twitter", "medium": "cpm"}, "Paid Social"),
        # 5 Paid Video
        ({"source": "YouTube", "medium": "cpv"}, "Paid Video"),
        ({"source": "YouTube", "utm_source": "yt-ads"}, "Paid Video"),
        # 6 Display
        ({"source": "example.com", "medium": "display"}, "Display"),
        ({"medium": "Banner"}, "Display"),
        ({"medium": "interstitial"}, "Display"),
        ({"medium": "expandable"}, "Display"),
        ({"source": "adnetwork", "medium": "cpm"}, "Display"),
        # 7 Paid Other
        ({"source": "example.com", "medium": "cpc"}, "Paid Other"),
        ({"medium": "paid"}, "Paid Other"),
        ({"source": "Wikipedia", "medium": "ppc"}, "Paid Other"),
        # 8 Organic Shopping
        ({"source": "Amazon"}, "Organic Shopping"),
        ({"source": "eBay", "medium": "referral"}, "Organic Shopping"),
        ({"source": "newsletter", "campaign": "shopping"}, "Organic Shopping"),
        ({"campaign": "shop-launch"}, "Organic Shopping"),
        # 9 Organic Social
        ({"source": "Facebook"}, "Organic Social"),
        ({"source": "Hacker News"}, "Organic Social"),
        ({"source": "GitHub"}, "Organic Social"),
        ({"source": "example.com", "medium": "social"}, "Organic Social"),
        ({"medium": "Social Media"}, "Organic Social"),
        ({"medium": "sm"}, "Organic Social"),
        # 10 Organic Video
        ({"source": "YouTube"}, "Organic Video"),
        ({"source": "Vimeo"}, "Organic Video"),
        ({"source": "example.com", "medium": "video-embed"}, "Organic Video"),
        # AI Assistants (just before Organic Search)
        ({"source": "ChatGPT"}, "AI Assistants"),
        ({"source": "Perplexity"}, "AI Assistants"),
        ({"source": "Claude", "medium": "referral"}, "AI Assistants"),
        # 11 Organic Search
        ({"source": "Google"}, "Organic Search"),
        ({"source": "Bing"}, "Organic Search"),
        ({"source": "DuckDuckGo"}, "Organic Search"),
        ({"source": "Yahoo!"}, "Organic Search"),
        ({"source": "Ecosia"}, "Organic Search"),
        ({"source": "Google", "click_id": "gbraid"}, "Organic Search"),
        ({"source": "Google", "click_id": "msclkid"}, "Organic Search"),
        ({"source": "Google", "medium": "email"}, "Organic Search"),
        ({"source": "example.com", "medium": "organic"}, "Organic Search"),
        # 12 Email
        ({"source": "Gmail"}, "Email"),
        ({"source": "Outlook.com"}, "Email"),
        ({"source": "newsletter", "utm_source": "newsletter"}, "Email"),
        ({"source": "acme", "medium": "email"}, "Email"),
        ({"source": "acme", "medium": "E-Mail"}, "Email"),
        ({"source": "acme", "medium": "weekly_newsletter"}, "Email"),
        ({"source": "Mailing", "utm_source": "e mail blast"}, "Email"),
        ({"medium": "e_mail"}, "Email"),
        # 13 Affiliates
        ({"source": "partner.example", "medium": "affiliate"}, "Affiliates"),
        ({"medium": "Affiliate"}, "Affiliates"),
        # 14 Audio
        ({"source": "spotify-ad", "medium": "audio"}, "Audio"),
        # 15 SMS
        ({"source": "sms", "utm_source": "sms"}, "SMS"),
        ({"source": "twilio", "medium": "SMS"}, "SMS"),
        # 16 Mobile Push Notifications
        ({"source": "firebase", "utm_source": "firebase"}, "Mobile Push Notifications"),
        ({"source": "app", "medium": "web-push"}, "Mobile Push Notifications"),
        ({"source": "app", "medium": "mobile"}, "Mobile Push Notifications"),
        ({"source": "app", "medium": "in-app-notification"}, "Mobile Push Notifications"),
        # 17 Referral
        ({"source": "markosaric.com"}, "Referral"),
        ({"source": "Wikipedia"}, "Referral"),
        ({"source": "android-app://com.example"}, "Referral"),
        ({"medium": "referral"}, "Referral"),
        ({"medium": "app"}, "Referral"),
        ({"medium": "link"}, "Referral"),
        ({"source": "partner", "medium": "something-else"}, "Referral"),
        # 18 Direct
        ({}, "Direct"),
        ({"medium": "unknown-medium"}, "Direct"),
        ({"campaign": "workshop"}, "Direct"),
        ({"click_id": "gclid"}, "Direct"),
    ],
)
def test_channel(args: dict[str, str], expected: str) -> None:
    assert ch(**args) == expected


def test_every_plausible_channel_is_reachable() -> None:
    samples = [
        ch(campaign="cross-network"),
        ch(source="Amazon", medium="cpc"),
        ch(source="Google", medium="cpc"),
        ch(source="Facebook", medium="cpc"),
        ch(source="YouTube", medium="cpc"),
        ch(medium="display"),
        ch(medium="cpc"),
        ch(source="Amazon"),
        ch(source="Facebook"),
        ch(source="YouTube"),
        ch(source="ChatGPT"),
        ch(source="Google"),
        ch(source="Gmail"),
        ch(medium="affiliate"),
        ch(medium="audio"),
        ch(medium="sms"),
        ch(medium="push"),
        ch(source="example.com"),
        ch(),
    ]
    assert tuple(samples) == PLAUSIBLE_CHANNELS


def test_channel_is_case_insensitive() -> None:
    assert ch(source="GOOGLE", medium="CPC") == "Paid Search"
    assert ch(source="google", click_id="GCLID") == "Paid Search"
    assert ch(source="bing", click_id="msclkid") == "Paid Search"
    assert ch(source="FACEBOOK") == "Organic Social"
    assert ch(campaign="CROSS-NETWORK") == "Cross-network"
    assert ch(utm_source="SMS", source="SMS") == "SMS"


def test_channel_shopping_campaign_pattern() -> None:
    assert ch(campaign="shop") == "Organic Shopping"
    assert ch(campaign="spring_shop") == "Organic Shopping"
    assert ch(campaign="eshop") == "Organic Shopping"
    assert ch(campaign="2024shop") == "Organic Shopping"
    assert ch(campaign="holiday shopping") == "Organic Shopping"
    # "shop" glued to a letter other than "e" is not a shopping campaign.
    assert ch(campaign="workshop") == "Direct"
    assert ch(campaign="bishop") == "Direct"


def test_channel_paid_medium_pattern() -> None:
    for medium in ("cpc", "cpm", "cpa", "cpv", "xcpx", "ppc", "retargeting", "paid", "paidsocial"):
        assert ch(source="example.com", medium=medium) in ("Paid Other", "Display")
    for medium in ("unpaid", "ppc2", "retarget", "c-p-c"):
        assert ch(source="example.com", medium=medium) == "Referral"


def test_channel_with_pipeline_outputs() -> None:
    host, _ = clean_referrer("https://www.google.com/")
    src = referrer_source(host, "example.com", "")
    assert ch(source=src) == "Organic Search"
    src = referrer_source("", "example.com", "adwords")
    assert ch(source=src, utm_source="adwords") == "Paid Search"
    src = referrer_source("", "example.com", "ig")
    assert ch(source=src, medium="paid", utm_source="ig") == "Paid Social"


def test_channel_long_inputs_uncached() -> None:
    long = "x" * 10_000
    assert ch(source=long) == "Referral"
    assert ch(source="Google", medium="cpc", campaign=long) == "Paid Search"
    assert ch(campaign=long + "cross-network") == "Cross-network"


# --------------------------------------------------------------------------------------------
# TinyTrail channels
# --------------------------------------------------------------------------------------------


def test_channel_tuples() -> None:
    assert TINYTRAIL_CHANNELS == (
        "Organic Search",
        "Paid Search",
        "Social",
        "Email",
        "Referral",
        "Direct",
    )
    assert len(PLAUSIBLE_CHANNELS) == 19
    assert PLAUSIBLE_CHANNELS.index("AI Assistants") + 1 == PLAUSIBLE_CHANNELS.index(
        "Organic Search"
    )
    assert PLAUSIBLE_CHANNELS[0] == "Cross-network"
    assert PLAUSIBLE_CHANNELS[-2:] == ("Referral", "Direct")


@pytest.mark.parametrize(
    ("plausible", "expected"),
    [
        ("Organic Search", "Organic Search"),
        ("Paid Search", "Paid Search"),
        ("Organic Social", "Social"),
        ("Paid Social", "Social"),
        ("Email", "Email"),
        ("Direct", "Direct"),
        ("Referral", "Referral"),
        ("Cross-network", "Referral"),
        ("Paid Shopping", "Referral"),
        ("Paid Video", "Referral"),
        ("Display", "Referral"),
        ("Paid Other", "Referral"),
        ("Organic Shopping", "Referral"),
        ("Organic Video", "Referral"),
        ("AI Assistants", "Referral"),
        ("Affiliates", "Referral"),
        ("Audio", "Referral"),
        ("SMS", "Referral"),
        ("Mobile Push Notifications", "Referral"),
    ],
)
def test_tinytrail_channel(plausible: str, expected: str) -> None:
    assert tinytrail_channel(plausible) == expected


def test_tinytrail_channel_email_medium_needs_no_special_case() -> None:
    # TinyTrail's "utm_medium=email -> Email" is already Plausible's Email rule.
    for medium in ("email", "Email", "e-mail", "newsletter"):
        assert tinytrail_channel(ch(source="acme", medium=medium, utm_source="acme")) == "Email"
    assert tinytrail_channel(ch(medium="email")) == "Email"
    # Earlier rules still win, as in TinyTrail's table order (search and social first).
    assert tinytrail_channel(ch(source="Google", medium="email")) == "Organic Search"
    assert tinytrail_channel(ch(source="Facebook", medium="email")) == "Social"


def test_tinytrail_channel_end_to_end() -> None:
    def classify(referrer: str, tagged: str = "", medium: str = "", click_id: str = "") -> str:
        host, _ = clean_referrer(referrer)
        src = referrer_source(host, "example.com", tagged)
        return tinytrail_channel(channel(src, medium, tagged, "", click_id))

    assert classify("https://www.google.com/") == "Organic Search"
    assert classify("https://www.google.com/", click_id="gclid") == "Paid Search"
    assert classify("https://www.bing.com/", medium="cpc") == "Paid Search"
    assert classify("https://t.co/abc123") == "Social"
    assert classify("https://l.facebook.com/") == "Social"
    assert classify("https://mail.google.com/mail/u/0/") == "Email"
    assert classify("", tagged="newsletter", medium="email") == "Email"
    assert classify("https://blog.example.org/post") == "Referral"
    assert classify("https://chatgpt.com/") == "Referral"
    assert classify("") == "Direct"
    assert classify("https://example.com/internal") == "Direct"


def test_tinytrail_channel_sql_cases() -> None:
    cases = tinytrail_channel_sql_cases()
    assert [name for name, _ in cases] == list(TINYTRAIL_CHANNELS)
    as_dict = dict(cases)
    assert as_dict["Organic Search"] == ["Organic Search"]
    assert as_dict["Paid Search"] == ["Paid Search"]
    assert as_dict["Social"] == ["Paid Social", "Organic Social"]
    assert as_dict["Email"] == ["Email"]
    assert as_dict["Direct"] == ["Direct"]
    assert "AI Assistants" in as_dict["Referral"]
    assert "Referral" in as_dict["Referral"]
    # Every Plausible channel appears exactly once, and agrees with tinytrail_channel.
    flat = [p for _, group in cases for p in group]
    assert sorted(flat) == sorted(PLAUSIBLE_CHANNELS)
    for name, group in cases:
        for plausible in group:
            assert tinytrail_channel(plausible) == name
    # Callers get a fresh copy.
    cases[0][1].append("mutated")
    assert tinytrail_channel_sql_cases()[0][1] == ["Organic Search"]
