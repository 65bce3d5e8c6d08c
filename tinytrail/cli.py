"""The `tinytrail` command: serve, settings, and (as they land) import, export, aggregate, demo."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from tinytrail.settings import OPTIONS, SettingsError, load_settings, settings_markdown


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
    runtime = Runtime(settings)
    key = runtime.bootstrap_admin()
    if key:
        # Printed once, to the terminal only; it is stored hashed and encrypted.
        print("TinyTrail: created the admin account.", flush=True)
        print(f"TinyTrail: admin API key: {key}", flush=True)
        print("TinyTrail: keep it safe; use it as the X-API-KEY header.", flush=True)
    print(
        f"TinyTrail: data in {settings.data_dir.resolve()}; "
        f"listening on http://{settings.host}:{settings.port}",
        flush=True,
    )
    uvicorn.run(
        create_app(settings, runtime=runtime),
        host=settings.host,
        port=settings.port,
        access_log=False,  # access logs would write visitors' IP addresses
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tinytrail", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    settings = sub.add_parser("settings", help="show the effective settings")
    settings.add_argument("--markdown", action="store_true", help="print the settings table")
    args = parser.parse_args(argv)
    handlers = {"serve": cmd_serve, "settings": cmd_settings}
    try:
        return handlers[args.command](args)
    except SettingsError as exc:
        print(f"tinytrail: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
