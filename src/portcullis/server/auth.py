"""Who is asking: a pipeline with a bearer token (the API) or a person with a session cookie
(the pages), and the CSRF check for the forms."""

from __future__ import annotations

from datetime import timedelta

import msgspec
from fastapi import HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from portcullis.server.credentials import digest, new_secret, same
from portcullis.server.tables import ApiToken, User, WebSession, utcnow

SESSION_COOKIE = "portcullis_session"
SESSION_DAYS = 7
LAST_USED_EVERY = timedelta(seconds=60)  # fewer writes: last-used is a day-scale fact


class TokenIdentity(msgspec.Struct, frozen=True):
    token_id: int
    project_id: int


def bearer(request: Request, session: Session) -> TokenIdentity:
    """The project a valid, unrevoked bearer token belongs to; 401 otherwise."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "a bearer token is required (Authorization: Bearer TOKEN)",
                            headers={"WWW-Authenticate": "Bearer"})
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token.strip())))
    if row is None or row.revoked_at is not None:
        raise HTTPException(401, "the token is unknown or revoked",
                            headers={"WWW-Authenticate": "Bearer"})
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_EVERY:
        row.last_used_at = now
    return TokenIdentity(row.id, row.project_id)


class Visitor(msgspec.Struct, frozen=True):
    user: User
    csrf: str


def start_session(session: Session, user: User) -> str:
    """A new session for ``user``; returns the cookie value."""
    secret = new_secret()
    now = utcnow()
    session.add(WebSession(session_hash=digest(secret), user_id=user.id, csrf=new_secret(),
                           created_at=now, expires_at=now + timedelta(days=SESSION_DAYS)))
    return secret


def end_session(session: Session, cookie: str | None) -> None:
    if cookie:
        row = session.scalar(select(WebSession).where(WebSession.session_hash == digest(cookie)))
        if row is not None:
            session.delete(row)


def visitor(request: Request, session: Session) -> Visitor | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    row = session.scalar(select(WebSession).where(WebSession.session_hash == digest(cookie)))
    if row is None or row.expires_at < utcnow():
        return None
    user = session.get(User, row.user_id)
    return None if user is None else Visitor(user, row.csrf)


def check_csrf(who: Visitor, submitted: str | None) -> None:
    if not submitted or not same(who.csrf, submitted):
        raise HTTPException(403, "the form's CSRF token is missing or stale: reload the page")
