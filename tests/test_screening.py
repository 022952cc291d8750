"""The screening engine: personas with their exact flags, edge dates, flag details, JSON form."""
from __future__ import annotations

import ast
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from screener.config import ROOT
from screener.questionnaire import load_questionnaire
from screener.questionnaire.model import LANGUAGES, SEVERITIES, Compare, Questionnaire
from screener.screening import Flag, Timing, flags_from_json, screen
from screener.screening.summary import (
    DISCUSS_FIRST,
    NOTHING_SPECIAL,
    SEE_DOCTOR,
    client_summary,
    outcome,
    practitioner_summary,
)

from .conftest import stored_answers

TODAY = dt.date(2025, 6, 15)


@pytest.fixture(scope="module")
def qn() -> Questionnaire:
    return load_questionnaire(ROOT / "questions.yaml")


def ago(days: int, today: dt.date = TODAY) -> str:
    return (today - dt.timedelta(days=days)).isoformat()


def ahead(days: int, today: dt.date = TODAY) -> str:
    return (today + dt.timedelta(days=days)).isoformat()


# A client with nothing notable: answers as the wizard stores them (typed, pruned).
BASE: dict[str, Any] = stored_answers()

# (persona, answers that differ from BASE, the exact (severity, rule) pairs expected)
PERSONAS: list[tuple[str, dict[str, Any], set[tuple[str, str]]]] = [
    ("nothing_notable", {}, set()),
    ("pregnant", {"pregnancy": "yes"}, {("red_flag", "pregnancy")}),
    ("maybe_pregnant", {"pregnancy": "not_sure"}, {("red_flag", "pregnancy")}),
    ("pregnancy_not_applicable_60_plus", {"age_band": "60_plus", "pregnancy": "not_applicable"}, set()),
    ("on_warfarin", {"blood_thinners": "yes"}, {("discuss", "blood_thinners")}),
    ("unsure_about_blood_thinners", {"blood_thinners": "not_sure"}, {("discuss", "blood_thinners")}),
    (
        "botox_10_days_ago",
        {"recent_procedures": ["botox"], "botox_when": ago(10)},
        {("timing", "botox_recent")},
    ),
    (
        "botox_120_days_ago",
        {"recent_procedures": ["botox"], "botox_when": ago(120)},
        {("info", "botox_past")},
    ),
    ("under_18", {"age_band": "under_18"}, {("red_flag", "under_18")}),
    # Pain: 0 = not sensitive at all, 10 = extremely sensitive; 7 or more asks for comfort.
    (
        "pain_sensitivity_8_and_strong_needle_fear",
        {"pain_sensitivity": 8, "needle_fear": "strong"},
        {("comfort", "pain_sensitive"), ("discuss", "needle_fear_strong")},
    ),
    ("pain_sensitivity_exactly_7", {"pain_sensitivity": 7}, {("comfort", "pain_sensitive")}),
    ("pain_sensitivity_6", {"pain_sensitivity": 6}, set()),
    ("pain_sensitivity_0", {"pain_sensitivity": 0}, set()),
    # A draft begun with the first edition still holds pain_tolerance (0 = very sensitive): no
    # longer a question, so it counts for nothing.
    ("stale_pain_tolerance_is_ignored", {"pain_tolerance": 1}, set()),
    ("some_needle_fear", {"needle_fear": "some"}, {("comfort", "needle_fear_some")}),
    ("uncontrolled_seizures", {"seizures": "uncontrolled_or_unexplained"}, {("red_flag", "seizures_uncontrolled")}),
    ("controlled_seizures", {"seizures": "controlled"}, {("discuss", "seizures_controlled")}),
    # Facial skin: an infection or shingles needs a doctor; a cold sore or a wound needs waiting.
    ("facial_skin_infection", {"facial_skin": ["infection"]}, {("red_flag", "facial_skin_infection")}),
    ("facial_shingles", {"facial_skin": ["shingles"]}, {("red_flag", "facial_shingles")}),
    ("cold_sore_now", {"facial_skin": ["cold_sore"]}, {("timing", "facial_skin_healing")}),
    ("rosacea_and_acne", {"facial_skin": ["rosacea", "acne"]}, {("discuss", "facial_skin_condition")}),
    (
        "open_wound_and_eczema_flare",
        {"facial_skin": ["open_wound", "eczema_flare"]},
        {("timing", "facial_skin_healing"), ("discuss", "facial_skin_condition")},
    ),
    ("psoriasis_flare", {"facial_skin": ["psoriasis_flare"]}, {("discuss", "facial_skin_new_patches")}),
    ("vitiligo", {"facial_skin": ["vitiligo"]}, {("discuss", "facial_skin_new_patches")}),
    (
        "infected_cold_sore_and_vitiligo",
        {"facial_skin": ["infection", "cold_sore", "vitiligo"]},
        {
            ("red_flag", "facial_skin_infection"),
            ("timing", "facial_skin_healing"),
            ("discuss", "facial_skin_new_patches"),
        },
    ),
    ("changing_mole", {"facial_lesion": "yes"}, {("red_flag", "facial_lesion")}),
    ("gets_cold_sores", {"cold_sore_history": "yes"}, {("info", "cold_sore_history")}),
    ("stroke_or_heart_attack_this_year", {"recent_stroke_heart": "yes"}, {("red_flag", "recent_stroke_heart")}),
    (
        "fish_oil_and_ginkgo",
        {"bleeding_supplements": ["fish_oil", "ginkgo"]},
        {("info", "bleeding_supplements")},
    ),
    ("regular_ibuprofen", {"bleeding_supplements": ["painkillers_regular"]}, {("info", "bleeding_supplements")}),
    ("fainted_with_needles", {"fainting_history": "yes"}, {("discuss", "fainting_history")}),
    ("first_timer", {"acupuncture_before": "never"}, {("comfort", "first_timer")}),
    ("had_facial_acupuncture", {"acupuncture_before": "facial"}, set()),
    ("cannot_lie_still", {"lie_still": "no"}, {("discuss", "cannot_lie_still")}),
    ("not_sure_can_lie_still", {"lie_still": "not_sure"}, set()),
    ("bleeding_disorder_unsure", {"bleeding_disorder": "not_sure"}, {("red_flag", "bleeding_disorder")}),
    ("bruises_easily", {"bruise_easily": "yes"}, {("discuss", "bruise_easily")}),
    # A pacemaker rules out electrical stimulation, not manual needling: to discuss.
    ("pacemaker", {"implanted_device": "yes"}, {("discuss", "implanted_device")}),
    ("in_cancer_treatment", {"cancer_treatment": "yes"}, {("red_flag", "cancer_treatment")}),
    ("immunosuppressed", {"immunosuppressed": "yes"}, {("red_flag", "immunosuppressed")}),
    ("replaced_heart_valve", {"heart_valve": "yes"}, {("red_flag", "heart_valve")}),
    ("new_facial_numbness", {"new_symptoms": "yes"}, {("red_flag", "new_symptoms")}),
    (
        "nickel_allergy_and_keloids",
        {"metal_allergy": "yes", "keloid": "yes"},
        {("discuss", "metal_allergy"), ("discuss", "keloid")},
    ),
    (
        "uncontrolled_bp_diabetes_and_migraine",
        {
            "blood_pressure": "uncontrolled_or_unsure",
            "diabetes": "uncontrolled_or_unsure",
            "migraine": "frequent_or_severe",
        },
        {("discuss", "blood_pressure"), ("discuss", "diabetes"), ("discuss", "migraine")},
    ),
    (
        "controlled_bp_and_diabetes_occasional_migraine",
        {"blood_pressure": "controlled", "diabetes": "controlled", "migraine": "occasional"},
        set(),
    ),
    ("isotretinoin_now", {"isotretinoin": "current"}, {("discuss", "isotretinoin")}),
    ("isotretinoin_this_year", {"isotretinoin": "last_12_months"}, {("discuss", "isotretinoin")}),
    ("isotretinoin_long_ago", {"isotretinoin": "longer_ago"}, set()),
    ("bells_palsy", {"facial_nerve": "yes"}, {("discuss", "facial_nerve")}),
    ("has_the_flu", {"unwell_now": "yes"}, {("timing", "unwell_now")}),
    # The event window: 0 to 14 days ahead, both ends included.
    (
        "wedding_in_5_days",
        {"upcoming_event": "yes", "upcoming_event_date": ahead(5)},
        {("timing", "upcoming_event_soon")},
    ),
    (
        "event_today",
        {"upcoming_event": "yes", "upcoming_event_date": ahead(0)},
        {("timing", "upcoming_event_soon")},
    ),
    (
        "event_exactly_14_days_ahead",
        {"upcoming_event": "yes", "upcoming_event_date": ahead(14)},
        {("timing", "upcoming_event_soon")},
    ),
    ("event_15_days_ahead", {"upcoming_event": "yes", "upcoming_event_date": ahead(15)}, set()),
    ("wedding_in_30_days", {"upcoming_event": "yes", "upcoming_event_date": ahead(30)}, set()),
    (
        "stale_event_date_without_an_event",  # said yes, gave a date, then said no
        {"upcoming_event": "no", "upcoming_event_date": ahead(3)},
        set(),
    ),
    (
        "wants_results_in_a_week_in_two_sessions",
        {"expected_timeframe": "within_a_week", "course_commitment": "one_or_two"},
        {("info", "expected_timeframe_quick"), ("info", "short_course")},
    ),
    ("permanent_filler", {"permanent_implants": "yes"}, {("discuss", "permanent_implants")}),
    # Lasers: non-ablative 30 days; ablative, or not sure which, 90 days.
    (
        "non_ablative_laser_20_days_peel_40_days",
        {
            "recent_procedures": ["laser", "peel"],
            "laser_when": ago(20),
            "laser_type": "non_ablative",
            "peel_when": ago(40),
            "peel_depth": "superficial",
        },
        {("timing", "laser_recent"), ("info", "peel_past")},
    ),
    (
        "non_ablative_laser_on_the_last_day_of_its_window",
        {"recent_procedures": ["laser"], "laser_when": ago(29), "laser_type": "non_ablative"},
        {("timing", "laser_recent")},
    ),
    (
        "non_ablative_laser_exactly_30_days_ago",
        {"recent_procedures": ["laser"], "laser_when": ago(30), "laser_type": "non_ablative"},
        {("info", "laser_past")},
    ),
    (
        "ablative_laser_60_days_ago",
        {"recent_procedures": ["laser"], "laser_when": ago(60), "laser_type": "ablative"},
        {("timing", "laser_deep_recent")},
    ),
    (
        "ablative_laser_on_the_last_day_of_its_window",
        {"recent_procedures": ["laser"], "laser_when": ago(89), "laser_type": "ablative"},
        {("timing", "laser_deep_recent")},
    ),
    (
        "ablative_laser_exactly_90_days_ago",
        {"recent_procedures": ["laser"], "laser_when": ago(90), "laser_type": "ablative"},
        {("info", "laser_deep_past")},
    ),
    (
        "unknown_laser_40_days_ago",
        {"recent_procedures": ["laser"], "laser_when": ago(40), "laser_type": "not_sure"},
        {("timing", "laser_deep_recent")},
    ),
    # Peels: superficial 30 days; medium or deep, or not sure, 90 days.
    (
        "superficial_peel_last_week",
        {"recent_procedures": ["peel"], "peel_when": ago(7), "peel_depth": "superficial"},
        {("timing", "peel_recent")},
    ),
    (
        "deep_peel_60_days_ago",
        {"recent_procedures": ["peel"], "peel_when": ago(60), "peel_depth": "medium_or_deep"},
        {("timing", "peel_deep_recent")},
    ),
    (
        "unknown_peel_100_days_ago",
        {"recent_procedures": ["peel"], "peel_when": ago(100), "peel_depth": "not_sure"},
        {("info", "peel_deep_past")},
    ),
    (
        "microneedling_on_the_last_day_of_its_window",
        {"recent_procedures": ["microneedling"], "microneedling_when": ago(13)},
        {("timing", "microneedling_recent")},
    ),
    (
        "microneedling_exactly_14_days_ago",
        {"recent_procedures": ["microneedling"], "microneedling_when": ago(14)},
        {("info", "microneedling_past")},
    ),
    (
        "hifu_20_days_ago_prp_5_days_ago",
        {"recent_procedures": ["energy_device", "prp"], "energy_device_when": ago(20), "prp_when": ago(5)},
        {("timing", "energy_device_recent"), ("timing", "prp_recent")},
    ),
    (
        "ipl_exactly_30_days_ago_prp_exactly_14_days_ago",
        {"recent_procedures": ["energy_device", "prp"], "energy_device_when": ago(30), "prp_when": ago(14)},
        {("info", "energy_device_past"), ("info", "prp_past")},
    ),
    (
        "surgery_100_days_threads_200_days",
        {"recent_procedures": ["surgery", "threads"], "surgery_when": ago(100), "threads_when": ago(200)},
        {("timing", "surgery_recent"), ("info", "threads_past")},
    ),
    (
        "filler_60_days_botox_95_days",
        {"recent_procedures": ["botox", "filler"], "botox_when": ago(95), "filler_when": ago(60)},
        {("info", "botox_past"), ("timing", "filler_recent")},
    ),
    (
        "superficial_peel_and_threads_last_week",
        {
            "recent_procedures": ["peel", "threads"],
            "peel_when": ago(7),
            "peel_depth": "superficial",
            "threads_when": ago(7),
        },
        {("timing", "peel_recent"), ("timing", "threads_recent")},
    ),
    (
        "laser_filler_surgery_long_ago",
        {
            "recent_procedures": ["filler", "laser", "surgery"],
            "filler_when": ago(400),
            "laser_when": ago(300),
            "laser_type": "ablative",
            "surgery_when": ago(180),
        },
        {("info", "filler_past"), ("info", "laser_deep_past"), ("info", "surgery_past")},
    ),
    (
        "hidden_date_is_ignored",  # botox_when without choosing botox: the client never saw it
        {"recent_procedures": ["none"], "botox_when": ago(10)},
        set(),
    ),
    (
        # Laser ticked, dated and typed, then unticked: its stale answers are hidden and count
        # for nothing (they would raise laser_deep_recent).
        "hidden_laser_type_and_date_are_ignored",
        {"recent_procedures": ["botox"], "botox_when": ago(200), "laser_when": ago(10), "laser_type": "ablative"},
        {("info", "botox_past")},
    ),
    (
        "several_at_once",
        {
            "pregnancy": "yes",
            "blood_thinners": "yes",
            "recent_procedures": ["botox"],
            "botox_when": ago(10),
            "acupuncture_before": "never",
            "pain_sensitivity": 9,
            "facial_skin": ["infection", "acne"],
            "unwell_now": "yes",
            "expected_timeframe": "within_a_week",
            "cold_sore_history": "yes",
        },
        {
            ("red_flag", "pregnancy"),
            ("red_flag", "facial_skin_infection"),
            ("discuss", "blood_thinners"),
            ("discuss", "facial_skin_condition"),
            ("timing", "unwell_now"),
            ("timing", "botox_recent"),
            ("comfort", "pain_sensitive"),
            ("comfort", "first_timer"),
            ("info", "expected_timeframe_quick"),
            ("info", "cold_sore_history"),
        },
    ),
    (
        "anxious_first_timer_who_faints",
        {"needle_fear": "strong", "fainting_history": "yes", "acupuncture_before": "never", "lie_still": "no"},
        {
            ("discuss", "needle_fear_strong"),
            ("discuss", "fainting_history"),
            ("discuss", "cannot_lie_still"),
            ("comfort", "first_timer"),
        },
    ),
]


def test_the_persona_table_is_large_enough() -> None:
    assert len(PERSONAS) >= 25
    assert len({name for name, _, _ in PERSONAS}) == len(PERSONAS)


@pytest.mark.parametrize(
    ("overrides", "expected"), [(o, e) for _, o, e in PERSONAS], ids=[n for n, _, _ in PERSONAS]
)
def test_persona(
    qn: Questionnaire, overrides: dict[str, Any], expected: set[tuple[str, str]]
) -> None:
    flags = screen(qn, {**BASE, **overrides}, TODAY)
    got = [(f.severity, f.rule) for f in flags]
    assert set(got) == expected
    assert len(got) == len(expected)  # no rule twice


def test_every_rule_is_raised_by_some_persona(qn: Questionnaire) -> None:
    raised = {rule for _, _, expected in PERSONAS for _, rule in expected}
    assert {r.id for r in qn.rules} == raised


def test_flags_are_ordered_by_severity_then_file_order(qn: Questionnaire) -> None:
    answers = dict(BASE)
    for _name, overrides, _ in PERSONAS:
        if _name == "several_at_once":
            answers.update(overrides)
    flags = screen(qn, answers, TODAY)
    assert [f.rule for f in flags] == [
        "pregnancy",
        "facial_skin_infection",
        "blood_thinners",
        "facial_skin_condition",
        "unwell_now",
        "botox_recent",
        "pain_sensitive",
        "first_timer",
        "expected_timeframe_quick",
        "cold_sore_history",
    ]
    ranks = [SEVERITIES.index(f.severity) for f in flags]
    assert ranks == sorted(ranks)


def test_a_flag_says_why_and_carries_both_texts(qn: Questionnaire) -> None:
    [flag] = screen(qn, {**BASE, "blood_thinners": "yes"}, TODAY)
    rule = next(r for r in qn.rules if r.id == "blood_thinners")
    assert flag == Flag(
        rule="blood_thinners",
        severity="discuss",
        because=("blood_thinners",),
        client=rule.client,
        practitioner=rule.practitioner,
        source="S5a",
        timing=(),
    )
    assert flag.client.get("zh-Hant") != flag.client.get("en")


def test_because_lists_answered_questions_in_questionnaire_order(qn: Questionnaire) -> None:
    answers = {**BASE, "recent_procedures": ["botox"], "botox_when": ago(200)}
    [flag] = screen(qn, answers, TODAY)
    assert flag.rule == "botox_past"
    assert flag.because == ("recent_procedures", "botox_when")


def test_timing_details_of_a_recent_procedure(qn: Questionnaire) -> None:
    answers = {
        **BASE, "recent_procedures": ["laser"], "laser_when": "2025-06-01", "laser_type": "non_ablative"
    }
    [flag] = screen(qn, answers, TODAY)
    assert flag.rule == "laser_recent"
    assert flag.timing == (
        Timing(
            question="laser_when",
            date=dt.date(2025, 6, 1),
            days_since=14,
            window_days=30,
            window_ends=dt.date(2025, 7, 1),
            counted_to=TODAY,
            counted_to_event="submission",
        ),
    )


def test_timing_details_of_an_upcoming_event(qn: Questionnaire) -> None:
    answers = {**BASE, "upcoming_event": "yes", "upcoming_event_date": "2025-06-18"}
    [flag] = screen(qn, answers, TODAY)
    assert flag.rule == "upcoming_event_soon"
    [t] = flag.timing
    assert (t.question, t.date, t.days_since, t.days_until, t.ahead, t.window_days) == (
        "upcoming_event_date",
        dt.date(2025, 6, 18),
        -3,
        3,
        True,
        15,  # fewer than 15 days ahead: 0 to 14 days, both included
    )


# Edge dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "today", "expected"),
    [
        # botox window 90 days: open on day 89, passed on day 90
        ("2025-03-18", dt.date(2025, 6, 15), ("timing", "botox_recent")),  # day 89
        ("2025-03-17", dt.date(2025, 6, 15), ("info", "botox_past")),  # day 90
        # leap day: 2024-02-29 + 90 days = 2024-05-29
        ("2024-02-29", dt.date(2024, 5, 28), ("timing", "botox_recent")),
        ("2024-02-29", dt.date(2024, 5, 29), ("info", "botox_past")),
        # across the year end: 2024-12-01 + 90 days = 2025-03-01 (2025 is not a leap year)
        ("2024-12-01", dt.date(2025, 2, 28), ("timing", "botox_recent")),
        ("2024-12-01", dt.date(2025, 3, 1), ("info", "botox_past")),
        # a procedure today
        ("2025-06-15", dt.date(2025, 6, 15), ("timing", "botox_recent")),
    ],
)
def test_botox_window_edges(
    qn: Questionnaire, when: str, today: dt.date, expected: tuple[str, str]
) -> None:
    answers = {**BASE, "recent_procedures": ["botox"], "botox_when": when}
    assert [(f.severity, f.rule) for f in screen(qn, answers, today)] == [expected]


@pytest.mark.parametrize(
    ("today", "rule"),
    [
        (dt.date(2024, 3, 29), "laser_recent"),  # day 29 of a 30-day window
        (dt.date(2024, 3, 30), "laser_past"),  # 2024-02-29 + 30 days
    ],
)
def test_laser_window_from_a_leap_day(qn: Questionnaire, today: dt.date, rule: str) -> None:
    answers = {
        **BASE, "recent_procedures": ["laser"], "laser_when": "2024-02-29", "laser_type": "non_ablative"
    }
    [flag] = screen(qn, answers, today)
    assert flag.rule == rule
    assert flag.timing[0].window_ends == dt.date(2024, 3, 30)


def test_leap_day_timing_details(qn: Questionnaire) -> None:
    answers = {**BASE, "recent_procedures": ["botox"], "botox_when": "2024-02-29"}
    [flag] = screen(qn, answers, dt.date(2024, 3, 1))
    assert flag.timing == (
        Timing("botox_when", dt.date(2024, 2, 29), 1, 90, dt.date(2024, 5, 29), dt.date(2024, 3, 1)),
    )


def test_a_procedure_today(qn: Questionnaire) -> None:
    answers = {
        **BASE, "recent_procedures": ["peel"], "peel_when": TODAY.isoformat(), "peel_depth": "superficial"
    }
    [flag] = screen(qn, answers, TODAY)
    assert flag.rule == "peel_recent"
    assert flag.timing == (Timing("peel_when", TODAY, 0, 30, dt.date(2025, 7, 15), TODAY),)


@pytest.mark.parametrize(
    ("event", "flagged"),
    [
        ("2025-06-15", True),  # today
        ("2025-06-29", True),  # exactly 14 days ahead
        ("2025-06-30", False),  # 15 days ahead
        ("2025-07-15", False),
    ],
)
def test_event_window_edges(qn: Questionnaire, event: str, flagged: bool) -> None:
    """The event window runs from today to 14 days ahead, both days included."""
    answers = {**BASE, "upcoming_event": "yes", "upcoming_event_date": event}
    rules = [f.rule for f in screen(qn, answers, TODAY)]
    assert rules == (["upcoming_event_soon"] if flagged else [])


# Stored form -----------------------------------------------------------------------------------


def test_flag_json_round_trip(qn: Questionnaire) -> None:
    answers = {**BASE, "pregnancy": "yes", "recent_procedures": ["botox"], "botox_when": ago(10)}
    flags = screen(qn, answers, TODAY)
    stored = json.loads(json.dumps([f.to_json() for f in flags]))
    assert flags_from_json(stored) == flags
    timing = next(f for f in stored if f["rule"] == "botox_recent")
    assert tuple(timing) == ("rule", "severity", "because", "source", "client", "practitioner", "timing")
    assert set(timing["client"]) == set(LANGUAGES)
    assert timing["timing"] == [
        {
            "question": "botox_when",
            "date": "2025-06-05",
            "days_since": 10,
            "window_days": 90,
            "window_ends": "2025-09-03",
            "counted_to": "2025-06-15",
            "counted_to_event": "submission",
        }
    ]


def test_windows_are_counted_to_the_day_given(qn: Questionnaire) -> None:
    """An anti-wrinkle injection 80 days before the answers are sent, for an appointment 20
    days later: within the 90-day window on the day of sending, past it at the appointment."""
    answers = {**BASE, "recent_procedures": ["botox"], "botox_when": ago(80)}
    [sent] = screen(qn, answers, TODAY)
    assert sent.rule == "botox_recent" and sent.timing[0].days_since == 80
    visit = TODAY + dt.timedelta(days=20)
    [at_visit] = screen(qn, answers, visit, "appointment")
    assert at_visit.rule == "botox_past"
    [t] = at_visit.timing
    assert (t.days_since, t.counted_to, t.counted_to_appointment) == (100, visit, True)
    stored = at_visit.to_json()["timing"][0]
    assert (stored["counted_to"], stored["counted_to_event"]) == (visit.isoformat(), "appointment")
    # Flags stored before the day was recorded read as counted to the day of submission.
    old = {k: v for k, v in stored.items() if not k.startswith("counted_to")}
    assert Timing.from_json(old).counted_to is None
    assert not Timing.from_json(old).counted_to_appointment


def test_a_stored_flag_with_an_unknown_severity_is_refused(qn: Questionnaire) -> None:
    [flag] = screen(qn, {**BASE, "keloid": "yes"}, TODAY)
    data = {**flag.to_json(), "severity": "urgent"}
    with pytest.raises(ValueError, match="unknown severity"):
        Flag.from_json(data)


# Summary data ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, NOTHING_SPECIAL),
        ({"expected_timeframe": "within_a_week", "pain_sensitivity": 9}, NOTHING_SPECIAL),
        ({"cold_sore_history": "yes", "bleeding_supplements": ["garlic"]}, NOTHING_SPECIAL),
        ({"implanted_device": "yes"}, DISCUSS_FIRST),
        ({"facial_skin": ["cold_sore"]}, DISCUSS_FIRST),
        ({"facial_lesion": "yes"}, SEE_DOCTOR),
        ({"unwell_now": "yes"}, DISCUSS_FIRST),
        ({"keloid": "yes", "needle_fear": "some"}, DISCUSS_FIRST),
        ({"keloid": "yes", "age_band": "under_18"}, SEE_DOCTOR),
    ],
)
def test_outcome_follows_the_most_serious_flag(
    qn: Questionnaire, overrides: dict[str, Any], expected: str
) -> None:
    assert outcome(screen(qn, {**BASE, **overrides}, TODAY)) == expected


def test_client_summary_data_explains_each_flag(qn: Questionnaire) -> None:
    answers = {**BASE, "seizures": "controlled", "pregnancy": "not_sure"}
    data = client_summary(qn, screen(qn, answers, TODAY), answers, "zh-Hant")
    assert data.outcome == SEE_DOCTOR
    assert [g.severity for g in data.groups] == ["red_flag", "discuss"]
    item = data.groups[0].items[0]
    assert item.rule == "pregnancy"
    assert item.text == next(r for r in qn.rules if r.id == "pregnancy").client.get("zh-Hant")
    [reason] = item.reasons
    assert (reason.question_id, reason.label, reason.answer) == (
        "pregnancy",
        qn.questions["pregnancy"].label.get("zh-Hant"),
        "不確定",
    )


def test_practitioner_summary_data(qn: Questionnaire) -> None:
    answers = {
        **BASE,
        "fainting_history": "yes",
        "acupuncture_before": "never",
        "pain_sensitivity": 8,
        "age_band": "under_18",
        "skin_goals": ["firmness", "other"],
        "skin_goals_other": "Puffy eyes",
        "other_health": "Asthma",
    }
    data = practitioner_summary(qn, screen(qn, answers, TODAY), answers, "en")
    assert [i.rule for i in data.red_flags] == ["under_18"]
    assert [i.rule for i in data.discuss] == ["fainting_history"]
    assert [i.rule for i in data.comfort_flags] == ["pain_sensitive", "first_timer"]
    assert [r.question_id for r in data.comfort] == list(
        ("pain_sensitivity", "needle_fear", "fainting_history", "acupuncture_before", "lie_still")
    )
    assert [r.question_id for r in data.goals] == [
        "skin_goals",
        "skin_goals_other",
        "expected_timeframe",
        "course_commitment",
        "upcoming_event",
    ]
    assert data.goals[0].answer == "Firmness, Something else"
    assert data.other_health == "Asthma"


# Purity ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("module", ["__init__.py", "rules.py", "summary.py", "submission.py"])
def test_the_engine_does_not_import_flask(module: str) -> None:
    path = Path(ROOT / "screener" / "screening" / module)
    imported: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported.append(("." * node.level) + (node.module or ""))
    assert imported, "no imports found: the check is not looking at the right file"
    assert not [m for m in imported if "flask" in m or m.endswith(("render", "wizard.summary"))]


# Revision 2 of the content ---------------------------------------------------------------------


def test_every_supplement_but_none_raises_the_bruising_note(qn: Questionnaire) -> None:
    choices = [v for v in qn.questions["bleeding_supplements"].choice_values if v != "none"]
    assert len(choices) == 6
    for choice in choices:
        flags = screen(qn, {**BASE, "bleeding_supplements": [choice]}, TODAY)
        assert [(f.severity, f.rule, f.because) for f in flags] == [
            ("info", "bleeding_supplements", ("bleeding_supplements",))
        ], choice


@pytest.mark.parametrize(
    ("procedure", "window"),
    [("microneedling", 14), ("energy_device", 30), ("prp", 14), ("laser", 30), ("peel", 30)],
)
def test_new_procedure_windows(qn: Questionnaire, procedure: str, window: int) -> None:
    """Each procedure's date question carries its default window (the practitioner confirms)."""
    question = qn.questions[f"{procedure}_when"]
    assert question.window_days == window
    assert question.show_if == Compare(q="recent_procedures", any_of=(procedure,))


def _laser(days: int, kind: str) -> dict[str, Any]:
    return {"recent_procedures": ["laser"], "laser_when": ago(days), "laser_type": kind}


def _peel(days: int, depth: str) -> dict[str, Any]:
    return {"recent_procedures": ["peel"], "peel_when": ago(days), "peel_depth": depth}


@pytest.mark.parametrize(
    ("answers", "rule", "window_days"),
    [
        (_laser(50, "ablative"), "laser_deep_recent", 90),
        (_laser(200, "not_sure"), "laser_deep_past", 90),
        (_laser(40, "non_ablative"), "laser_past", 30),
        (_peel(50, "medium_or_deep"), "peel_deep_recent", 90),
        (_peel(5, "superficial"), "peel_recent", 30),
    ],
)
def test_a_deeper_laser_or_peel_is_timed_with_its_own_window(
    qn: Questionnaire, answers: dict[str, Any], rule: str, window_days: int
) -> None:
    [flag] = screen(qn, {**BASE, **answers}, TODAY)
    assert flag.rule == rule
    [timing] = flag.timing
    assert timing.window_days == window_days
    assert timing.window_ends == timing.date + dt.timedelta(days=window_days)
    assert "laser_type" in flag.because or "peel_depth" in flag.because


def test_the_revised_rules_cite_their_sources(qn: Questionnaire) -> None:
    source = {r.id: r.source for r in qn.rules}
    assert source["implanted_device"] == "S5c"
    assert source["upcoming_event_soon"] == "S2b"
    assert source["facial_skin_new_patches"] == "S29"
    assert source["cold_sore_history"] == "S27"
    assert source["bleeding_supplements"] == "S28"
    assert all(qn.source(key) is not None for key in source.values())
