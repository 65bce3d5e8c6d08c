"""Referrer cleaning, source naming and acquisition-channel classification.

Everything here is a pure function of its arguments. The functions run once per ingested event,
so the hot ones are memoised: real traffic repeats the same few referrers and UTM combinations
over and over, and a cache hit costs far less than re-parsing a URL or re-running the rules.

Semantics follow Plausible (reference spec §4.4 and §4.5):

* `clean_referrer` gives the `visit:referrer` form of a Referer header;
* `referrer_source` gives `visit:source` (tagged source first, then the referrer's known name,
  then the bare host);
* `channel` gives `visit:channel` (Plausible's ordered first-match rules);
* `tinytrail_channel` folds that into the six channels of the TinyTrail reports API.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

__all__ = [
    "PLAUSIBLE_CHANNELS",
    "SOURCE_CATEGORIES",
    "TINYTRAIL_CHANNELS",
    "channel",
    "clean_referrer",
    "referrer_source",
    "source_category",
    "tinytrail_channel",
    "tinytrail_channel_sql_cases",
]

# --------------------------------------------------------------------------------------------
# Known sources
# --------------------------------------------------------------------------------------------

SOURCE_CATEGORIES: tuple[str, ...] = ("search", "social", "email", "video", "shopping", "ai")

# The table is kept as text so that each source stays on one readable line (the formatter would
# explode tuple literals) and so that adding a source is a one-line, data-only change.
#
# Format: `[category]` starts a group (`[none]` = a known name that belongs to no category);
# every other line is `Display name | hosts | aliases`.
# * hosts: space separated. Matching is exact first, then by parent domain, so `facebook.com`
#   also covers `l.facebook.com`; list a more specific host only when it names a different
#   source (`mail.google.com` is Gmail, not Google). `brand.*` matches the brand under any
#   country TLD (`google.co.uk`, `google.com.br`, `yandex.kz`). `android-app://package`
#   matches referrers sent by Android apps.
# * aliases: comma separated (some contain spaces); extra spellings accepted in a tagged source
#   (utm_source/source/ref). The display name and every exact host are accepted anyway.
#   Aliases ending in `ad`/`ads` (and `adwords`) mark the visit as paid, as Plausible does.
# A name may take several lines to stay within the line-length limit.
#
# Categories follow Google's GA4 source-category list plus Plausible's overrides (Hacker News,
# GitHub, Telegram, Slack, Discord, Threads, Bluesky, Mastodon, ... are social; Yahoo!, Ecosia,
# Brave, Sogou are search; Gmail is email; Temu is shopping; AI assistants get their own group).
_SOURCE_TABLE = """
[search]
Google           | google.* | adwords, gads, google ads, google-ads, google_ads, googleads
Google           | android-app://com.google.android.googlequicksearchbox |
Bing             | bing.com ntp.msn.com | bing ads, bing-ads, bingads, microsoft ads, microsoft-ads
DuckDuckGo       | duckduckgo.com | ddg
Yahoo!           | yahoo.com search.yahoo.com yahoo.co.jp | yahoo, yahoo-ads
Yandex           | yandex.* ya.ru | yandex-ads, yandex_direct
Baidu            | baidu.com | baidu-ads
Ecosia           | ecosia.org |
Brave            | search.brave.com | brave search
Qwant            | qwant.com lite.qwant.com |
Startpage        | startpage.com startpage.nl | ixquick
Kagi             | kagi.com |
Mojeek           | mojeek.com |
Swisscows        | swisscows.com |
MetaGer          | metager.org metager.de |
Presearch        | presearch.com presearch.org |
Naver            | naver.com search.naver.com m.search.naver.com |
Daum             | daum.net search.daum.net |
Seznam           | seznam.cz search.seznam.cz |
Sogou            | sogou.com m.sogou.com wap.sogou.com |
360 Search       | so.com 360.cn | 360
Ask              | ask.com |
AOL              | aol.com search.aol.com search.aol.co.uk suche.aol.de |
MSN              | msn.com |
Dogpile          | dogpile.com |
Lycos            | lycos.com |
Excite           | excite.com |
Rambler          | rambler.ru nova.rambler.ru |
Mail.ru Search   | go.mail.ru |
Onet             | onet.pl |
Coc Coc          | coccoc.com |
Petal Search     | petalsearch.com |
Yep              | yep.com |
Lilo             | search.lilo.org |
Startsiden       | startsiden.no |

[social]
Facebook         | facebook.* fb.com fb.me | fb, fcb, fb-ads, fbad, fbads, facebook-ads, facebook_ad
Facebook         | android-app://com.facebook.katana | facebook_ads, facebook_feed_ad, meta ads
Instagram        | instagram.com | ig, insta, instagram-ads, instagram_ads, ig-ads
Instagram        | android-app://com.instagram.android |
Messenger        | messenger.com | facebook messenger
Twitter          | twitter.com t.co x.com tweetdeck.com | tw, x, x (twitter), twitter-ads, x-ads
Twitter          | android-app://com.twitter.android |
LinkedIn         | linkedin.com lnkd.in android-app://com.linkedin.android | li, linkedin-ads
Reddit           | reddit.com redd.it android-app://com.reddit.frontpage | reddit-ads
Hacker News      | news.ycombinator.com | hn, hackernews, hacker-news
Lobsters         | lobste.rs | lobsters
Pinterest        | pinterest.* pin.it android-app://com.pinterest | pinterest-ads
TikTok           | tiktok.com vm.tiktok.com | tiktokads, tiktok-ads, tik.tok
Snapchat         | snapchat.com | snapchat-ads
Tumblr           | tumblr.com |
Mastodon         | mastodon.social mastodon.online mstdn.social fosstodon.org hachyderm.io |
Mastodon         | infosec.exchange mas.to android-app://org.joinmastodon.android |
Bluesky          | bsky.app go.bsky.app | bsky
Threads          | threads.net threads.com |
Telegram         | t.me telegram.org telegram.me android-app://org.telegram.messenger | tg
WhatsApp         | whatsapp.com wa.me android-app://com.whatsapp |
Discord          | discord.com discordapp.com discord.gg android-app://com.discord |
Slack            | slack.com android-app://com.slack |
Microsoft Teams  | teams.microsoft.com teams.live.com statics.teams.cdn.office.net | teams
Microsoft Teams  | android-app://com.microsoft.teams |
VKontakte        | vk.com vkontakte.ru vk.ru | vk
Odnoklassniki    | ok.ru odnoklassniki.ru |
Weibo            | weibo.com weibo.cn |
WeChat           | wechat.com weixin.qq.com |
LINE             | line.me |
KakaoTalk        | kakao.com kakaocorp.com | kakao
Quora            | quora.com |
Medium           | medium.com |
Product Hunt     | producthunt.com | producthunt
GitHub           | github.com |
Stack Overflow   | stackoverflow.com | stackoverflow
Stack Exchange   | stackexchange.com superuser.com serverfault.com askubuntu.com |
Slashdot         | slashdot.org |
Digg             | digg.com |
Flipboard        | flipboard.com |
Pocket           | getpocket.com pocket.co |
Xing             | xing.com |
Nextdoor         | nextdoor.com |
Flickr           | flickr.com |
DeviantArt       | deviantart.com |
Goodreads        | goodreads.com |
Yelp             | yelp.* |
Tripadvisor      | tripadvisor.* |
Trustpilot       | trustpilot.com |
Glassdoor        | glassdoor.com |
Zhihu            | zhihu.com |
Douban           | douban.com |
Steam Community  | steamcommunity.com |
Lemmy            | lemmy.world lemmy.ml |
DEV Community    | dev.to |
Indie Hackers    | indiehackers.com |
Hatena Bookmark  | b.hatena.ne.jp |
Mixi             | mixi.jp |
Xiaohongshu      | xiaohongshu.com | rednote

[email]
Gmail            | mail.google.com inbox.google.com android-app://com.google.android.gm |
Outlook.com      | outlook.live.com outlook.office.com outlook.office365.com mail.live.com | outlook
Outlook.com      | android-app://com.microsoft.office.outlook |
Yahoo! Mail      | mail.yahoo.com mail.yahoo.co.jp | yahoo mail
Proton Mail      | mail.proton.me mail.protonmail.com | protonmail
iCloud Mail      | icloud.com | icloud
AOL Mail         | mail.aol.com |
Yandex Mail      | mail.yandex.ru mail.yandex.com |
Mail.ru          | e.mail.ru touch.mail.ru |
GMX              | gmx.net gmx.de gmx.com gmx.at gmx.ch |
WEB.DE           | web.de |
Zoho Mail        | mail.zoho.com mail.zoho.eu |
Fastmail         | fastmail.com |
Tuta             | tuta.com app.tuta.com mail.tutanota.com | tutanota
QQ Mail          | mail.qq.com |
163 Mail         | mail.163.com |
Mail.com         | mail.com |
T-Online Mail    | email.t-online.de |
Seznam Email     | email.seznam.cz |
Mailchimp        | mailchi.mp campaign-archive.com | mailchimp

[video]
YouTube          | youtube.com youtu.be android-app://com.google.android.youtube | yt, yt-ads
YouTube          | | youtube-ads, youtube_ads
Vimeo            | vimeo.com |
Twitch           | twitch.tv |
Dailymotion      | dailymotion.com dai.ly |
Netflix          | netflix.com |
Hulu             | hulu.com |
Disney+          | disneyplus.com | disneyplus
TED              | ted.com |
Wistia           | wistia.com wistia.net |
Bilibili         | bilibili.com b23.tv |
Youku            | youku.com |
iQIYI            | iqiyi.com iq.com |
Rumble           | rumble.com |
Odysee           | odysee.com |
Loom             | loom.com |
Kick             | kick.com |

[shopping]
Amazon           | amazon.* amzn.to a.co | amazon-ads, amazon_ads
eBay             | ebay.* |
Etsy             | etsy.com |
AliExpress       | aliexpress.com aliexpress.us |
Alibaba          | alibaba.com |
Walmart          | walmart.com |
Shopify          | shopify.com shop.app |
Google Shopping  | shopping.google.com |
IGShopping       | | instagram shopping
Mercado Libre    | mercadolibre.* mercadolivre.com.br | mercadolibre
Temu             | temu.com |
Best Buy         | bestbuy.com |
Zalando          | zalando.* |
Shein            | shein.com |
Idealo           | idealo.* |
Flipkart         | flipkart.com |
Allegro          | allegro.pl |
bol.com          | bol.com |
Stripe           | stripe.com checkout.stripe.com |

[ai]
ChatGPT          | chatgpt.com chat.openai.com android-app://com.openai.chatgpt | openai
Perplexity       | perplexity.ai |
Claude           | claude.ai |
Gemini           | gemini.google.com bard.google.com | google gemini, bard
Copilot          | copilot.microsoft.com | microsoft copilot
DeepSeek         | deepseek.com chat.deepseek.com |
Grok             | grok.com |
Phind            | phind.com |
Le Chat          | chat.mistral.ai | mistral
Meta AI          | meta.ai |
You.com          | you.com |
Poe              | poe.com |
Kimi             | kimi.com kimi.ai |
Qwen             | chat.qwen.ai |

[none]
Wikipedia        | wikipedia.org |
Linktree         | linktr.ee | linktree
Substack         | substack.com |
Feedly           | feedly.com |
"""


# Aliases with these endings name ad networks (`fb-ads`, `yt-ads`, `google_ads`, `fbad`), so a
# visit tagged with one is paid even when the campaign forgot utm_medium. `adwords` is the one
# ad-network alias without such an ending.
_PAID_ALIAS_ENDINGS = ("ad", "ads")
_PAID_EXTRA_ALIASES = frozenset({"adwords"})


def _parse_source_table(
    text: str,
) -> tuple[dict[str, str], dict[str, str], dict[str, str], dict[str, str], frozenset[str]]:
    """Turn `_SOURCE_TABLE` into lookup dicts.

    Returns (name by tagged key, name by exact host, name by `brand.*` brand, category by
    lowercased name/alias/host, paid aliases). Raises on a malformed or contradictory table, so
    a bad edit fails at import (and in the unit tests) instead of misclassifying traffic.
    """
    name_by_key: dict[str, str] = {}
    name_by_host: dict[str, str] = {}
    name_by_brand: dict[str, str] = {}
    category_by_key: dict[str, str] = {}
    category_by_name: dict[str, str] = {}
    paid: set[str] = set()
    category: str | None = None

    def claim(table: dict[str, str], key: str, value: str) -> None:
        previous = table.setdefault(key, value)
        if previous != value:
            raise ValueError(f"source table: {key!r} maps to both {previous!r} and {value!r}")

    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            category = line[1:-1]
            if category != "none" and category not in SOURCE_CATEGORIES:
                raise ValueError(f"source table line {line_no}: unknown category {category!r}")
            continue
        fields = [field.strip() for field in line.split("|")]
        if category is None or len(fields) != 3 or not fields[0]:
            raise ValueError(f"source table line {line_no}: malformed: {raw!r}")
        name, hosts, aliases = fields
        cat = "" if category == "none" else category
        claim(category_by_name, name, cat)
        keys = [name.lower()]
        for host in hosts.lower().split():
            if host.endswith(".*"):
                claim(name_by_brand, host[:-2], name)
            else:
                claim(name_by_host, host, name)
                keys.append(host)
        for alias in (a.strip().lower() for a in aliases.split(",")):
            if alias:
                keys.append(alias)
                if alias.endswith(_PAID_ALIAS_ENDINGS) or alias in _PAID_EXTRA_ALIASES:
                    paid.add(alias)
        for key in keys:
            claim(name_by_key, key, name)
            if cat:
                claim(category_by_key, key, cat)
    return name_by_key, name_by_host, name_by_brand, category_by_key, frozenset(paid)


_NAME_BY_KEY, _NAME_BY_HOST, _NAME_BY_BRAND, _CATEGORY_BY_KEY, _PAID_SOURCES = _parse_source_table(
    _SOURCE_TABLE
)

# Memoising only short inputs keeps the caches' memory bounded: a hostile client could otherwise
# park thousands of megabyte-long strings in them. Long inputs are rare and simply recomputed.
_CACHE_MAX_LEN = 512
_CACHE_SIZE = 8192

_ANDROID_APP = "android-app://"

# Second-level labels that registries put under a country code (`google.co.uk`,
# `amazon.com.br`, `yahoo.ne.jp`); used only to recognise `brand.*` hosts.
_SECOND_LEVEL = frozenset({"com", "co", "net", "org", "ne", "or", "ac", "edu", "gov", "gob", "go"})


def _is_tld_tail(labels: list[str]) -> bool:
    """True for what can follow a brand in `brand.*`: `com`, `de`, `co.uk`, `com.br`, ...

    Deliberately narrow (one or two short alphabetic labels) so that `google.evil.example`
    or `google.attacker.io` are not mistaken for Google.
    """
    if len(labels) == 1:
        tld = labels[0]
        return 2 <= len(tld) <= 3 and tld.isascii() and tld.isalpha()
    if len(labels) == 2:
        second, tld = labels
        return second in _SECOND_LEVEL and len(tld) == 2 and tld.isascii() and tld.isalpha()
    return False


@lru_cache(maxsize=_CACHE_SIZE)
def _known_name_for_host(host: str) -> str:
    """Display name of a known referrer host (lowercased, `www.`-less), or "" if unknown.

    Exact host first, then its parent domains (so `de.search.yahoo.com` finds
    `search.yahoo.com` and `en.m.wikipedia.org` finds `wikipedia.org`), then `brand.*`.
    The most specific listed host wins, which is how `mail.google.com` stays Gmail.
    """
    if len(host) > 253:
        return ""
    name = _NAME_BY_HOST.get(host)
    if name is not None:
        return name
    if host.startswith(_ANDROID_APP):
        # App ids are not domains; parent lookups would only produce false matches.
        return ""
    dot = host.find(".")
    while dot != -1:
        parent = host[dot + 1 :]
        if "." not in parent:
            # Never look up a bare TLD.
            break
        name = _NAME_BY_HOST.get(parent)
        if name is not None:
            return name
        dot = host.find(".", dot + 1)
    labels = host.split(".")
    for index, label in enumerate(labels[:-1]):
        name = _NAME_BY_BRAND.get(label)
        if name is not None and _is_tld_tail(labels[index + 1 :]):
            return name
    return ""


def _strip_www(host: str) -> str:
    return host[4:] if host.startswith("www.") else host


# --------------------------------------------------------------------------------------------
# Referrer cleaning
# --------------------------------------------------------------------------------------------

# Plausible keeps only these: other schemes (file:, about:, chrome-extension:, javascript:)
# say nothing about where a visitor came from.
_REFERRER_SCHEMES = frozenset({"http", "https", "android-app"})
_NO_REFERRER = ("", "")
# Browsers cap the Referer header near 4 KB; beyond 2000 characters (the page-path cap used by
# the URL splitter) a cleaned referrer is noise that would only bloat storage.
_MAX_CLEANED = 2000
# Characters that cannot occur in a real host name; a host containing one is a forged header.
_BAD_HOST_CHARS = re.compile(r"[\s\x00-\x1f\x7f<>\"'`{}|\\^%/@?#\[\]]")


def clean_referrer(referrer: str) -> tuple[str, str]:
    """Return (host, cleaned) for a raw Referer value, or ("", "") if it names no site.

    host: lowercased host without a leading `www.`; cleaned: host + path without trailing
    slashes, query and fragment (Plausible's `visit:referrer`, e.g. `t.co/fzWTE9OTPt`).
    Android app referrers keep their scheme in both (`android-app://com.slack`), as Plausible
    shows them, which also keeps them apart from web hosts. Never raises.
    """
    if len(referrer) <= _CACHE_MAX_LEN:
        return _clean_referrer_cached(referrer)
    return _clean_referrer(referrer)


def _clean_referrer(referrer: str) -> tuple[str, str]:
    try:
        parts = urlsplit(referrer.strip())
        scheme = parts.scheme
        host = parts.hostname
    except ValueError:
        # urlsplit rejects e.g. unbalanced IPv6 brackets; such a header names no site.
        return _NO_REFERRER
    if scheme not in _REFERRER_SCHEMES or not host:
        return _NO_REFERRER
    # `www.` first: a bare `www.` is no host at all; a trailing root dot is cosmetic.
    host = _strip_www(host).rstrip(".")
    if (
        not host
        or len(host) > 253
        or not host.isprintable()
        or _BAD_HOST_CHARS.search(host) is not None
    ):
        return _NO_REFERRER
    path = parts.path
    if not path.isprintable():
        # Control characters and lone surrogates would break storage (UTF-8) and display.
        path = "".join(char for char in path if char.isprintable())
    path = path.rstrip("/")
    if scheme == "android-app":
        host = _ANDROID_APP + host
    return host, (host + path)[:_MAX_CLEANED]


_clean_referrer_cached = lru_cache(maxsize=_CACHE_SIZE)(_clean_referrer)


# --------------------------------------------------------------------------------------------
# Source
# --------------------------------------------------------------------------------------------

# Plausible ignores `localhost`; a developer's own machine is never an acquisition source.
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def referrer_source(referrer_host: str, page_host: str, tagged_source: str) -> str:
    """Plausible's `visit:source`.

    A tagged source (first of utm_source/source/ref, passed by the caller) always wins and is
    normalised case-insensitively through the alias table (`GOOGLE` -> `Google`, `ig` ->
    `Instagram`, `chatgpt.com` -> `ChatGPT`); unknown tags are kept verbatim. Otherwise the
    referrer host (from `clean_referrer`) gives the source unless it is empty, the page's own
    host (exact comparison after `www.` stripping) or localhost: a known host yields its
    display name, an unknown one the host itself. A blank tag counts as absent.
    """
    tagged = tagged_source.strip()
    if tagged:
        if len(tagged) <= _CACHE_MAX_LEN:
            return _normalise_tagged_cached(tagged)
        return _normalise_tagged(tagged)
    if not referrer_host:
        return ""
    if len(referrer_host) + len(page_host) <= _CACHE_MAX_LEN:
        return _source_from_referrer_cached(referrer_host, page_host)
    return _source_from_referrer(referrer_host, page_host)


def _normalise_tagged(tagged: str) -> str:
    key = tagged.lower()
    name = _NAME_BY_KEY.get(key)
    if name is not None:
        return name
    if "." in key and " " not in key:
        # Tags are often domains (`utm_source=google.de`, `news.ycombinator.com`); resolving
        # them like referrer hosts merges tagged and untagged visits from the same site.
        name = _known_name_for_host(_strip_www(key))
        if name:
            return name
    return tagged


_normalise_tagged_cached = lru_cache(maxsize=_CACHE_SIZE)(_normalise_tagged)


def _source_from_referrer(referrer_host: str, page_host: str) -> str:
    host = _strip_www(referrer_host.strip().lower())
    if not host or host in _LOCAL_HOSTS:
        return ""
    if host == _strip_www(page_host.strip().lower()):
        # Self-referral: navigation inside the site (or a reload) is not an acquisition.
        return ""
    return _known_name_for_host(host) or host


_source_from_referrer_cached = lru_cache(maxsize=_CACHE_SIZE)(_source_from_referrer)


def source_category(source: str) -> str:
    """Category of a source name: search, social, email, video, shopping, ai, or ""."""
    if len(source) <= _CACHE_MAX_LEN:
        return _source_category_cached(source)
    return _source_category(source)


def _source_category(source: str) -> str:
    key = source.strip().lower()
    category = _CATEGORY_BY_KEY.get(key)
    if category is not None:
        return category
    if "." in key and " " not in key:
        # Raw host names (imported data, unnormalised tags) categorise like their site.
        name = _known_name_for_host(_strip_www(key))
        if name:
            return _CATEGORY_BY_KEY.get(name.lower(), "")
    return ""


_source_category_cached = lru_cache(maxsize=_CACHE_SIZE)(_source_category)


# --------------------------------------------------------------------------------------------
# Acquisition channel
# --------------------------------------------------------------------------------------------

# In rule order (first match wins). AI Assistants sits just before Organic Search, the place
# Plausible's newest rules give it: AI assistants are search-like, so they must be tested
# before search, yet after the paid/organic social, shopping and video rules so a tagged paid
# campaign still lands in a paid channel.
PLAUSIBLE_CHANNELS: tuple[str, ...] = (
    "Cross-network",
    "Paid Shopping",
    "Paid Search",
    "Paid Social",
    "Paid Video",
    "Display",
    "Paid Other",
    "Organic Shopping",
    "Organic Social",
    "Organic Video",
    "AI Assistants",
    "Organic Search",
    "Email",
    "Affiliates",
    "Audio",
    "SMS",
    "Mobile Push Notifications",
    "Referral",
    "Direct",
)

_DISPLAY_MEDIUMS = frozenset({"display", "banner", "expandable", "interstitial", "cpm"})
_SOCIAL_MEDIUMS = frozenset(
    {"social", "social-network", "social-media", "sm", "social network", "social media"}
)
_EMAIL_TAGS = ("email", "e-mail", "e_mail", "e mail", "newsletter")
_REFERRAL_MEDIUMS = frozenset({"referral", "app", "link"})
# Plausible's campaign test `^(.*(([^a-df-z]|^)shop|shopping).*)$`: "shopping" anywhere, or
# "shop" at the start or after anything but a letter other than "e" (so "e-shop"/"eshop" count
# while "workshop" does not).
_SHOPPING_CAMPAIGN = re.compile(r"(?:^|[^a-df-z])shop|shopping")


def _is_paid_medium(medium: str) -> bool:
    # Plausible's `^(.*cp.*|ppc|retargeting|paid.*)$` spelled out: cpc, cpm, cpa, cpv, ...
    return "cp" in medium or medium in ("ppc", "retargeting") or medium.startswith("paid")


def inferred_medium(source: str, click_id: str) -> str:
    """The medium of an auto-tagged ad visit without utm_medium (Plausible's reference 4.4):
    `(gclid)` for Google with gclid, `(msclkid)` for Bing with msclkid, else ""."""
    if (source, click_id) in (("Google", "gclid"), ("Bing", "msclkid")):
        return f"({click_id})"
    return ""


def channel(source: str, utm_medium: str, utm_source: str, utm_campaign: str, click_id: str) -> str:
    """Plausible's acquisition channel (`visit:channel`); first matching rule wins.

    source: the resolved source (`referrer_source`); utm_source: the raw tag; click_id: the name
    of the first click-id parameter present (`gclid`, `gbraid`, `wbraid`, `msclkid`, `fbclid`,
    `twclid`) or "". Comparisons are case-insensitive.
    """
    total = len(source) + len(utm_medium) + len(utm_source) + len(utm_campaign) + len(click_id)
    if total <= _CACHE_MAX_LEN:
        return _channel_cached(source, utm_medium, utm_source, utm_campaign, click_id)
    return _channel(source, utm_medium, utm_source, utm_campaign, click_id)


def _channel(
    source: str, utm_medium: str, utm_source: str, utm_campaign: str, click_id: str
) -> str:
    src = source.strip().lower()
    medium = utm_medium.strip().lower()
    tag = utm_source.strip().lower()
    campaign = utm_campaign.strip().lower()
    click = click_id.strip().lower()
    category = _source_category(src)
    paid_medium = _is_paid_medium(medium)
    # Ad-network tags (`adwords`, `fb-ads`, ...) are paid whatever the medium says.
    paid = paid_medium or tag in _PAID_SOURCES
    shopping = category == "shopping" or _SHOPPING_CAMPAIGN.search(campaign) is not None

    if "cross-network" in campaign:
        return "Cross-network"
    if shopping and paid_medium:
        return "Paid Shopping"
    # Auto-tagged ads carry only a click id: Google Ads adds gclid, Microsoft Ads msclkid.
    # Plausible counts only gclid for Google (not the iOS gbraid/wbraid), and so do we.
    if (
        (category == "search" and paid)
        or (src == "google" and click == "gclid")
        or (src == "bing" and click == "msclkid")
    ):
        return "Paid Search"
    if category == "social" and paid:
        return "Paid Social"
    if category == "video" and paid:
        return "Paid Video"
    if medium in _DISPLAY_MEDIUMS:
        return "Display"
    if paid_medium:
        return "Paid Other"
    if shopping:
        return "Organic Shopping"
    if category == "social" or medium in _SOCIAL_MEDIUMS:
        return "Organic Social"
    if category == "video" or "video" in medium:
        return "Organic Video"
    if category == "ai":
        return "AI Assistants"
    # `utm_medium=organic` is GA4's and Plausible's documented organic-search marker; the
    # Plausible code we read omits it, the docs include it, and we follow the docs.
    if category == "search" or medium == "organic":
        return "Organic Search"
    if category == "email" or any(t in tag or t in medium for t in _EMAIL_TAGS):
        return "Email"
    if medium == "affiliate":
        return "Affiliates"
    if medium == "audio":
        return "Audio"
    if tag == "sms" or medium == "sms":
        return "SMS"
    if (
        medium.endswith("push")
        or "mobile" in medium
        or "notification" in medium
        or src == "firebase"
    ):
        return "Mobile Push Notifications"
    if medium in _REFERRAL_MEDIUMS or src:
        return "Referral"
    return "Direct"


_channel_cached = lru_cache(maxsize=_CACHE_SIZE)(_channel)


# --------------------------------------------------------------------------------------------
# TinyTrail channels
# --------------------------------------------------------------------------------------------

TINYTRAIL_CHANNELS: tuple[str, ...] = (
    "Organic Search",
    "Paid Search",
    "Social",
    "Email",
    "Referral",
    "Direct",
)

# The TinyTrail API also says "utm_medium=email -> Email". Plausible's Email rule already
# catches any medium containing "email", so the mapping needs only the Plausible channel. The
# rules before Email still win, though: `utm_medium=email` with a search or social source stays
# Organic Search / Social (matching the TinyTrail table's own order, which lists those first),
# and with a video, shopping or AI source, a shopping campaign or a cross-network campaign it
# lands in Referral. Keeping one source of truth (the Plausible channel) lets the query engine
# derive TinyTrail channels with a plain SQL CASE over the stored column.
_TINYTRAIL_BY_PLAUSIBLE: dict[str, str] = {
    "Organic Search": "Organic Search",
    "Paid Search": "Paid Search",
    "Organic Social": "Social",
    "Paid Social": "Social",
    "Email": "Email",
    "Direct": "Direct",
}


def tinytrail_channel(plausible_channel: str) -> str:
    """Fold a Plausible channel into the TinyTrail API's six; anything unlisted is Referral."""
    return _TINYTRAIL_BY_PLAUSIBLE.get(plausible_channel, "Referral")


def tinytrail_channel_sql_cases() -> list[tuple[str, list[str]]]:
    """For each TinyTrail channel (API order), the Plausible channels (rule order) behind it.

    A fresh list each call, so a caller may modify it without affecting others.
    """
    return [
        (name, [p for p in PLAUSIBLE_CHANNELS if tinytrail_channel(p) == name])
        for name in TINYTRAIL_CHANNELS
    ]
