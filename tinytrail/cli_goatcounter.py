"""`tinytrail import --format goatcounter`, `tinytrail export --format goatcounter`, `api-keys`.

Import and export open the data folder directly when no server holds it, and otherwise go
through the running server's admin endpoints (DuckDB allows one owner). API keys live in the
metadata database, which a running server shares, so `api-keys` always works on it directly.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from typing import IO, TYPE_CHECKING

from tinytrail.cli_remote import fail, import_locally, metadata_repo, post_import
from tinytrail.settings import Settings

if TYPE_CHECKING:
    from tinytrail.ingest.importer import ImportSummary
    from tinytrail.ingest.sites import SiteRules
    from tinytrail.runtime import Runtime


def import_here(settings: Settings, site_ref: str, chunks: Iterator[bytes]) -> ImportSummary | None:
    """Load a GoatCounter CSV into a site of an idle data folder."""
    from tinytrail.ingest.goatcounter_csv import CSVFormatError, GoatCounterImporter

    def load(runtime: Runtime, site: SiteRules) -> ImportSummary | None:
        def remember(items: list[tuple[bool, str, str]]) -> None:
            runtime.goatcounter.repo.remember_titles(site.id, items)

        try:
            return GoatCounterImporter.of(runtime).import_csv(site, chunks, remember)
        except CSVFormatError as exc:
            fail(f"not a GoatCounter CSV export: {exc}")
            return None

    return import_locally(settings, site_ref, load)


def import_via_server(
    server: str, api_key: str, site_ref: str, chunks: Iterator[bytes]
) -> ImportSummary | None:
    return post_import(
        server,
        api_key,
        site_ref,
        chunks,
        path="/api/v1/admin/goatcounter/import",
        content_type="text/csv",
    )


# -- export ---------------------------------------------------------------------------------


def export_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "export",
        help="write a site's events as a GoatCounter CSV export (format version 2)",
        description="Write a site's events as GoatCounter CSV; `.gz` output is gzipped. Without "
        "--server the data folder is opened directly; if a server holds it, it is asked.",
    )
    parser.add_argument("--site", required=True, help="the site's domain or website id")
    parser.add_argument("--format", choices=["goatcounter"], default="goatcounter")
    parser.add_argument("--output", "-o", default="-", help="file to write (default: stdout)")
    parser.add_argument(
        "--start-from-hit-id", dest="start", type=int, default=0, help="export hits after this id"
    )
    parser.add_argument("--data-dir", dest="data_dir", default=None, help="the data folder")
    parser.add_argument("--server", default=None, help="ask this server (default: TINYTRAIL_URL)")
    parser.add_argument("--api-key", dest="api_key", default=None, help="admin key for --server")


def _output(stack: ExitStack, target: str) -> IO[str]:
    if target == "-":
        return sys.stdout
    if target.endswith(".gz"):
        return stack.enter_context(gzip.open(target, "wt", encoding="utf-8", newline=""))
    return stack.enter_context(open(target, "w", encoding="utf-8", newline=""))


def cmd_export(args: argparse.Namespace, settings: Settings, server: str) -> int:
    if args.start < 0:
        fail("--start-from-hit-id must be 0 or more")
        return 2
    with ExitStack() as stack:
        try:
            out = _output(stack, args.output)
        except OSError as exc:
            fail(f"cannot write {args.output}: {exc}")
            return 2
        if server:
            return _export_via_server(server, args.api_key or settings.admin_api_key, args, out)
        return _export_here(settings, args, out)


def _export_here(settings: Settings, args: argparse.Namespace, out: IO[str]) -> int:
    from tinytrail.ingest.goatcounter_csv import write_export
    from tinytrail.ingest.importer import find_site
    from tinytrail.runtime import Runtime

    if not settings.events_path.exists():
        fail(f"no TinyTrail data in {settings.data_dir}")
        return 2
    runtime = Runtime(settings)
    try:
        site = find_site(runtime.sites, args.site)
        if site is None:
            fail(f"no site {args.site!r} in {settings.data_dir}")
            return 2
        rows, last = write_export(
            runtime.store,
            site.id,
            args.start,
            out,
            lambda keys: runtime.goatcounter.repo.titles(site.id, keys),
        )
    finally:
        runtime.stop()
    print(f"exported {rows} rows; last hit id {last if last is not None else '-'}", file=sys.stderr)
    return 0


def _export_via_server(server: str, key: str, args: argparse.Namespace, out: IO[str]) -> int:
    import httpx

    if not key:
        fail("asking a server needs an admin key: --api-key or TINYTRAIL_ADMIN_API_KEY")
        return 2
    url = f"{server.rstrip('/')}/api/v1/admin/goatcounter/export"
    params = {"site_id": args.site, "start_from_hit_id": str(args.start)}
    try:
        with httpx.stream(
            "GET", url, params=params, headers={"X-API-KEY": key}, timeout=None
        ) as response:
            if response.status_code != 200:
                response.read()
                fail(f"{server} answered {response.status_code}: {response.text[:500]}")
                return 1
            for text in response.iter_text():
                out.write(text)
    except httpx.HTTPError as exc:
        fail(f"export through {server} failed: {exc}")
        return 1
    return 0


# -- api keys -------------------------------------------------------------------------------


def api_keys_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("api-keys", help="list, create and delete a user's API keys")
    actions = parser.add_subparsers(dest="action", required=True)
    for name, text in (("list", "list the keys"), ("create", "create a key (shown once)")):
        action = actions.add_parser(name, help=text)
        _who(action)
    create = actions.choices["create"]
    create.add_argument("--name", required=True, help="a label for the key")
    create.add_argument(
        "--scope",
        dest="scopes",
        action="append",
        default=None,
        help="restrict the key (repeatable); none means the user's full rights",
    )
    delete = actions.add_parser("delete", help="delete a key by its id")
    _who(delete)
    delete.add_argument("key_id", metavar="KEY_ID")


def _who(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--user", default=None, help="the user's id")
    group.add_argument("--key", default=None, help="any key of the user (to find the user)")
    parser.add_argument("--data-dir", dest="data_dir", default=None, help="the data folder")


def cmd_api_keys(args: argparse.Namespace, settings: Settings) -> int:
    from tinytrail.api.tinytrail.api_keys import parse_name, parse_scopes
    from tinytrail.errors import InvalidInput, NotFound

    if not settings.data_dir.exists():
        fail(f"no TinyTrail data in {settings.data_dir}")
        return 2
    repo = metadata_repo(settings)
    user_id = args.user
    if args.key:
        principal = repo.authenticate(args.key)
        user_id = principal.user_id if principal is not None else None
    if user_id is None or repo.get_user(user_id) is None:
        fail("no such user (check --user or --key)")
        return 2
    try:
        if args.action == "list":
            for key in repo.list_api_keys(user_id):
                scopes = ",".join(key.scopes) if key.scopes is not None else "(all)"
                print(f"{key.id}\t{key.key_prefix}...\t{key.name}\t{scopes}")
        elif args.action == "create":
            _, plain = repo.create_api_key(
                user_id, parse_name(args.name), parse_scopes(args.scopes)
            )
            print(plain)
            print("tinytrail: shown once; it is stored hashed and encrypted.", file=sys.stderr)
        else:
            found = next((k for k in repo.list_api_keys(user_id) if k.id == args.key_id), None)
            if found is not None and found.is_primary:
                raise InvalidInput("the primary API key cannot be deleted")
            repo.delete_api_key(user_id, args.key_id)
            print(f"deleted {args.key_id}")
    except (InvalidInput, NotFound) as exc:
        fail(exc.message)
        return 2
    return 0
