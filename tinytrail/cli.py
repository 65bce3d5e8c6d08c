"""The `tinytrail` command: serve, settings, import, aggregate, compact, export, api-keys, demo
and the set-up commands create-admin and doctor."""

from __future__ import annotations

import argparse
import gzip
import io
import logging
import os
import sys
import zlib
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any, cast

from tinytrail.cli_remote import (
    fail,
    import_locally,
    post_import,
    running_server,
    show_admin_key,
    store_in_use,
)
from tinytrail.settings import OPTIONS, Settings, SettingsError, load_settings, settings_markdown

if TYPE_CHECKING:
    from tinytrail.ingest.importer import ImportSummary

IMPORT_CHUNK = 1 << 20  # bytes read (and sent) at a time: the file is streamed, never loaded
SHOWN_ERRORS = 20


def _serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="start the server on the embedded stores")
    for option in OPTIONS:
        if option.flag:
            serve.add_argument(option.flag, dest=option.name, default=None, help=option.doc)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from tinytrail.app import create_app
    from tinytrail.runtime import Runtime

    settings = load_settings(flags=vars(args))
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if store_in_use(settings):
        fail(
            f"the data folder {settings.data_dir} is in use by another process (a server?); "
            "one server owns a data folder"
        )
        return 2
    runtime = Runtime(settings)
    key = runtime.bootstrap_admin()
    if key:
        show_admin_key(key, "created the admin account.", bool(settings.admin_api_key))
    print(
        f"TinyTrail: data in {settings.data_dir.resolve()}; "
        f"listening on http://{settings.host}:{settings.port}",
        flush=True,
    )
    uvicorn.run(
        create_app(settings, runtime=runtime, note_address=True),
        host=settings.host,
        port=settings.port,
        access_log=False,  # access logs would write visitors' IP addresses
        # TINYTRAIL_TRUSTED_PROXIES alone decides whose X-Forwarded-For is believed; uvicorn's
        # own proxy-headers middleware (on by default for 127.0.0.1) would override the peer
        # address before we see it, and costs a Python middleware call per request.
        proxy_headers=False,
        # http and loop stay "auto": httptools and uvloop (uvicorn[standard]) when installed.
        log_level=settings.log_level,
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    if args.markdown:
        sys.stdout.write(settings_markdown())
        return 0
    settings = load_settings()
    for option in OPTIONS:
        print(f"{option.env[0]}={getattr(settings, option.name)}")
    return 0


def _import_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "import",
        help="load raw events (newline-delimited JSON, Plausible's columns) into a site",
        description="Load raw events into a site. Without --server the data folder is opened "
        "directly; if a server holds it, the file is sent to that server instead.",
    )
    parser.add_argument(
        "file", metavar="FILE", help="NDJSON file; `-` is stdin, `.gz` is gunzipped"
    )
    parser.add_argument("--site", required=True, help="the site's domain or website id")
    parser.add_argument(
        "--format",
        choices=["plausible", "goatcounter"],
        default="plausible",
        help="plausible: NDJSON with Plausible's columns; goatcounter: GoatCounter's CSV export",
    )
    parser.add_argument("--data-dir", dest="data_dir", default=None, help="the data folder")
    parser.add_argument(
        "--server", default=None, help="send to this server's URL (default: TINYTRAIL_URL)"
    )
    parser.add_argument(
        "--api-key",
        dest="api_key",
        default=None,
        help="admin API key for --server (default: TINYTRAIL_ADMIN_API_KEY)",
    )


def _server_for(settings: Settings, given: str | None, doing: str) -> str | None:
    """Where a command works: the server URL given or found holding the data folder, "" for
    the data folder itself (no server holds it), None when a server holds it but cannot be
    reached (said on stderr)."""
    server = given or os.environ.get("TINYTRAIL_URL", "")
    if not server and store_in_use(settings):
        server = running_server(settings)
        if not server:
            fail(
                f"the data folder {settings.data_dir} is in use by a server that does not "
                "answer at its configured address; pass --server URL (or set TINYTRAIL_URL)"
            )
            return None
        # On stderr: stdout may be the command's data (an export to `-`).
        print(
            f"tinytrail: the data folder is in use; {doing} the server at {server}", file=sys.stderr
        )
    return server


def cmd_import(args: argparse.Namespace) -> int:
    settings = load_settings(flags={"data_dir": args.data_dir})
    server = _server_for(settings, args.server, "sending to")
    if server is None:
        return 2
    unreadable: list[Exception] = []
    with ExitStack() as stack:
        try:
            source = stack.enter_context(_open_input(args.file))
        except OSError as exc:
            fail(f"cannot open {args.file}: {exc}")
            return 2
        chunks = _chunks(source, unreadable)
        if args.format == "goatcounter":
            from tinytrail import cli_goatcounter as goat

            key = args.api_key or settings.admin_api_key
            summary = (
                goat.import_via_server(server, key, args.site, chunks)
                if server
                else goat.import_here(settings, args.site, chunks)
            )
        elif server:
            key = args.api_key or settings.admin_api_key
            summary = _import_via_server(server, key, args.site, chunks)
        else:
            summary = _import_here(settings, args.site, chunks)
    if summary is None:
        return 2
    status = _report(summary)
    if unreadable:
        fail(f"{args.file} ends unreadably ({unreadable[0]}); the lines before it were imported")
        return 2
    return status


def _chunks(source: io.BufferedIOBase, unreadable: list[Exception]) -> Iterator[bytes]:
    """The file in chunks; a read error (a truncated or corrupt `.gz`) ends them.

    The error is kept in `unreadable` instead of raised, so the import still finishes what it
    has: every line read so far, their visits closed, the cut last line skipped as malformed.
    """
    try:
        while chunk := source.read1(IMPORT_CHUNK):
            yield chunk
    except (OSError, EOFError, zlib.error) as exc:
        unreadable.append(exc)


@contextmanager
def _open_input(path: str) -> Iterator[io.BufferedIOBase]:
    if path == "-":
        # Typed as a plain BinaryIO, it is a BufferedReader at run time (read1 is needed).
        yield cast(io.BufferedReader, sys.stdin.buffer)
    elif path.endswith(".gz"):
        with gzip.open(path, "rb") as compressed:
            yield compressed
    else:
        with open(path, "rb") as plain:
            yield plain


def _import_here(
    settings: Settings, site_ref: str, chunks: Iterator[bytes]
) -> ImportSummary | None:
    """Open the data folder in this process (no server holds it) and import into it."""
    from tinytrail.ingest.importer import Importer, split_lines

    return import_locally(
        settings,
        site_ref,
        lambda runtime, site: Importer.of(runtime).import_lines(site, split_lines(chunks)),
    )


def _import_via_server(
    server: str, api_key: str, site_ref: str, chunks: Iterator[bytes]
) -> ImportSummary | None:
    return post_import(
        server,
        api_key,
        site_ref,
        chunks,
        path="/api/v1/admin/import",
        content_type="application/x-ndjson",
    )


def _aggregate_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "aggregate",
        help="build the daily rollups of a date (default: yesterday, UTC) for every site",
    )
    parser.add_argument("--date", default=None, help="YYYY-MM-DD")
    parser.add_argument("--data-dir", dest="data_dir", default=None, help="the data folder")
    parser.add_argument("--server", default=None, help="ask this server (default: TINYTRAIL_URL)")
    parser.add_argument("--api-key", dest="api_key", default=None, help="admin key for --server")


def cmd_aggregate(args: argparse.Namespace) -> int:
    from datetime import date

    try:
        day = date.fromisoformat(args.date) if args.date else None
    except ValueError:
        fail("--date must be YYYY-MM-DD")
        return 2
    settings = load_settings(flags={"data_dir": args.data_dir})
    server = _server_for(settings, args.server, "asking")
    if server is None:
        return 2
    if server:
        import httpx

        body = {"date": day.isoformat()} if day else {}
        key = args.api_key or settings.admin_api_key
        response = httpx.post(
            f"{server.rstrip('/')}/api/v1/admin/aggregate",
            json=body,
            headers={"X-API-KEY": key},
            timeout=None,
        )
        return _report_remote_aggregate(response)
    from tinytrail.runtime import Runtime

    runtime = Runtime(settings)
    try:
        done = runtime.aggregate(day)
    finally:
        runtime.stop()
    print(f"aggregated {len(done)} site(s): {', '.join(done) or '-'}")
    return 0


def _compact_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "compact",
        help="rewrite the event store without its free space (with the server stopped)",
    )
    parser.add_argument("--data-dir", dest="data_dir", default=None, help="the data folder")


def cmd_compact(args: argparse.Namespace) -> int:
    import duckdb

    from tinytrail.storage.compaction import CompactionError, compact

    settings = load_settings(flags={"data_dir": args.data_dir})
    path = settings.events_path
    if not path.exists():
        fail(f"no event store in {settings.data_dir}")
        return 2
    if store_in_use(settings):
        fail(f"the event store {path} is in use (a server?); stop it and run compact again")
        return 2
    os.umask(0o077)  # the copy holds the store's data before it gets the store's mode
    try:
        done = compact(path, memory_limit=settings.duckdb_memory_limit)
    except CompactionError as exc:
        fail(f"compaction failed: {exc}")
        return 1
    except (duckdb.Error, OSError) as exc:
        fail(f"compaction failed, the store is unchanged: {exc}")
        return 1
    mib = 1 << 20
    print(
        f"compacted {path}: {done.before / mib:,.1f} MiB -> {done.after / mib:,.1f} MiB "
        f"({done.before - done.after:,} bytes freed)"
    )
    return 0


def _report_remote_aggregate(response: Any) -> int:
    """The server's answer in words: its message, or why it refused (never a raw envelope)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 200 and isinstance(body.get("data"), dict):
        print(body["data"].get("message", "aggregated"))
        return 0
    error = body.get("error") if isinstance(body, dict) else None
    reason = error.get("message") if isinstance(error, dict) else None
    fail(f"the server refused ({response.status_code}): {reason or response.text[:200]}")
    return 1


def cmd_export(args: argparse.Namespace) -> int:
    from tinytrail import cli_goatcounter as goat

    settings = load_settings(flags={"data_dir": args.data_dir})
    server = _server_for(settings, args.server, "asking")
    if server is None:
        return 2
    return goat.cmd_export(args, settings, server)


def cmd_demo(args: argparse.Namespace) -> int:
    from tinytrail import cli_demo

    settings = load_settings(flags={"data_dir": args.data_dir})
    server = _server_for(settings, args.server, "asking")
    if server is None:
        return 2
    return cli_demo.cmd_demo(args, settings, server)


def cmd_create_admin(args: argparse.Namespace) -> int:
    from tinytrail import cli_setup

    return cli_setup.cmd_create_admin(args, load_settings(flags={"data_dir": args.data_dir}))


def cmd_doctor(args: argparse.Namespace) -> int:
    from tinytrail import cli_setup

    return cli_setup.cmd_doctor(args, load_settings(flags={"data_dir": args.data_dir}))


def cmd_api_keys(args: argparse.Namespace) -> int:
    from tinytrail import cli_goatcounter as goat

    return goat.cmd_api_keys(args, load_settings(flags={"data_dir": args.data_dir}))


def _report(summary: ImportSummary) -> int:
    """Print the outcome; exit 1 only when there were lines and none of them loaded."""
    print(f"loaded {summary.loaded}, skipped {summary.skipped}")
    for line, message in summary.errors[:SHOWN_ERRORS]:
        print(f"  line {line}: {message}")
    if summary.skipped > SHOWN_ERRORS:
        print(f"  ... and {summary.skipped - SHOWN_ERRORS} more skipped lines")
    return 1 if summary.loaded == 0 and summary.skipped else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tinytrail", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    settings = sub.add_parser("settings", help="show the effective settings")
    settings.add_argument("--markdown", action="store_true", help="print the settings table")
    _import_parser(sub)
    _aggregate_parser(sub)
    _compact_parser(sub)
    from tinytrail import cli_goatcounter as goat

    goat.export_parser(sub)
    goat.api_keys_parser(sub)
    from tinytrail.cli_demo import demo_parser
    from tinytrail.cli_setup import setup_parsers

    demo_parser(sub)
    setup_parsers(sub)
    args = parser.parse_args(argv)
    handlers = {
        "serve": cmd_serve,
        "settings": cmd_settings,
        "import": cmd_import,
        "aggregate": cmd_aggregate,
        "compact": cmd_compact,
        "export": cmd_export,
        "api-keys": cmd_api_keys,
        "demo": cmd_demo,
        "create-admin": cmd_create_admin,
        "doctor": cmd_doctor,
    }
    try:
        return handlers[args.command](args)
    except SettingsError as exc:
        print(f"tinytrail: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`tinytrail export ... | head`): stop quietly. Output still
        # buffered would fail again at exit, so stdout now points at /dev/null.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
