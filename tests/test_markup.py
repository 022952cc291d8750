"""Memoised question markup (wizard/markup.py) shows exactly what a fresh rendering shows, and
never keeps a client's typed text; a step save never writes into a submitted draft."""
from __future__ import annotations

import datetime as dt
import secrets
from types import SimpleNamespace
from typing import Any

from flask import Flask, g, url_for
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update
from werkzeug.datastructures import MultiDict

from screener.extensions import db
from screener.questionnaire.model import Question, Questionnaire
from screener.storage.models import Draft, utcnow
from screener.wizard.drafts import (
    DraftRow,
    find_clinic_and_draft,
    hash_token,
    save_draft,
    submit_token,
)
from screener.wizard.markup import FREE_TEXT, LRU, answer_state
from screener.wizard.shell import STAND_IN_TOKEN, draft_url

from .conftest import TEST_SECRET, Walker, answers_by_step, csrf_of, draft_of, step_of

HEALTH_NOTES = step_of("other_health")  # the step with the free-text health question

PROPERTY = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def questionnaire(app: Flask) -> Questionnaire:
    return app.extensions["questionnaire"]  # type: ignore[no-any-return]


def stored_value(q: Question) -> st.SearchStrategy[Any]:
    """Values a draft may hold for a question, including stale or odd ones of other types."""
    odd = st.sampled_from([None, True, 0, 3, "3", "x", 2.5, ["no"], {}])
    if q.type == "single":
        return st.one_of(st.sampled_from([*q.choice_values, "not-a-choice"]), odd)
    if q.type == "multi":
        return st.one_of(st.lists(st.sampled_from([*q.choice_values, "stale"]), unique=True, max_size=4), odd)
    if q.type == "scale":
        return st.one_of(st.integers(min_value=(q.min or 0) - 2, max_value=(q.max or 10) + 2), odd)
    if q.type == "consent":
        return st.one_of(st.booleans(), odd)
    if q.type == "date":
        return st.one_of(st.dates(dt.date(1990, 1, 1), dt.date(2035, 12, 31)).map(dt.date.isoformat), odd)
    return st.one_of(st.text(max_size=40), odd)


@st.composite
def step_and_answers(draw: st.DrawFn, qn: Questionnaire) -> tuple[str, dict[str, Any]]:
    step = draw(st.sampled_from(qn.steps))
    answers: dict[str, Any] = {}
    for q in step.questions:
        if draw(st.booleans()):
            answers[q.id] = draw(stored_value(q))
    return step.id, answers


def set_answers(app: Flask, token: str, step_id: str, answers: dict[str, Any], lang: str) -> None:
    with app.app_context(), db.transaction() as session:
        session.execute(
            update(Draft)
            .where(Draft.token_hash == hash_token(token))
            .values(answers=answers, current_step=step_id, lang=lang)
        )


def page(client: FlaskClient, url: str) -> str:
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code)
    return r.get_data(as_text=True)


def caches(
    app: Flask, markup: LRU, shells: LRU, blocks: LRU | None = None, urls: LRU | None = None,
    sections: LRU | None = None,
) -> None:
    """The wizard's caches: question markup, page shells, questions blocks, draft URLs and the
    review page's answer sections (the last three off unless given)."""
    app.extensions["question_markup"] = markup
    app.extensions["page_shells"] = shells
    app.extensions["questions_blocks"] = blocks if blocks is not None else LRU(0)
    app.extensions["draft_urls"] = urls if urls is not None else LRU(0)
    app.extensions["answer_sections"] = sections if sections is not None else LRU(0)


def test_cached_pages_equal_fresh_pages_for_any_stored_answers(app: Flask, client: FlaskClient) -> None:
    """Question markup (wizard/markup.py) and page shells (wizard/shell.py) from the caches give
    byte for byte the page a full rendering gives: any step, answers, language, standalone or
    embedded in a clinic's page, from the review page or not."""
    qn = questionnaire(app)
    walker = Walker(client)
    walker.start()
    token = walker.token
    # One cache of each through all examples, as in a long-running worker.
    markup, shells, blocks, urls = LRU(4096), LRU(512), LRU(512), LRU(2048)

    @PROPERTY
    @given(
        data=st.data(),
        lang=st.sampled_from(["en", "zh-Hant"]),
        where=st.sampled_from(["/c/demo", "/embed/demo", "/embed/demo?host=http://localhost:5001"]),
        from_review=st.booleans(),
    )
    def check(data: st.DataObject, lang: str, where: str, from_review: bool) -> None:
        step_id, answers = data.draw(step_and_answers(qn))
        # Earlier steps answered as needed so the step is visible (show_if on steps).
        set_answers(app, token, step_id, {"pregnancy": "no", "age_band": "30_44", **answers}, lang)
        prefix, _, query = where.partition("?")
        args = "&".join(a for a in (query, "from=review" if from_review else "") if a)
        url = f"{prefix}/d/{token}/s/{step_id}" + (f"?{args}" if args else "")
        caches(app, LRU(0), LRU(0))  # nothing kept: everything rendered
        fresh = page(client, url)
        caches(app, markup, shells, blocks, urls)
        assert page(client, url) == fresh
        assert page(client, url) == fresh

    check()
    # the comparison did exercise cached parts
    assert markup.hits > 100 and shells.hits > 40 and blocks.hits > 20
    assert token not in "".join("".join(p) for p in shells._data.values())  # shells hold no draft's values


def test_cached_review_pages_equal_fresh_ones(app: Flask, client: FlaskClient, walk: Any) -> None:
    """The review page from its shell is byte for byte the fully rendered one, the draft's token
    in every link included, and typed answers (markup, marker characters) come out as typed."""
    w = walk(**answers_by_step(full_name="<b>Ann</b> \ue000csrf_token\ue001 & Co",
                               other_health="Hay fever <script>x</script>"))
    typed_token = w.token
    # no typed text on its health notes step, and another answer on the comfort step
    plain_token = walk(**answers_by_step(other_health="", pain_sensitivity="3")).token
    shells, urls, sections = LRU(512), LRU(2048), LRU(2048)
    for lang in ("en", "zh-Hant"):
        for where in ("/c/demo", "/embed/demo", "/embed/demo?host=http://localhost:5001"):
            for token in (typed_token, plain_token):
                prefix, _, query = where.partition("?")
                url = f"{prefix}/d/{token}/review?" + "&".join(
                    a for a in (query, f"lang={lang}") if a)
                caches(app, LRU(0), LRU(0))
                fresh = page(client, url)
                caches(app, LRU(4096), shells, urls=urls, sections=sections)
                assert page(client, url) == fresh
                assert page(client, url) == fresh
                assert f"{prefix}/d/{token}/s/{HEALTH_NOTES}?from=review" in fresh
                assert f"{prefix}/d/{token}/s/about_you?from=review" in fresh
                assert f"{prefix}/d/{token}/submit" in fresh
            typed = page(client, url.replace(plain_token, typed_token))
            assert "&lt;b&gt;Ann&lt;/b&gt; \ue000csrf_token\ue001 &amp; Co" in typed
            assert "4" in _answer_of(typed, "pain_sensitivity")
            assert "3" in _answer_of(page(client, url), "pain_sensitivity")
    assert shells.hits >= 6 and len(shells) == 6
    # Sections without typed text were kept and shared by both drafts; none holds a token or
    # typed text (the details step, with a name, never is; health notes only for the second walk).
    assert sections.hits > 20
    kept = "".join(sections._data.values())
    assert typed_token not in kept and plain_token not in kept and "Ann" not in kept
    assert "Hay fever" not in kept and HEALTH_NOTES in {k[1] for k in sections._data}
    assert "details" not in {k[1] for k in sections._data}


def _answer_of(html: str, question_id: str) -> str:
    """The shown answer of a question on a review page."""
    row = html[:html.index(f"#q-{question_id}")].rsplit('<div class="answer-row">', 1)[1]
    return row.split('<dd class="answer-value">', 1)[1].split("</dd>", 1)[0]


def test_answer_states_keep_only_the_questions_own_values(app: Flask) -> None:
    qn = questionnaire(app)
    by_type = {q.type: q for q in qn.questions.values()}
    single, multi, scale = by_type["single"], by_type["multi"], by_type["scale"]
    value = single.choice_values[0]
    assert answer_state(single, value) == value
    assert answer_state(single, "not one of them") is FREE_TEXT
    assert answer_state(multi, list(multi.choice_values[:2])) == tuple(multi.choice_values[:2])
    assert answer_state(multi, [multi.choice_values[0], "typed"]) is FREE_TEXT
    assert answer_state(scale, 3) == 3 and answer_state(scale, "3") is FREE_TEXT
    assert answer_state(scale, True) is FREE_TEXT  # True == 1, but it would show otherwise
    assert answer_state(by_type["consent"], True) is True
    assert answer_state(by_type["consent"], "yes") is False  # shown as not answered
    for typed in ("text", "textarea", "date"):
        if typed in by_type:
            assert answer_state(by_type[typed], "2020-01-01") is FREE_TEXT
    assert answer_state(single, None) is None and answer_state(multi, []) is None


def test_cached_markup_equals_fresh_markup_with_errors(app: Flask, client: FlaskClient) -> None:
    walker = Walker(client)
    walker.start()
    url = walker.url
    bad = MultiDict([("age_band", "nope"), ("action", "continue")])

    def post() -> str:
        form = MultiDict(bad)
        form["csrf_token"] = csrf_of(client.get(url))
        r = client.post(url, data=form)
        assert r.status_code == 200
        return r.get_data(as_text=True)

    caches(app, LRU(0), LRU(0))
    fresh = post()
    caches(app, cache := LRU(4096), LRU(512))
    assert "Choose one of the options shown." not in page(client, url)  # caches the plain markup
    assert fresh == post() == post()
    assert "Choose one of the options shown." in fresh
    assert cache.hits >= 2


def test_typed_text_is_never_kept_in_the_cache(app: Flask, walk: Any) -> None:
    w = walk(**answers_by_step(full_name="Zebedee Quartermaine", other_health="Hay fever 123"))
    # Show both steps again, now holding the typed answers.
    for step_id in ("details", HEALTH_NOTES):
        assert w.client.get(f"{w.base}/s/{step_id}").status_code == 200
    cache: LRU = app.extensions["question_markup"]
    kept = "".join(str(v) for v in cache._data.values())
    assert len(cache) > 0
    assert "Zebedee" not in kept and "Hay fever 123" not in kept
    assert "client@example.com" not in kept and "mei@example.com" not in kept


def test_lru_keeps_the_most_recent_entries() -> None:
    cache = LRU(2)
    cache.put("a", "1")  # type: ignore[arg-type]
    cache.put("b", "2")  # type: ignore[arg-type]
    assert cache.get("a") == "1"
    cache.put("c", "3")  # type: ignore[arg-type]
    assert cache.get("b") is None and cache.get("a") == "1" and cache.get("c") == "3"
    assert len(cache) == 2 and cache.hits == 3 and cache.misses == 1


def _draft_row(token: str) -> DraftRow:
    """The draft as a client request reads it (find_clinic_and_draft)."""
    clinic, draft = find_clinic_and_draft(db.driver(), "demo", token)
    assert clinic is not None and clinic.slug == "demo" and draft is not None
    return draft


def test_a_save_never_writes_into_a_submitted_draft(app: Flask, walk: Any, session: Any) -> None:
    w = walk()
    assert w.submit().status_code == 303
    with app.app_context():
        draft = _draft_row(w.token)
        assert draft.submitted_at is not None and draft.answers == {}
        # a step save that lost the race with the submit
        assert save_draft(db.driver(), draft, {"full_name": "Late"}, "details") is False
    stored = draft_of(session, w.token)
    assert stored.answers == {} and stored.current_step is None


def test_save_keeps_the_loaded_draft_in_step(app: Flask, walker: Walker, session: Any) -> None:
    walker.start()
    with app.app_context():
        draft = _draft_row(walker.token)
        before = draft.updated_at
        assert save_draft(db.driver(), draft, {"age_band": "18_29"}, "goals", lang="zh-Hant")
        assert (draft.answers, draft.current_step, draft.lang) == ({"age_band": "18_29"}, "goals", "zh-Hant")
        assert draft.updated_at >= before and draft.updated_at <= utcnow()
    stored = draft_of(session, walker.token)
    assert (stored.answers, stored.current_step, stored.lang) == ({"age_band": "18_29"}, "goals", "zh-Hant")


def mark_of(app: Flask, answers: dict[str, Any]) -> str:
    from screener.wizard.views import completeness_mark

    with app.app_context():
        return completeness_mark(answers)


def test_a_complete_walk_is_marked_checked_and_any_other_save_clears_the_mark(
    app: Flask, walk: Any, session: Any
) -> None:
    w = walk()
    draft = draft_of(session, w.token)
    assert draft.checked_for == mark_of(app, draft.answers)
    assert draft.checked_for.startswith(f"{questionnaire(app).version}:{dt.date.today().isoformat()}:")
    # Back from the last step saves the step without the full check: the mark goes.
    r = w.post_step({}, action="back", url=f"{w.base}/s/details")
    assert r.status_code == 303
    assert draft_of(session, w.token).checked_for is None
    # Sending the step again from the review page checks everything again.
    r = w.post_step({"full_name": "Mei Chen", "email": "mei@example.com", "consent_store": "y",
                     "consent_not_advice": "y"}, url=f"{w.base}/s/details?from=review")
    assert r.status_code == 303 and r.headers["Location"].endswith("/review")
    draft = draft_of(session, w.token)
    assert draft.checked_for == mark_of(app, draft.answers)


def test_a_mark_for_other_answers_another_day_or_questionnaire_does_not_skip_the_check(
    app: Flask, walk: Any, session: Any
) -> None:
    w = walk()
    draft = draft_of(session, w.token)
    complete = dict(draft.answers)
    answers = {k: v for k, v in complete.items() if k != "consent_store"}  # now incomplete
    version, digest = questionnaire(app).version, mark_of(app, answers).rsplit(":", 1)[1]
    stale_marks = (
        mark_of(app, complete),  # the mark of the complete answers, for changed answers
        f"{version}:2001-01-01:{digest}",  # these answers, another day
        f"0123456789ab:{dt.date.today().isoformat()}:{digest}",  # another questionnaire
    )
    for stale in stale_marks:
        session.execute(update(Draft).where(Draft.id == draft.id).values(answers=answers, checked_for=stale))
        session.commit()
        review = w.client.get(f"{w.base}/review")
        assert review.status_code == 303 and "/s/details?check=1" in review.headers["Location"]
        token = submit_token(TEST_SECRET, hash_token(w.token))  # what the review page would carry
        r = w.client.post(f"{w.base}/submit", data={"csrf_token": token})
        assert r.status_code == 303 and "/s/details?check=1" in r.headers["Location"]
    assert draft_of(session, w.token).submitted_at is None
    # The control: the right mark for these answers does skip the check (review shows them).
    session.execute(update(Draft).where(Draft.id == draft.id).values(checked_for=mark_of(app, answers)))
    session.commit()
    assert w.client.get(f"{w.base}/review").status_code == 200


def test_a_shell_belongs_to_one_clinic_and_follows_its_name(app: Flask, client: FlaskClient) -> None:
    from screener.storage.models import Clinic

    with app.app_context(), db.transaction() as s:
        s.add(Clinic(slug="other", name="Other Clinic", allowed_origins=[]))
    demo, other = Walker(client), Walker(client, prefix="/c/other")
    demo.start()
    other.start()
    assert "Demo Clinic" in page(client, demo.url) and "Other Clinic" not in page(client, demo.url)
    assert "Other Clinic" in page(client, other.url) and "Demo Clinic" not in page(client, other.url)
    with app.app_context(), db.transaction() as s:
        s.execute(update(Clinic).where(Clinic.slug == "other").values(name="Renamed Clinic"))
    assert "Renamed Clinic" in page(client, other.url) and "Other Clinic" not in page(client, other.url)


def test_a_step_save_that_lost_the_race_with_the_submit_leaves_the_draft_object_alone(
    app: Flask, walk: Any
) -> None:
    w = walk()
    with app.app_context():
        draft = _draft_row(w.token)
        before = dict(draft.answers)
    assert w.submit().status_code == 303
    with app.app_context():
        assert save_draft(db.driver(), draft, {"full_name": "Late"}, "details") is False
        assert draft.answers == before  # not pretending the late save was stored


def test_draft_urls_equal_url_for(app: Flask) -> None:
    """wurl's URLs, built once with a stand-in token (shell.draft_url), are url_for's for every
    draft, clinic, host and blueprint, and the cache holds no draft's token."""
    app.extensions["draft_urls"] = cache = LRU(2048)
    calls = [("step", {"step_id": HEALTH_NOTES, "from": "review"}), ("resume", {"_external": True}),
             ("review", {"lang": "zh-Hant"}), ("submit", {})]
    tokens = [secrets.token_urlsafe(24) for _ in range(3)]
    hosts = [None, None, "http://localhost:5001"]  # the first two drafts share one
    for base in ("http://a.example", "https://b.example:8443", "https://b.example:8443/root"):
        for slug in ("demo", "other"):
            for token in tokens:
                with app.test_request_context("/", base_url=base):
                    g.clinic, g.token = SimpleNamespace(slug=slug), token
                    g.embed_host = hosts[tokens.index(token)]  # a different host per draft
                    for blueprint in ("client", "embed"):
                        for endpoint, values in calls:
                            name = f"{blueprint}.{endpoint}"
                            url = draft_url(name, values)
                            assert url == url_for(name, **values), (base, slug, name)
                            assert f"/{slug}/d/{token}/" in url
                    assert g.token == token
                    start = draft_url("client.start", {})  # no draft yet: no token
                    assert start == url_for("client.start") and "/d/" not in start
    kept = "".join(cache._data.values())
    assert cache.hits >= 3 * 2 * 2 * 4 and STAND_IN_TOKEN in kept
    assert not any(token in kept for token in tokens)
