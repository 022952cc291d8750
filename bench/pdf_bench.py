"""PDF benchmark (not a test): the time and peak memory of the practitioner summary's PDF for a
client whose answers raise many flags (5 A4 pages), and of the client's copy.

    .venv/bin/python -m bench.pdf_bench               # 10 PDFs of each kind
    .venv/bin/python -m bench.pdf_bench --repeat 30

One process, one app on a temporary SQLite file with one submission; each PDF is made as the
dashboard's download makes it (screener/screening/pdf.py), in a request context. Peak memory
is the process's peak resident set size (ru_maxrss): before the first PDF (the app loaded),
after the first (WeasyPrint, Pango and the fonts loaded) and after all of them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from screener import create_app  # noqa: E402
from screener.extensions import db  # noqa: E402
from screener.questionnaire.engine import prune  # noqa: E402
from screener.screening import screen  # noqa: E402
from screener.screening.pdf import client_pdf, practitioner_pdf  # noqa: E402
from screener.storage.models import Clinic, Submission, utcnow  # noqa: E402


def busy_answers(today: dt.date) -> dict[str, Any]:
    """A client whose answers raise flags of every severity, with free text: 5 pages in print."""

    def ago(days: int) -> str:
        return (today - dt.timedelta(days=days)).isoformat()

    return {
        "age_band": "45_59", "pregnancy": "no",
        "skin_goals": ["fine_lines", "firmness"],
        "expected_timeframe": "over_months", "course_commitment": "a_course",
        "upcoming_event": "no",
        "pain_sensitivity": 8, "needle_fear": "none", "fainting_history": "yes",
        "acupuncture_before": "never", "lie_still": "yes",
        "bleeding_disorder": "no", "heart_valve": "yes", "recent_stroke_heart": "no",
        "implanted_device": "no", "blood_pressure": "controlled",
        "diabetes": "no", "immunosuppressed": "no", "cancer_treatment": "no",
        "seizures": "no", "migraine": "occasional",
        "blood_thinners": "yes", "blood_thinners_which": "Apixaban 5 mg twice a day",
        "bleeding_supplements": ["none"],
        "isotretinoin": "never", "metal_allergy": "no",
        "facial_skin": ["none"], "facial_lesion": "no", "cold_sore_history": "no",
        "bruise_easily": "yes", "keloid": "no", "new_symptoms": "no", "facial_nerve": "no",
        "unwell_now": "no",
        "other_health": "I had a replaced aortic valve in 2019 and see my cardiologist every year.",
        "recent_procedures": ["botox"], "botox_when": ago(20),
        "permanent_implants": "no",
        "full_name": "Chan Tai Man 陳大文", "email": "tai.man@example.com", "phone": "+852 5555 0123",
        "consent_store": True, "consent_not_advice": True,
    }


def pages(pdf: bytes) -> int:
    """The page count, as poppler's pdfinfo reads it."""
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout
    found = re.search(rb"^Pages:\s+(\d+)", info, re.M)
    return int(found.group(1)) if found else 0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="screener-pdf-bench-")
    app = create_app({
        "TESTING": True, "SECRET_KEY": "bench-secret-key-0123456789abcdef",
        "DATABASE_URL": f"sqlite:///{folder}/bench.db",
    })
    from screener.storage.migrate import recreate

    recreate(app.config["DATABASE_URL"])
    qn = app.extensions["questionnaire"]
    today = dt.date.today()
    answers = prune(qn, busy_answers(today), today)
    with app.app_context(), db.transaction() as s:
        clinic = Clinic(slug="bench", name="Harbour Facial Acupuncture Clinic", allowed_origins=[])
        s.add(clinic)
        s.flush()
        sub = Submission(
            clinic_id=clinic.id, answers=answers,
            flags=[f.to_json() for f in screen(qn, answers, today)],
            questionnaire_version=qn.version, lang="en", full_name=answers["full_name"],
            submitted_at=utcnow(), consent_version=qn.consent.version("en"),
            consent_name=answers["full_name"], consent_signed_at=utcnow(),
            consent_signature={"w": 600, "h": 200, "strokes": [[20, 150, 80, 40, 140, 160, 200, 60]]},
        )
        s.add(sub)
        s.flush()
        sub_id = sub.id
    print(f"flags: {len(screen(qn, answers, today))}; repeat: {args.repeat}")
    print(f"peak RSS with the app loaded: {peak_mb():.0f} MB")
    for name, make, lang in (
        ("practitioner summary, en", practitioner_pdf, "en"),
        ("practitioner summary, zh-Hant", practitioner_pdf, "zh-Hant"),
        ("client's copy, en", client_pdf, "en"),
    ):
        times = []
        pdf = b""
        for _ in range(args.repeat):
            with app.test_request_context("/dashboard/"), app.app_context():
                submission = db.session.get(Submission, sub_id)
                assert submission is not None
                start = time.perf_counter()
                pdf = make(submission, lang)
                times.append(time.perf_counter() - start)
        print(
            f"{name}: {pages(pdf)} pages, {len(pdf) / 1024:.0f} KB; first {times[0] * 1000:.0f} ms, "
            f"then median {statistics.median(times[1:] or times) * 1000:.0f} ms "
            f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); "
            f"peak RSS so far {peak_mb():.0f} MB"
        )


if __name__ == "__main__":
    main()
