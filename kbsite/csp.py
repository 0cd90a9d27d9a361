"""A Content-Security-Policy on every response.

The site's pages load scripts and styles from its own static files only (no inline script, no
style attribute), so the policy allows nothing else: an injected ``<script>`` or ``onerror=``
would not run even if some escaping were ever missed. Swagger UI (``/api/docs/``) and Django's
admin keep a few inline styles of their own, so those paths may also use inline styles (never
inline scripts). A view can set its own header; it is then left alone.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

BASE = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    # The favicon is a data: URL; Swagger UI draws some icons as data: images.
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
INLINE_STYLES = {**BASE, "style-src": "'self' 'unsafe-inline'"}
# Path prefixes of pages whose third-party templates carry inline styles.
INLINE_STYLE_PREFIXES = ("/api/docs/", "/admin/")


def _render(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in directives.items())


POLICY = _render(BASE)
POLICY_WITH_INLINE_STYLES = _render(INLINE_STYLES)


def policy_for(path: str) -> str:
    return POLICY_WITH_INLINE_STYLES if path.startswith(INLINE_STYLE_PREFIXES) else POLICY


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy_for(request.path)
        return response
