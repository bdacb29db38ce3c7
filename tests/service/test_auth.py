"""Accounts: argon2 passwords, hashed tokens, roles per membership, the session cookie, the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from keepsight.service.store import auditlog
from keepsight.storage.catalog.tables import svc_api_tokens, svc_users
from tests.service.conftest import PASSWORD, World


def test_login_gives_a_token_that_is_stored_only_as_a_hash(world: World) -> None:
    response = world.client.post("/auth/login", json={"name": "ann1", "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    assert response.json()["role"] == "annotator"
    with world.ds.reading() as conn:
        stored = [r[0] for r in conn.execute(select(svc_api_tokens.c.token_hash))]
        hashes = [r[0] for r in conn.execute(select(svc_users.c.password_hash))]
    assert token not in stored and all(len(h) == 64 for h in stored)
    assert all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)
    me = world.client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json() == {"user": "ann1", "role": "annotator", "dataset": world.ds.config.name,
                         "token_id": me.json()["token_id"]}


def test_wrong_password_and_unknown_user_are_refused_alike(world: World) -> None:
    wrong = world.client.post("/auth/login", json={"name": "ann1", "password": "not the password"})
    nobody = world.client.post("/auth/login", json={"name": "nobody", "password": PASSWORD})
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.json()["detail"] == nobody.json()["detail"] == "wrong user name or password"
    assert world.client.get("/auth/me").status_code == 401
    assert world.client.get("/auth/me", headers={"Authorization": "Bearer ks_forged"}).status_code == 401


def test_api_tokens_work_until_revoked_and_end_when_the_account_is_disabled(world: World) -> None:
    made = world.call("manager", "POST", "/auth/tokens", json={"name": "script", "days": 30})
    assert made.status_code == 201
    script = {"Authorization": f"Bearer {made.json()['token']}"}
    assert world.client.get("/tasks", headers=script).status_code == 200
    assert world.call("manager", "DELETE", f"/auth/tokens/{made.json()['id']}").status_code == 200
    assert world.client.get("/tasks", headers=script).status_code == 401
    # Someone else's token cannot be revoked.
    other = world.call("ann1", "POST", "/auth/tokens", json={"name": "mine"}).json()
    assert world.call("manager", "DELETE", f"/auth/tokens/{other['id']}").status_code == 404
    # Disabling an account ends every token it has.
    ann = {"Authorization": f"Bearer {other['token']}"}
    assert world.client.get("/jobs", headers=ann).status_code == 200
    assert world.call("admin", "PATCH", "/users/ann1", json={"active": False}).json()["active"] is False
    assert world.client.get("/jobs", headers=ann).status_code == 401
    assert world.client.post("/auth/login", json={"name": "ann1", "password": PASSWORD}).status_code == 401


def test_roles_are_changed_by_admins_and_the_last_admin_stays(world: World) -> None:
    created = world.call("admin", "POST", "/users", json={"name": "newbie", "role": "viewer", "password": PASSWORD})
    assert created.status_code == 201 and created.json()["role"] == "viewer"
    assert world.call("admin", "POST", "/users", json={"name": "newbie", "role": "viewer"}).status_code == 400
    assert world.call("admin", "PATCH", "/users/newbie", json={"role": "reviewer"}).json()["role"] == "reviewer"
    refused = world.call("admin", "PATCH", "/users/admin", json={"role": "viewer"})
    assert refused.status_code == 409 and "last active admin" in refused.json()["detail"]
    assert world.call("manager", "POST", "/users", json={"name": "x", "role": "admin"}).status_code == 403


def test_the_session_cookie_needs_the_csrf_header_for_changes(world: World) -> None:
    login = world.client.post("/auth/login", json={"name": "manager", "password": PASSWORD})
    assert "httponly" in login.headers["set-cookie"].lower() and "samesite=strict" in login.headers["set-cookie"].lower()
    # The test client keeps the cookie: reads work with it alone, changes need the header.
    assert world.client.get("/auth/me").json()["user"] == "manager"
    spec = {"name": "t", "query": {"kind": "unannotated"}}
    refused = world.client.post("/tasks", json=spec)
    assert refused.status_code == 403 and "X-Requested-With" in refused.json()["detail"]
    assert world.client.post("/tasks", json=spec, headers={"X-Requested-With": "keepsight"}).status_code == 201
    world.client.cookies.clear()


def test_the_audit_log_records_who_did_what_and_refuses_edits(world: World) -> None:
    world.call("manager", "POST", "/tasks", json={"name": "t", "query": {"kind": "unannotated"}})
    world.call("ann1", "POST", "/tasks", json={"name": "t2", "query": {"kind": "unannotated"}})  # refused: 403
    world.client.get("/users")  # refused: 401, a read, still logged
    log = world.call("admin", "GET", "/audit-log").json()
    rows = [(e["user_name"], e["method"], e["path"], e["action"], e["status"]) for e in log]
    assert ("manager", "POST", "/tasks", "tasks.manage", 201) in rows
    assert ("ann1", "POST", "/tasks", "tasks.manage", 403) in rows
    assert (None, "GET", "/users", "users.list", 401) in rows
    assert ("ann1", "POST", "/auth/login", "public", 200) in rows
    assert world.call("manager", "GET", "/audit-log").status_code == 403
    with world.ds.engine.connect() as conn:
        for statement in ("UPDATE svc_audit_log SET status = 200", "DELETE FROM svc_audit_log"):
            with pytest.raises(DatabaseError, match="append-only"), conn.begin():
                conn.execute(text(statement))
    with world.ds.reading() as conn:
        assert len(auditlog.read(conn, limit=1000)) >= len(log)
