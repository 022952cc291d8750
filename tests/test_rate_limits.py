"""Rate limits on draft creation and submission (the practitioners' login has its own tests)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from screener import create_app

from .conftest import STEP_ANSWERS, TEST_SECRET, Walker, csrf_of, free_port, start_form, submissions


@pytest.fixture
def limited(app: Flask, database_url: str) -> Iterator[Flask]:
    """The app with low limits (the `app` fixture has reset the database and made the clinic)."""
    strict = create_app(
        {"TESTING": True, "SECRET_KEY": TEST_SECRET, "DATABASE_URL": database_url,
         "DRAFT_RATE_LIMIT": "3 per minute", "SUBMIT_RATE_LIMIT": "2 per minute"}
    )
    yield strict
    from screener.extensions import db

    db.of(strict).engine.dispose()


def test_draft_creation_is_limited_per_address(limited: Flask) -> None:
    client = limited.test_client()
    codes = [client.post("/c/demo/start", data=start_form()).status_code for _ in range(5)]
    assert codes == [303, 303, 303, 429, 429]
    page = client.post("/c/demo/start", data=start_form())
    assert "Too many attempts" in page.get_data(as_text=True)
    other = limited.test_client().post(
        "/c/demo/start", data=start_form(), environ_base={"REMOTE_ADDR": "198.51.100.7"}
    )
    assert other.status_code == 303  # another address is not affected


def test_one_start_limit_across_standalone_and_embedded(limited: Flask) -> None:
    """/c/ and /embed/ are the same wizard: switching address does not double the allowance."""
    client = limited.test_client()
    codes = [client.post(f"/{kind}/demo/start", data=start_form()).status_code
             for kind in ("c", "embed", "c", "embed")]
    assert codes == [303, 303, 303, 429]


def test_one_submit_limit_across_standalone_and_embedded(limited: Flask, session: Any) -> None:
    client: FlaskClient = limited.test_client()
    w = Walker(client, prefix="/embed/demo")
    w.start()
    for answers in STEP_ANSWERS.values():
        w.post_step(answers)
    token = csrf_of(client.get(f"{w.base}/review"))
    assert client.post(f"/c/demo/d/{'x' * 32}/submit", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/c/demo/d/{'y' * 32}/submit", data={"csrf_token": token}).status_code == 404
    assert client.post(f"{w.base}/submit", data={"csrf_token": token}).status_code == 429
    assert not submissions(session)


def test_submission_is_limited_and_the_draft_survives(limited: Flask, session: Any) -> None:
    client: FlaskClient = limited.test_client()
    w = Walker(client)
    w.start()
    for answers in STEP_ANSWERS.values():
        w.post_step(answers)
    token = csrf_of(client.get(f"{w.base}/review"))
    bogus = [client.post(f"/c/demo/d/{'x' * 32}/submit", data={"csrf_token": token}).status_code
             for _ in range(2)]
    assert bogus == [404, 404]
    r = client.post(f"{w.base}/submit", data={"csrf_token": token})
    assert r.status_code == 429
    assert not submissions(session)
    # The answers are still there: the review page still shows them once the client retries.
    assert "Mei Chen" in client.get(f"{w.base}/review").get_data(as_text=True)


def test_an_unreachable_shared_store_falls_back_to_memory(app: Flask, database_url: str) -> None:
    """RATELIMIT_STORAGE_URI names a Redis server that is down: requests are still served (no
    500) and the limits still hold, counted in the process's memory."""
    port = free_port()  # nothing listens there
    down = create_app(
        {"TESTING": True, "SECRET_KEY": TEST_SECRET, "DATABASE_URL": database_url,
         "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{port}/0", "DRAFT_RATE_LIMIT": "3 per minute"}
    )
    try:
        client = down.test_client()
        codes = [client.post("/c/demo/start", data=start_form()).status_code for _ in range(5)]
        assert codes == [303, 303, 303, 429, 429]
    finally:
        from screener.extensions import db, limiter

        db.of(down).engine.dispose()
        # The limiter object is shared by every app of this process (one app per process in
        # production): forget the dead store, or later apps would count in its fallback memory.
        limiter._storage_dead = False
