"""Every URL the server answers, in one list."""

from __future__ import annotations

from starlette.routing import Route

from tinytrail.api import system
from tinytrail.api.goatcounter.routes import goatcounter_routes
from tinytrail.api.plausible import events as plausible_events
from tinytrail.api.plausible import query as plausible_query
from tinytrail.api.plausible.sites import sites_routes
from tinytrail.api.tinytrail import admin, collect, reports, websites
from tinytrail.api.tinytrail.api_keys import api_key_routes
from tinytrail.api.tinytrail.imports import import_routes
from tinytrail.dashboard.routes import dashboard_routes


def routes() -> list[Route]:
    return [
        Route("/health", system.health, methods=["GET"]),
        Route("/api/health", system.plausible_health, methods=["GET"]),
        Route("/js/tracker.js", system.tracker_js, methods=["GET"]),
        # TinyTrail API
        Route("/api/v1/collect", collect.collect, methods=["POST"]),
        Route("/api/v1/collect", collect.collect_preflight, methods=["OPTIONS"]),
        Route("/api/v1/accounts", admin.list_accounts, methods=["GET"]),
        Route("/api/v1/accounts", admin.create_account, methods=["POST"]),
        Route("/api/v1/accounts/{id}", admin.delete_account, methods=["DELETE"]),
        Route("/api/v1/users", admin.list_users, methods=["GET"]),
        Route("/api/v1/users", admin.create_user, methods=["POST"]),
        Route("/api/v1/users/{id}/api-key", admin.user_api_key, methods=["GET"]),
        Route("/api/v1/users/{id}", admin.delete_user, methods=["DELETE"]),
        Route("/api/v1/websites", websites.list_websites, methods=["GET"]),
        Route("/api/v1/websites", websites.create_website, methods=["POST"]),
        Route("/api/v1/websites/{id}", websites.update_website, methods=["PATCH"]),
        Route("/api/v1/websites/{id}", websites.delete_website, methods=["DELETE"]),
        *import_routes(),
        Route("/api/v1/admin/aggregate", admin.aggregate, methods=["POST"]),
        Route("/api/v1/reports/summary", reports.summary, methods=["GET"]),
        Route("/api/v1/reports/pages", reports.pages, methods=["GET"]),
        Route("/api/v1/reports/sources", reports.sources, methods=["GET"]),
        Route("/api/v1/reports/devices", reports.devices, methods=["GET"]),
        Route("/api/v1/reports/flow", reports.flow, methods=["GET"]),
        Route("/api/v1/reports/funnel", reports.funnel, methods=["GET"]),
        Route("/api/v1/reports/realtime", reports.realtime, methods=["GET"]),
        Route("/api/v1/reports/custom-events", reports.custom_events, methods=["GET"]),
        Route("/api/v1/reports/timeseries", reports.timeseries, methods=["GET"]),
        # Plausible Events API
        Route("/api/event", plausible_events.post_event, methods=["POST"]),
        Route("/api/event", plausible_events.event_preflight, methods=["OPTIONS"]),
        # Plausible Stats API v2
        Route("/api/v2/query", plausible_query.post_query, methods=["POST"]),
        *sites_routes(),
        *api_key_routes(),
        # GoatCounter API v0 and its /count tracker endpoint
        *goatcounter_routes(),
        # The web dashboard (HTML pages, its data endpoint and static files)
        *dashboard_routes(),
    ]
