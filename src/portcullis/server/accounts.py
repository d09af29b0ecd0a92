"""Projects, users, memberships and tokens: the operations both the CLI and the pages use."""

from __future__ import annotations

import msgspec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portcullis.errors import ConfigError
from portcullis.server.credentials import digest, hash_password, new_token
from portcullis.server.tables import ApiToken, Membership, Project, User, utcnow

ROLES = ("viewer", "admin")
MIN_PASSWORD = 8
NAME_MAX = 200


def check_name(name: str, what: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_MAX or any(c.isspace() and c != " " for c in name):
        raise ConfigError(f"{what} name must be 1 to {NAME_MAX} printable characters: {name!r}")
    return name


def project(session: Session, name: str, *, create: bool = False) -> Project | None:
    found = session.scalar(select(Project).where(Project.name == name))
    if found is None and create:
        found = Project(name=check_name(name, "project"))
        session.add(found)
        session.flush()
    return found


class IssuedToken(msgspec.Struct, frozen=True):
    token: str  # shown once, never stored
    row: ApiToken


def issue_token(session: Session, project_row: Project, name: str = "") -> IssuedToken:
    token = new_token()
    row = ApiToken(project_id=project_row.id, name=name or "token", prefix=token[:10],
                   token_hash=digest(token))
    session.add(row)
    session.flush()
    return IssuedToken(token, row)


def revoke_token(session: Session, project_id: int, token_id: int) -> bool:
    row = session.get(ApiToken, token_id)
    if row is None or row.project_id != project_id or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    return True


def set_user(session: Session, name: str, password: str, *, admin: bool) -> User:
    """Create the user, or set the password (and admin flag, when given) of an existing one."""
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"the password must have at least {MIN_PASSWORD} characters")
    name = check_name(name, "user")
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        user = User(name=name, password_hash=hash_password(password), is_admin=admin)
        session.add(user)
    else:
        user.password_hash = hash_password(password)
        user.is_admin = user.is_admin or admin
    session.flush()
    return user


def set_member(session: Session, project_row: Project, user: User, role: str) -> Membership:
    if role not in ROLES:
        raise ConfigError(f"role must be one of {', '.join(ROLES)}: {role!r}")
    row = session.scalar(select(Membership).where(Membership.user_id == user.id,
                                                  Membership.project_id == project_row.id))
    if row is None:
        row = Membership(user_id=user.id, project_id=project_row.id, role=role)
        session.add(row)
    else:
        row.role = role
    session.flush()
    return row


def role_of(session: Session, user: User, project_id: int) -> str | None:
    """``admin``, ``viewer`` or None (no access). Console admins are admins everywhere."""
    if user.is_admin:
        return "admin"
    return session.scalar(select(Membership.role).where(Membership.user_id == user.id,
                                                        Membership.project_id == project_id))


def visible_projects(session: Session, user: User) -> list[Project]:
    query = select(Project).order_by(Project.name)
    if not user.is_admin:
        query = query.join(Membership, Membership.project_id == Project.id).where(
            Membership.user_id == user.id)
    return list(session.scalars(query))


def user_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0
