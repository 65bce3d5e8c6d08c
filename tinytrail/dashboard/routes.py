"""Every URL of the web dashboard."""

from __future__ import annotations

from starlette.routing import Route

from tinytrail.dashboard import data, pages, settings_pages, signin
from tinytrail.dashboard.rendering import static_file


def dashboard_routes() -> list[Route]:
    settings_path = "/sites/{domain}/settings/{section}"
    return [
        Route("/", pages.home, methods=["GET"]),
        Route("/login", signin.login_form, methods=["GET"]),
        Route("/login", signin.login, methods=["POST"]),
        Route("/logout", signin.logout, methods=["POST"]),
        Route("/sites", pages.sites_list, methods=["GET"]),
        Route("/sites", pages.create_site, methods=["POST"]),
        Route("/sites/new", pages.new_site_form, methods=["GET"]),
        Route("/sites/{domain}", pages.site_dashboard, methods=["GET"]),
        Route("/sites/{domain}/snippet", pages.site_snippet, methods=["GET"]),
        Route("/sites/{domain}/settings", settings_pages.settings_page, methods=["GET"]),
        Route(settings_path, settings_pages.settings_page, methods=["GET"]),
        Route(settings_path, settings_pages.settings_change, methods=["POST"]),
        Route("/share/{domain}", pages.shared_dashboard, methods=["GET"]),
        Route("/dashboard/api/{domain}/query", data.query, methods=["POST"]),
        Route("/dashboard/api/{domain}/funnel", data.funnel, methods=["POST"]),
        Route("/dashboard/static/{name}", static_file, methods=["GET"]),
    ]
