"""Owns the console's screens: sign-in, API applications, the admin hub, requests.

Server-rendered (Starlette + Jinja2, autoescaped). Every operation is the
platform's own (``Platform``), called as the signed-in user, so the console
never re-implements who may do what: a refusal from the platform is shown as
the page's answer. Pages carry a Content-Security-Policy without
``unsafe-inline``; the few scripts are static files.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from nuvera_client.errors import SandboxError
from nuvera_client.sandbox._platform import (
    DEFAULT_GRACE_PERIOD,
    PERMISSIONS,
    ROLE_ADMIN,
    ROLE_CUSTOMER,
    ROLE_PARTNER,
    ROLES,
)
from nuvera_client.sandbox._views import User, rfc3339
from nuvera_client.sandbox.console._requestlog import (
    CHECKS,
    HINTS,
    Receive,
    RequestLog,
    Scope,
    Send,
    parse_status,
)
from nuvera_client.sandbox.console._session import COOKIE, Session, Sessions

if TYPE_CHECKING:
    from nuvera_client.sandbox._sandbox import Sandbox

HERE = Path(__file__).parent
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
    " connect-src 'self'; form-action 'self'; frame-ancestors 'none';"
    " base-uri 'none'"
)
_SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode("ascii")),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]
MAX_FORM_BYTES = 64 * 1024
MAX_PEM_BYTES = 16 * 1024
MAX_REASON = 500
GRACE_CHOICES = (
    (0, "none: the old key stops now"),
    (300, "5 minutes"),
    (3600, "1 hour"),
    (DEFAULT_GRACE_PERIOD, "24 hours"),
)
ROLE_NAMES = {
    ROLE_PARTNER: "Partner user",
    ROLE_ADMIN: "Nuvera admin",
    ROLE_CUSTOMER: "Customer-platform user",
}
CUSTOMER_REFUSAL = (
    "Customer-platform users cannot create or use REST API applications "
    "(PROTOCOL §1.3). Sign in as a partner user or a Nuvera admin."
)

Handler = Callable[[Request, Session, User | None], Awaitable[Response]]


class Refused(Exception):
    """The signed-in user may not use this screen or form."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def highlight(derived: str | None, claimed: str | None) -> tuple[list[Any], list[Any]]:
    """Split two values into ``(text, differs)`` runs for side-by-side display."""
    a, b = (derived or "")[:4096], (claimed or "")[:4096]
    left: list[Any] = []
    right: list[Any] = []
    if len(a) == len(b):
        # Same length (hashes, methods): compare position by position.
        start = 0
        for i in range(1, len(a) + 1):
            if i == len(a) or (a[i] == b[i]) != (a[start] == b[start]):
                differs = a[start] != b[start]
                left.append((a[start:i], differs))
                right.append((b[start:i], differs))
                start = i
        return left, right
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if a[i1:i2]:
            left.append((a[i1:i2], op != "equal"))
        if b[j1:j2]:
            right.append((b[j1:j2], op != "equal"))
    return left, right


class ConsoleApp:
    """The console's ASGI app (mounted at ``/console`` by the sandbox host)."""

    def __init__(self, sandbox: Sandbox, request_log: RequestLog) -> None:
        self.sandbox = sandbox
        self.platform = sandbox.platform
        self.log = request_log
        self.sessions = Sessions()
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["when"] = lambda ts: rfc3339(int(ts)) if ts else "never"
        self.env.filters["pretty"] = lambda v: json.dumps(v, indent=2, sort_keys=True)
        p = self._page
        routes = [
            Route("/console", p(self.home)),
            Route("/console/", p(self.home)),
            Route("/console/health", self.health),
            Route("/console/signin", p(self.signin, anonymous=True)),
            Route(
                "/console/signin", p(self.signin_post, anonymous=True), methods=["POST"]
            ),
            Route(
                "/console/signout", p(self.signout, anonymous=True), methods=["POST"]
            ),
            Route("/console/users", p(self.add_user, anonymous=True), methods=["POST"]),
            Route("/console/apps", p(self.apps)),
            Route("/console/apps/new", p(self.new_app)),
            Route("/console/apps", p(self.create_app), methods=["POST"]),
            Route("/console/apps/{app_id}", p(self.app_page)),
            Route("/console/apps/{app_id}/key", p(self.reveal)),
            Route(
                "/console/apps/{app_id}/{action}", p(self.app_action), methods=["POST"]
            ),
            Route("/console/admin", p(self.admin_hub)),
            Route("/console/requests", p(self.requests)),
            Route("/console/requests/feed", p(self.requests_feed)),
            Route("/console/requests/{log_id:int}", p(self.request_page)),
            Mount("/console/static", StaticFiles(directory=HERE / "static")),
        ]
        self.app = Starlette(routes=routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request, adding the security headers to every answer."""

        async def secured(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, secured)

    # -- plumbing ------------------------------------------------------------------

    def _page(
        self, handler: Handler, *, anonymous: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            session = self.sessions.get(request.cookies.get(COOKIE))
            fresh = session is None
            if session is None:
                session = self.sessions.new()
            user = await run_in_threadpool(self._user, session)
            try:
                if request.method == "POST":
                    await self._check_post(request, session)
                if user is None and not anonymous:
                    response: Response = RedirectResponse("/console/signin", 303)
                else:
                    response = await handler(request, session, user)
            except Refused as exc:
                response = self.render(
                    request,
                    session,
                    user,
                    "refused.html",
                    {"message": exc.message},
                    status=exc.status,
                )
            except SandboxError as exc:
                status = {"forbidden": 403, "not_found": 404}.get(exc.code, 400)
                response = self.render(
                    request,
                    session,
                    user,
                    "refused.html",
                    {"message": exc.message, "code": exc.code},
                    status=status,
                )
            finally:
                form = getattr(request.state, "form", None)
                if form is not None:
                    await form.close()  # uploads are spooled to temporary files
            renewed = response.headers.get("x-new-session")
            if renewed is not None:
                del response.headers["x-new-session"]
                _set_cookie(response, renewed)
            elif self.sessions.get(session.id) is None:
                response.delete_cookie(COOKIE, path="/console")
            elif fresh:
                _set_cookie(response, session.id)
            return response

        return endpoint

    async def _check_post(self, request: Request, session: Session) -> None:
        length = request.headers.get("content-length")
        if length is None or not length.isdigit() or int(length) > MAX_FORM_BYTES:
            raise Refused(
                f"A form needs a Content-Length of at most {MAX_FORM_BYTES}.", 413
            )
        origin = request.headers.get("origin")
        host = request.headers.get("host", "")
        if origin not in (None, "null") and origin != f"http://{host}":
            raise Refused("This form came from another site and was refused.")
        try:
            form = await request.form(max_files=1, max_fields=64)
        except Exception:  # starlette raises several kinds for a broken body
            raise Refused("The form could not be read.", 400) from None
        request.state.form = form
        if not session.check_csrf(form.get("csrf_token")):
            raise Refused(
                "The form's security token is missing or stale: reload the page "
                "and submit it again."
            )

    def _user(self, session: Session) -> User | None:
        if session.user_id is None:
            return None
        for user, _ in self.platform.list_users():
            if user.id == session.user_id:
                return user
        return None

    def render(
        self,
        request: Request,
        session: Session,
        user: User | None,
        template: str,
        context: dict[str, Any],
        status: int = 200,
    ) -> HTMLResponse:
        """Render a template with the common context (user, CSRF token, nav)."""
        flash, session.flash = session.flash, []
        page = self.env.get_template(template).render(
            user=user,
            role_names=ROLE_NAMES,
            csrf=session.csrf,
            flash=flash,
            path=request.url.path,
            **context,
        )
        return HTMLResponse(page, status_code=status)

    @staticmethod
    def _form(request: Request) -> FormData:
        form: FormData = request.state.form
        return form

    @staticmethod
    def _require(user: User | None, *roles: str) -> User:
        assert user is not None  # noqa: S101 - _page redirects anonymous users
        if user.role == ROLE_CUSTOMER:
            raise Refused(CUSTOMER_REFUSAL)
        if user.role not in roles:
            if user.role == ROLE_ADMIN:
                raise Refused(
                    "Nuvera admins act from the admin organisation hub "
                    "(/console/admin), and never create applications or see keys."
                )
            raise Refused("The admin organisation hub is for Nuvera admins only.")
        return user

    # -- sign-in -------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        """Say which state this console serves (``nuvera sandbox console`` asks)."""
        path = self.sandbox.store.path
        return JSONResponse(
            {"console": True, "state": None if path is None else str(path.resolve())}
        )

    async def home(
        self, request: Request, session: Session, user: User | None
    ) -> Response:
        assert user is not None  # noqa: S101
        if user.role == ROLE_CUSTOMER:
            raise Refused(CUSTOMER_REFUSAL)
        target = "/console/admin" if user.role == ROLE_ADMIN else "/console/apps"
        return RedirectResponse(target, 303)

    async def signin(
        self, request: Request, session: Session, user: User | None
    ) -> Response:
        users = await run_in_threadpool(self.platform.list_users)
        return self.render(
            request,
            session,
            user,
            "signin.html",
            {"users": users, "roles": ROLES},
        )

    async def signin_post(
        self, request: Request, session: Session, user: User | None
    ) -> Response:
        chosen = self._form(request).get("user")
        users = await run_in_threadpool(self.platform.list_users)
        match = [u for u, _ in users if u.id == chosen]
        if not match:
            session.flash.append("Choose a user from the list to sign in.")
            return RedirectResponse("/console/signin", 303)
        # A new session id at sign-in: a cookie planted before cannot follow.
        self.sessions.drop(session)
        fresh = self.sessions.new(match[0].id)
        response = RedirectResponse("/console", 303)
        response.headers["x-new-session"] = fresh.id
        return response

    async def signout(
        self, request: Request, session: Session, user: User | None
    ) -> Response:
        self.sessions.drop(session)
        return RedirectResponse("/console/signin", 303)

    async def add_user(
        self, request: Request, session: Session, user: User | None
    ) -> Response:
        form = self._form(request)
        email = str(form.get("email") or "").strip()
        role = str(form.get("role") or "")
        organisation = str(form.get("organisation") or "").strip() or None
        created = await run_in_threadpool(
            self.platform.create_user, email, role, organisation
        )
        session.flash.append(f"Added {created.email} ({ROLE_NAMES[created.role]}).")
        return RedirectResponse("/console/signin", 303)

    # -- partner screens -------------------------------------------------------------

    async def apps(
        self, request: Request, session: Session, user: User | None
    ) -> Response:
        user = self._require(user, ROLE_PARTNER)
        views = await run_in_threadpool(self.platform.list_applications, user.id)
        return self.render(request, session, user, "apps.html", {"apps": views})

    async def new_app(
        self, request: Request, session: Session, user: User | None
    ) -> Response:
        user = self._require(user, ROLE_PARTNER)
        return self.render(
            request,
            session,
            user,
            "app_new.html",
            {"permissions": PERMISSIONS, "chosen": (), "name": "", "error": None},
        )

    async def create_app(
        self, request: Request, session: Session, user: User | None
    ) -> Response:
        user = self._require(user, ROLE_PARTNER)
        form = self._form(request)
        name = str(form.get("name") or "").strip()
        chosen = [str(p) for p in form.getlist("permissions")]
        try:
            pem = await _pem_of(form)
            created = await run_in_threadpool(
                lambda: self.platform.create_application(
                    name=name, permissions=chosen, public_key_pem=pem, actor=user.id
                )
            )
        except SandboxError as exc:
            return self.render(
                request,
                session,
                user,
                "app_new.html",
                {
                    "permissions": PERMISSIONS,
                    "chosen": chosen,
                    "name": name,
                    "error": exc.message,
                },
                status=400,
            )
        session.reveals[created.id] = ("created", created.api_key)
        return RedirectResponse(f"/console/apps/{created.id}/key", 303)

    async def reveal(
        self, request: Request, session: Session, user: User | None
    ) -> Response:
        user = self._require(user, ROLE_PARTNER)
        app_id = request.path_params["app_id"]
        view = await run_in_threadpool(self.platform.get_application, app_id, user.id)
        kind, key = session.reveals.pop(app_id, (None, None))
        return self.render(
            request,
            session,
            user,
            "app_key.html",
            {"app": view, "kind": kind, "api_key": key},
        )

    async def app_page(
        self, request: Request, session: Session, user: User | None
    ) -> Response:
        user = self._require(user, ROLE_PARTNER, ROLE_ADMIN)
        app_id = request.path_params["app_id"]

        def load() -> tuple[
            Any, Any, dict[str, str], dict[str, float | None], tuple[str, ...]
        ]:
            view = self.platform.get_application(app_id, user.id)
            return (
                view,
                self.platform.audit_log(app_id, user.id),
                self.platform.organisation_names(),
                {
                    s.kid: self.log.kid_last_used(app_id, s.kid)
                    for s in view.signing_keys
                },
                self.platform.unrevealed_api_keys(app_id, user.id),
            )

        # Store calls block: they run in a worker thread, never on the event loop.
        view, audit, orgs, last_used, unrevealed = await run_in_threadpool(load)
        active = [k for k in view.api_keys if k.status == "active"]
        return self.render(
            request,
            session,
            user,
            "app.html",
            {
                "app": view,
                "audit": list(reversed(audit)),
                "organisation": orgs.get(view.organisation_id, view.organisation_id),
                "permissions": PERMISSIONS,
                "grace_choices": GRACE_CHOICES,
                "kid_last_used": last_used,
                "unrevealed": unrevealed,
                "snippet_key": active[-1] if active else None,
                "base_url": f"{request.url.scheme}://{request.url.netloc}",
                "admin": user.role == ROLE_ADMIN,
            },
        )

    async def app_action(
        self, request: Request, session: Session, user: User | None
    ) -> Response:
        user = self._require(user, ROLE_PARTNER, ROLE_ADMIN)
        app_id = request.path_params["app_id"]
        action = request.path_params["action"]
        form = self._form(request)
        admin = user.role == ROLE_ADMIN
        reason: str | None = None
        if admin:
            if action not in ("status", "permissions", "revoke", "rotate"):
                raise Refused(
                    "A Nuvera admin may view, disable or enable, fix permissions, "
                    "revoke a key and start a rotation whose new key a partner of "
                    "the organisation reveals; that partner does the rest."
                )
            reason = str(form.get("reason") or "").strip()
            if not 3 <= len(reason) <= MAX_REASON:
                session.flash.append(
                    "Give a reason (3-500 characters): it goes into the audit log."
                )
                return RedirectResponse(f"/console/apps/{app_id}", 303)
        p = self.platform
        done: str
        if action == "status":
            wanted = form.get("status")
            if wanted == "disabled":
                await run_in_threadpool(
                    lambda: p.disable_application(app_id, user.id, reason=reason)
                )
                done = (
                    "Application disabled: its requests now get application_disabled."
                )
            elif wanted == "active":
                await run_in_threadpool(
                    lambda: p.enable_application(app_id, user.id, reason=reason)
                )
                done = "Application enabled."
            else:
                raise Refused("Choose disable or enable.", 400)
        elif action == "permissions":
            chosen = [str(x) for x in form.getlist("permissions")]
            perms = await run_in_threadpool(
                lambda: p.set_permissions(app_id, chosen, user.id, reason=reason)
            )
            done = f"Permissions now: {', '.join(perms) or 'none'}."
        elif action == "revoke":
            prefix = str(form.get("prefix") or "")
            await run_in_threadpool(
                lambda: p.revoke_api_key(app_id, prefix, user.id, reason=reason)
            )
            done = f"API key {prefix}… revoked."
        elif action == "rotate":
            grace = str(form.get("grace_period") or "")
            if not grace.isdigit():
                raise Refused("Choose a grace period.", 400)
            rotated = await run_in_threadpool(
                lambda: p.rotate_api_key(app_id, int(grace), user.id, reason=reason)
            )
            if rotated.api_key is None:
                # An admin never receives an API key (PROTOCOL §1.3).
                done = (
                    f"New API key {rotated.prefix}…{rotated.last_four} created "
                    "unrevealed: a partner user of the organisation reveals it, "
                    "once, on this page."
                )
            else:
                session.reveals[app_id] = ("rotated", rotated.api_key)
                return RedirectResponse(f"/console/apps/{app_id}/key", 303)
        elif action == "reveal":
            prefix = str(form.get("prefix") or "")
            revealed = await run_in_threadpool(
                p.reveal_api_key, app_id, prefix, user.id
            )
            session.reveals[app_id] = ("revealed", revealed)
            return RedirectResponse(f"/console/apps/{app_id}/key", 303)
        elif action == "add-signing-key":
            pem = await _pem_of(form)
            if pem is None:
                raise Refused("Paste, upload or generate a public key (PEM).", 400)
            kid = await run_in_threadpool(p.add_signing_key, app_id, pem, user.id)
            done = f"Signing key {kid} added."
        elif action == "remove-signing-key":
            kid = str(form.get("kid") or "")
            await run_in_threadpool(p.remove_signing_key, app_id, kid, user.id)
            done = f"Signing key {kid} removed: tokens naming it are refused now."
        else:
            raise Refused(f"Unknown action {action!r}.", 404)
        session.flash.append(done)
        return RedirectResponse(f"/console/apps/{app_id}", 303)

    # -- admin hub -------------------------------------------------------------------

    async def admin_hub(
        self, request: Request, session: Session, user: User | None
    ) -> Response:
        user = self._require(user, ROLE_ADMIN)

        def load() -> tuple[Any, dict[str, str]]:
            return (
                self.platform.list_applications(user.id),
                self.platform.organisation_names(),
            )

        views, orgs = await run_in_threadpool(load)
        grouped: dict[str, list[Any]] = {}
        for view in views:
            name = orgs.get(view.organisation_id, view.organisation_id)
            grouped.setdefault(name, []).append(view)
        return self.render(
            request, session, user, "admin.html", {"organisations": grouped}
        )

    # -- request inspector -----------------------------------------------------------

    def _visible(self, user: User | None) -> tuple[list[str] | None, list[Any]]:
        assert user is not None  # noqa: S101
        if user.role == ROLE_CUSTOMER:
            raise Refused(CUSTOMER_REFUSAL)
        views = self.platform.list_applications(user.id)
        if user.role == ROLE_ADMIN:
            return None, views
        return [v.id for v in views], views

    def _filters(self, request: Request) -> dict[str, str]:
        q = request.query_params
        filters = {
            name: q.get(name, "").strip()[:200]
            for name in ("application", "method", "path", "status", "code")
        }
        if filters["status"]:
            try:
                parse_status(filters["status"])
            except ValueError as exc:
                raise Refused(str(exc), 400) from None
        return filters

    def _query(
        self, user: User | None, filters: dict[str, str], after: int | None = None
    ) -> tuple[list[Any], list[Any]]:
        allowed, views = self._visible(user)
        rows = self.log.list(
            application_ids=allowed,
            application_id=filters["application"] or None,
            method=filters["method"] or None,
            path=filters["path"] or None,
            status=filters["status"] or None,
            error_code=filters["code"] or None,
            after_id=after,
        )
        return rows, views

    async def requests(
        self, request: Request, session: Session, user: User | None
    ) -> Response:
        filters = self._filters(request)
        rows, views = await run_in_threadpool(self._query, user, filters)
        return self.render(
            request,
            session,
            user,
            "requests.html",
            {
                "rows": rows,
                "filters": filters,
                "apps": views,
                "codes": sorted(
                    set(CHECKS)
                    | {
                        "not_found",
                        "method_not_allowed",
                        "validation_failed",
                        "rate_limited",
                    }
                ),
                "last_id": rows[0].id if rows else 0,
            },
        )

    async def requests_feed(
        self, request: Request, session: Session, user: User | None
    ) -> Response:
        filters = self._filters(request)
        after = request.query_params.get("after", "0")
        rows, _ = await run_in_threadpool(
            self._query, user, filters, int(after) if after.isdigit() else 0
        )
        return JSONResponse(
            [
                {
                    "id": r.id,
                    "at": rfc3339(int(r.at)),
                    "method": r.method,
                    "target": r.target,
                    "status": r.status,
                    "error_code": r.error_code or "",
                    "application_id": r.application_id or "",
                }
                for r in rows
            ]
        )

    async def request_page(
        self, request: Request, session: Session, user: User | None
    ) -> Response:
        allowed, _ = await run_in_threadpool(self._visible, user)
        row = await run_in_threadpool(self.log.get, request.path_params["log_id"])
        if row is None or (
            allowed is not None
            and row.application_id is not None
            and row.application_id not in allowed
        ):
            raise Refused(
                "No such request in the log (it may have been rotated out).", 404
            )
        derived = row.entry.get("derived", {})
        claimed = row.entry.get("claimed", {})
        pairs = []
        for name, label in (
            ("method", "Method"),
            ("uri", "Target (uri)"),
            ("body_hash", "Body hash (SHA-256)"),
        ):
            left, right = highlight(derived.get(name), claimed.get(name))
            pairs.append(
                {
                    "label": label,
                    "derived": left,
                    "claimed": right,
                    "has_claim": claimed.get(name) is not None,
                    "has_derived": derived.get(name) is not None,
                    "same": derived.get(name) == claimed.get(name),
                }
            )
        return self.render(
            request,
            session,
            user,
            "request.html",
            {
                "row": row,
                "entry": row.entry,
                "pairs": pairs,
                "check": CHECKS.get(row.error_code or ""),
                "hint": HINTS.get(row.error_code or ""),
            },
        )


def _set_cookie(response: Response, session_id: str) -> None:
    response.set_cookie(
        COOKIE, session_id, path="/console", httponly=True, samesite="strict"
    )


async def _pem_of(form: FormData) -> str | None:
    """Return the public key PEM from the upload or the text field (None: neither)."""
    upload = form.get("public_key_file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_PEM_BYTES + 1)
        if len(data) > MAX_PEM_BYTES:
            raise SandboxError("invalid_public_key", "the PEM file is too large")
        try:
            return data.decode("ascii")
        except UnicodeDecodeError:
            raise SandboxError("invalid_public_key", "the file is not a PEM") from None
    text = form.get("public_key_pem")
    if isinstance(text, str) and text.strip():
        return text.strip()[:MAX_PEM_BYTES] + "\n"
    return None
