"""The server-rendered pages (Jinja2, autoescaped; no build step, no JavaScript needed).

People log in with a password; a session cookie (HttpOnly, SameSite=Lax, Secure over https)
carries a random id. Every form carries the session's CSRF token. A person sees the projects
they are a member of (administrators see all); only project admins change settings."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.orm import Session

from portcullis.errors import ConfigError, DocumentError, PolicyError
from portcullis.pipeline.base import SCENARIOS, PipelineRequest, generators
from portcullis.server import accounts, exports, project_policy, queries, stats, suppressions
from portcullis.server.api import DB
from portcullis.server.auth import (
    SESSION_COOKIE,
    Visitor,
    check_csrf,
    end_session,
    start_session,
    visitor,
)
from portcullis.server.credentials import DUMMY_HASH, check_password, new_secret, same
from portcullis.server.tables import ApiToken, Membership, Project, Scan, User

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
LOGIN_CSRF_COOKIE = "portcullis_login_csrf"
PER_PAGE = 50

# The scan detail's tabs: slug, label, the scanner that fills it, the finding kinds it lists.
TABS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("vulnerabilities", "Vulnerabilities", "vuln", ("vulnerability",)),
    ("malware", "Malicious files", "malware", ("malware",)),
    ("software", "Software information", "packages", ()),
    ("files", "File information", "files", ("file",)),
    ("baseline", "Baseline", "baseline", ("baseline",)),
    ("sensitive", "Sensitive information", "secret", ("secret", "sensitive-file")),
    ("compliance", "Software compliance", "compliance", ("compliance",)),
    ("base-image", "Base image", "base-image", ()),
)


class LoginRequired(Exception):
    """Raised by a page that needs a person; answered with the login form and 401."""


def who_is_there(request: Request, session: DB) -> Visitor:
    found = visitor(request, session)
    if found is None:
        raise LoginRequired
    return found


Who = Annotated[Visitor, Depends(who_is_there)]


def _secure(request: Request) -> bool:
    return bool(request.app.state.config.secure_cookies or request.url.scheme == "https")


def render(request: Request, name: str, who: Visitor | None, code: int = 200,
           **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"who": who, **context},
                                      status_code=code)


def login_page(request: Request, status: int = 200, error: str | None = None,
               next_url: str = "/") -> HTMLResponse:
    token = new_secret()
    response = render(request, "login.html", None, status, csrf=token, error=error,
                      next_url=next_url)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=_secure(request), path="/login")
    return response


def on_login_required(request: Request, _exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return login_page(request, 401, "Log in to see this page.", target)


def _local(target: str) -> str:
    """Only a path on this site: never an open redirect."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return login_page(request, next_url=_local(next))


@router.post("/login")
def login(request: Request, session: DB, name: Annotated[str, Form()],
          password: Annotated[str, Form()], csrf: Annotated[str, Form()],
          next: Annotated[str, Form()] = "/") -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not same(cookie, csrf):
        return login_page(request, 403, "The form expired: try again.", _local(next))
    limiter = request.app.state.login_limiter
    keys = (f"user:{name}", f"addr:{request.client.host if request.client else '?'}")
    if limiter.blocked(*keys):
        return login_page(request, 429, "Too many failed logins: wait a few minutes.",
                          _local(next))
    user = session.scalar(select(User).where(User.name == name))
    if not check_password(user.password_hash if user else DUMMY_HASH, password) or not user:
        limiter.failed(*keys)
        return login_page(request, 401, "Wrong user name or password.", _local(next))
    limiter.succeeded(*keys)
    cookie_value = start_session(session, user)
    # Committed before the answer leaves: the browser follows the redirect at once, before a
    # dependency's clean-up would run.
    session.commit()
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, cookie_value, httponly=True,
                        samesite="lax", secure=_secure(request),
                        max_age=60 * 60 * 24 * 7)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, session: DB, who: Who, csrf: Annotated[str, Form()]) -> Response:
    check_csrf(who, csrf)
    end_session(session, request.cookies.get(SESSION_COOKIE))
    session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _project_ids(session: Session, who: Visitor) -> tuple[int, ...]:
    return tuple(p.id for p in accounts.visible_projects(session, who.user))


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: DB, who: Who) -> HTMLResponse:
    board = stats.dashboard(session, _project_ids(session, who))
    return render(request, "dashboard.html", who, board=board,
                  severities=stats.SEVERITY_ORDER,
                  day_max=max([p + b for _, p, b in board.per_day] or [1]))


def _date(text: str | None, end: bool = False) -> datetime | None:
    if not text:
        return None
    try:
        day = datetime.fromisoformat(text)
    except ValueError:
        raise HTTPException(422, f"not a date (YYYY-MM-DD): {text!r}") from None
    return day.replace(hour=23, minute=59, second=59) if end and len(text) == 10 else day


def _filter(request: Request, project_ids: tuple[int, ...]) -> queries.ScanFilter:
    """The image list's filters from the query string; blank form fields mean "any"."""
    q = request.query_params
    page = max(1, int(q.get("page") or 1)) if (q.get("page") or "1").isdigit() else 1
    return queries.ScanFilter(
        project_ids=project_ids, project=q.get("project") or None,
        image=q.get("image") or None, tag=q.get("tag") or None, digest=q.get("digest") or None,
        verdict=q.get("verdict") or None,
        has=tuple(h for h in q.getlist("has") if h in queries.HAS),
        severity=q.get("severity") or None, since=_date(q.get("since")),
        until=_date(q.get("until"), end=True), latest=q.get("latest") == "1",
        limit=PER_PAGE, offset=(page - 1) * PER_PAGE,
        extra=tuple((k, v) for k, v in q.multi_items() if k != "page"))


@router.get("/images", response_class=HTMLResponse)
def images(request: Request, session: DB, who: Who) -> HTMLResponse:
    projects = accounts.visible_projects(session, who.user)
    chosen = _filter(request, tuple(p.id for p in projects))
    rows, total = queries.list_scans(session, chosen)
    page = chosen.offset // PER_PAGE + 1
    query = urlencode(chosen.extra)
    return render(request, "images.html", who, rows=rows, total=total, f=chosen,
                  projects=projects, page=page, pages=max(1, -(-total // PER_PAGE)),
                  query=query, severities=stats.SEVERITY_ORDER, has_choices=queries.HAS)


def _visible_scan(session: Session, who: Visitor, scan_id: int) -> tuple[Scan, str]:
    row = session.execute(select(Scan, Project.name).join(Project)
                          .where(Scan.id == scan_id)).first()
    if row is None or accounts.role_of(session, who.user, row[0].project_id) is None:
        raise HTTPException(404, f"no scan {scan_id} that you may see")
    return row[0], row[1]


@router.get("/scans/{scan_id}", response_class=HTMLResponse)
def scan_detail(request: Request, session: DB, who: Who, scan_id: int,
                tab: str = "vulnerabilities") -> HTMLResponse:
    scan, project = _visible_scan(session, who, scan_id)
    doc = queries.report_of(scan)
    chosen = next((t for t in TABS if t[0] == tab), TABS[0])
    findings = doc.get("findings") or []
    counts = stats.kinds_count(findings)
    tabs = [(slug, label, _tab_count(slug, kinds, counts, doc))
            for slug, label, _scanner, kinds in TABS]
    layers = {layer.get("index"): layer for layer in doc["artifact"].get("layers") or []}
    return render(request, "scan.html", who, scan=scan, project=project, doc=doc, tabs=tabs,
                  formats=exports.formats(),
                  previous=_previous(session, scan),
                  tab=chosen[0], label=chosen[1],
                  status=(doc.get("scanners") or {}).get(chosen[2]),
                  rows=[f for f in findings if f.get("kind") in chosen[3]], layers=layers)


def _tab_count(slug: str, kinds: tuple[str, ...], counts: Any, doc: dict[str, Any]) -> int:
    if slug == "software":
        return len(doc.get("packages") or [])
    if slug == "base-image":
        return 1 if doc.get("base_image") else 0
    return sum(counts[k] for k in kinds)


def _previous(session: Session, scan: Scan) -> int | None:
    """The scan of the same image (any tag) just before this one."""
    return session.scalar(select(Scan.id).where(
        Scan.project_id == scan.project_id, Scan.image_name == scan.image_name,
        Scan.id < scan.id).order_by(Scan.id.desc()).limit(1))


@router.get("/scans/{scan_id}/compare", response_class=HTMLResponse)
def compare_page(request: Request, session: DB, who: Who, scan_id: int,
                 against: int | None = None) -> HTMLResponse:
    """Findings new in this scan, fixed since the other (default: the image's previous
    scan), and unchanged."""
    scan, project = _visible_scan(session, who, scan_id)
    other_id = against if against is not None else _previous(session, scan)
    if other_id is None:
        raise HTTPException(404, "there is no earlier scan of this image to compare with")
    other, _ = _visible_scan(session, who, other_id)
    diff = queries.compare(queries.report_of(other), queries.report_of(scan))
    return render(request, "compare.html", who, scan=scan, other=other, project=project,
                  diff=diff)


@router.get("/scans/{scan_id}/report.json")
def export_json(session: DB, who: Who, scan_id: int) -> Response:
    scan, _ = _visible_scan(session, who, scan_id)
    name = f"portcullis-scan-{scan.id}.json"
    return JSONResponse(json.loads(scan.report),
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/scans/{scan_id}/report.{fmt}")
def export_report(session: DB, who: Who, scan_id: int, fmt: str) -> Response:
    """The scan in another report format (``report.sarif``, ``report.cyclonedx``, ...)."""
    scan, _ = _visible_scan(session, who, scan_id)
    try:
        found = exports.export(queries.report_of(scan), fmt, f"portcullis-scan-{scan.id}")
    except DocumentError as e:
        raise HTTPException(422, f"scan {scan.id} cannot be exported: {e}") from e
    if found is None:
        raise HTTPException(404, f"no report format {fmt!r} (one of "
                                 f"{', '.join(exports.formats())})")
    return Response(found.body, media_type=found.media_type, headers={
        "Content-Disposition": f'attachment; filename="{found.filename}"'})


@router.get("/risks", response_class=HTMLResponse)
def risks(request: Request, session: DB, who: Who, kind: str = "") -> HTMLResponse:
    rows = stats.risks(session, _project_ids(session, who), kind or None)
    return render(request, "risks.html", who, rows=rows, kind=kind,
                  kinds=[k for _s, _l, _c, ks in TABS for k in ks])


@router.get("/pipeline", response_class=HTMLResponse)
def pipeline_page(request: Request, session: DB, who: Who) -> HTMLResponse:
    q = request.query_params
    projects = accounts.visible_projects(session, who.user)
    form = {"project": q.get("project") or (projects[0].name if projects else ""),
            "system": q.get("system") or "jenkins", "scenario": q.get("scenario") or "local",
            "image": q.get("image") or "", "blocking": q.get("blocking", "1") == "1",
            "fail_on": q.get("fail_on") or "high"}
    snippet, error = None, None
    if form["image"]:
        try:
            snippet = _snippet(form, str(request.base_url).rstrip("/"))
        except ValueError as e:
            error = str(e)
    return render(request, "pipeline.html", who, projects=projects, form=form,
                  snippet=snippet, error=error, systems=list(generators()),
                  scenarios=SCENARIOS, fail_on=("critical", "high", "medium", "low"))


def _snippet(form: dict[str, Any], server: str) -> str:
    """The CI file `portcullis pipeline SYSTEM` prints for the form; the project's token is a
    credential named after the project (never the token itself)."""
    system = str(form["system"])
    if system not in generators():
        raise ValueError(f"unknown CI system {system!r}")
    image, registry = str(form["image"]), None
    if form["scenario"] == "registry":
        # registry.example:5000/team/app:1.0 → the registry and the repository in it
        registry, _, image = image.partition("/")
        if not image:
            raise ValueError("a registry image is HOST[:PORT]/REPOSITORY[:TAG]")
    request = PipelineRequest(image=image, registry=registry, scenario=str(form["scenario"]),
                              blocking=bool(form["blocking"]), fail_on=str(form["fail_on"]),
                              server=server,
                              token_credentials=f"portcullis-token-{form['project']}")
    return generators()[system].render(request)


@router.get("/projects", response_class=HTMLResponse)
def project_list(request: Request, session: DB, who: Who) -> HTMLResponse:
    return render(request, "projects.html", who,
                  projects=accounts.visible_projects(session, who.user))


@router.post("/projects")
def project_create(session: DB, who: Who, name: Annotated[str, Form()],
                   csrf: Annotated[str, Form()]) -> Response:
    check_csrf(who, csrf)
    if not who.user.is_admin:
        raise HTTPException(403, "only console administrators create projects")
    try:
        made = accounts.project(session, name.strip(), create=True)
    except ConfigError as e:
        raise HTTPException(422, str(e)) from None
    assert made is not None
    session.commit()
    return RedirectResponse(f"/projects/{made.id}", status_code=303)


def _project_role(session: Session, who: Visitor, project_id: int) -> tuple[Project, str]:
    found = session.get(Project, project_id)
    role = accounts.role_of(session, who.user, project_id) if found else None
    if found is None or role is None:
        raise HTTPException(404, f"no project {project_id} that you may see")
    return found, role


def _must_admin(session: Session, who: Visitor, project_id: int, csrf: str) -> Project:
    check_csrf(who, csrf)
    found, role = _project_role(session, who, project_id)
    if role != "admin":
        raise HTTPException(403, "only the project's admins change its settings")
    return found


def _settings(request: Request, session: Session, who: Visitor, project_id: int,
              new_token: str | None = None, error: str | None = None,
              policy_error: str | None = None, policy: str | None = None) -> HTMLResponse:
    found, role = _project_role(session, who, project_id)
    tokens = list(session.scalars(select(ApiToken).where(ApiToken.project_id == project_id)
                                  .order_by(ApiToken.id)))
    members = session.execute(select(User.name, Membership.role, Membership.id)
                              .join(Membership, Membership.user_id == User.id)
                              .where(Membership.project_id == project_id)
                              .order_by(User.name)).all()
    return render(request, "settings.html", who, 422 if error or policy_error else 200,
                  project=found, policy_error=policy_error,
                  policy=found.policy or "" if policy is None else policy,
                  role=role, tokens=tokens, members=members,
                  rules=suppressions.active(session, project_id),
                  rule_kinds=suppressions.RULES, usage=stats.usage(session, project_id),
                  new_token=new_token, error=error)


@router.get("/projects/{project_id}", response_class=HTMLResponse)
def settings(request: Request, session: DB, who: Who, project_id: int) -> HTMLResponse:
    return _settings(request, session, who, project_id)


@router.post("/projects/{project_id}/tokens", response_class=HTMLResponse)
def token_create(request: Request, session: DB, who: Who, project_id: int,
                 csrf: Annotated[str, Form()], name: Annotated[str, Form()] = "") -> Response:
    found = _must_admin(session, who, project_id, csrf)
    issued = accounts.issue_token(session, found, name.strip()[:200] or "web")
    session.commit()
    return _settings(request, session, who, project_id, new_token=issued.token)


@router.post("/projects/{project_id}/tokens/{token_id}/revoke")
def token_revoke(session: DB, who: Who, project_id: int, token_id: int,
                 csrf: Annotated[str, Form()]) -> Response:
    _must_admin(session, who, project_id, csrf)
    accounts.revoke_token(session, project_id, token_id)
    session.commit()
    return RedirectResponse(f"/projects/{project_id}", status_code=303)


@router.post("/projects/{project_id}/members", response_class=HTMLResponse)
def member_set(request: Request, session: DB, who: Who, project_id: int,
               csrf: Annotated[str, Form()], name: Annotated[str, Form()],
               role: Annotated[str, Form()], password: Annotated[str, Form()] = "") -> Response:
    found = _must_admin(session, who, project_id, csrf)
    user = session.scalar(select(User).where(User.name == name.strip()))
    try:
        if user is None:
            if not password:
                raise ConfigError(f"there is no user {name.strip()!r}: give a password to "
                                  "create it")
            user = accounts.set_user(session, name, password, admin=False)
        accounts.set_member(session, found, user, role)
    except ConfigError as e:
        return _settings(request, session, who, project_id, error=str(e))
    session.commit()
    return RedirectResponse(f"/projects/{project_id}", status_code=303)


@router.post("/projects/{project_id}/policy", response_class=HTMLResponse)
def policy_set(request: Request, session: DB, who: Who, project_id: int,
               csrf: Annotated[str, Form()], policy: Annotated[str, Form()] = "") -> Response:
    """Save the project's policy (empty: none); a policy the CLI could not read is refused
    with its line."""
    found = _must_admin(session, who, project_id, csrf)
    try:
        found.policy = project_policy.checked(policy)
    except PolicyError as e:
        return _settings(request, session, who, project_id, policy_error=str(e), policy=policy)
    session.commit()
    return RedirectResponse(f"/projects/{project_id}", status_code=303)


@router.post("/projects/{project_id}/suppressions", response_class=HTMLResponse)
def suppression_add(request: Request, session: DB, who: Who, project_id: int,
                    csrf: Annotated[str, Form()], rule: Annotated[str, Form()],
                    value: Annotated[str, Form()], reason: Annotated[str, Form()] = "",
                    expires: Annotated[str, Form()] = "") -> Response:
    _must_admin(session, who, project_id, csrf)
    try:
        suppressions.add(session, project_id, rule, value, reason, _date(expires, end=True))
    except ConfigError as e:
        return _settings(request, session, who, project_id, error=str(e))
    session.commit()
    return RedirectResponse(f"/projects/{project_id}", status_code=303)


@router.post("/projects/{project_id}/suppressions/{suppression_id}/delete")
def suppression_delete(session: DB, who: Who, project_id: int, suppression_id: int,
                       csrf: Annotated[str, Form()]) -> Response:
    _must_admin(session, who, project_id, csrf)
    suppressions.remove(session, project_id, suppression_id)
    session.commit()
    return RedirectResponse(f"/projects/{project_id}", status_code=303)
