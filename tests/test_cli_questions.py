"""`flask --app screener check-questions` and `questions-schema`, run as real subprocesses,
and the published JSON Schema docs/questions.schema.json."""
from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from screener.questionnaire import LANGUAGES, load_questionnaire

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = REPO / "questions.yaml"
SCHEMA_FILE = REPO / "docs" / "questions.schema.json"
MINIMAL = Path(__file__).parent / "fixtures" / "minimal.yaml"
REGENERATE = "flask --app screener questions-schema > docs/questions.schema.json"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment for the subprocess: no stray settings, a throw-away instance folder."""
    out = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SCREENER_", "FLASK_")) and k not in ("DATABASE_URL", "SECRET_KEY")
    }
    out["SCREENER_INSTANCE"] = str(tmp_path / "instance")
    out["PYTHONWARNINGS"] = "error"
    return out


def flask(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "screener", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    doc = yaml.safe_load(MINIMAL.read_text(encoding="utf-8"))
    doc["steps"][0]["questions"][1]["show_if"] = {"q": "pregancy", "equals": "yes"}
    doc["rules"][1]["source"] = "S9"
    path = tmp_path / "broken-questions.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_check_questions_real_file(env: dict[str, str]) -> None:
    result = flask("check-questions", str(QUESTIONS), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("questions.yaml: OK, version "), result.stdout
    assert result.stderr == ""


def test_check_questions_default_is_the_real_file(env: dict[str, str]) -> None:
    result = flask("check-questions", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("questions.yaml: OK, version ")


def test_check_questions_reports_the_version_and_counts(env: dict[str, str]) -> None:
    result = flask("check-questions", str(MINIMAL), env=env)
    assert result.returncode == 0, result.stderr
    version = load_questionnaire(MINIMAL).version
    assert result.stdout.strip() == (
        f"minimal.yaml: OK, version {version}: 2 steps, 6 questions, 2 rules, 2 sources"
    )


def test_check_questions_broken_file(env: dict[str, str], broken: Path) -> None:
    result = flask("check-questions", str(broken), env=env)
    assert result.returncode == 1
    assert "OK" not in result.stdout
    name = broken.name
    assert f"{name}: 2 error(s)" in result.stderr
    assert (
        f"{name}: steps[0].questions[1].show_if.q: unknown earlier question 'pregancy'"
        in result.stderr
    )
    assert f"{name}: rules[1].source: unknown source key 'S9'" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_questions_missing_file(env: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = flask("check-questions", str(missing), env=env)
    assert result.returncode == 1
    assert str(missing) in result.stderr
    assert "cannot read the file" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_questions_works_when_the_app_cannot_start(
    env: dict[str, str], broken: Path
) -> None:
    env = {**env, "SCREENER_QUESTIONS": str(broken), "SECRET_KEY": "k" * 32}
    # The app itself cannot start with this environment ...
    app_command = flask("routes", env=env)
    assert app_command.returncode != 0
    assert "unknown earlier question 'pregancy'" in app_command.stderr
    # ... but check-questions and questions-schema still work.
    result = flask("check-questions", str(QUESTIONS), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("questions.yaml: OK, version ")
    schema = flask("questions-schema", env=env)
    assert schema.returncode == 0, schema.stderr
    assert json.loads(schema.stdout)["title"] == "Screener questionnaire (questions.yaml)"


# The published JSON Schema.


@pytest.fixture(scope="module")
def schema_output() -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCREENER_", "FLASK_"))}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "screener", "questions-schema"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_published_schema_is_up_to_date(schema_output: str) -> None:
    assert SCHEMA_FILE.is_file(), f"docs/questions.schema.json is missing: run `{REGENERATE}`"
    published = SCHEMA_FILE.read_text(encoding="utf-8")
    assert published == schema_output, (
        f"docs/questions.schema.json is stale: regenerate it with `{REGENERATE}`"
    )


def test_schema_shape(schema_output: str) -> None:
    schema = json.loads(schema_output)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert set(schema["properties"]) == {"sources", "consent", "steps", "rules"}
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["steps"]
    defs = schema["$defs"]
    for name in ("Text", "Compare", "AllOf", "AnyOf", "Not", "Choice", "Question", "Step",
                 "Source", "Rule"):
        assert defs[name]["additionalProperties"] is False, name
    assert set(defs["Text"]["properties"]) == set(LANGUAGES) == {"en", "zh-Hant", "zh-Hans"}
    assert set(defs["Compare"]["properties"]) == {
        "q", "equals", "in", "any_of", "lte", "gte", "within_days",
    }
    assert set(defs["Not"]["properties"]) == {"not"}


def _check_keys(value: Any, ref: dict[str, Any], defs: dict[str, Any], path: str) -> list[str]:
    """A structural check of `value` against a schema node: keys known and required present.

    Used when the `jsonschema` package is not installed in the venv; it follows $ref, object
    properties, arrays and the anyOf/oneOf alternatives (the first that fits).
    """
    if "$ref" in ref:
        return _check_keys(value, defs[ref["$ref"].rsplit("/", 1)[-1]], defs, path)
    for alt_key in ("anyOf", "oneOf"):
        if alt_key in ref:
            results = [_check_keys(value, alt, defs, path) for alt in ref[alt_key]]
            fitting = [r for r in results if not r]
            return [] if fitting else min(results, key=len)
    kind = ref.get("type")
    if kind == "null":
        return [] if value is None else [f"{path}: not null"]
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{path}: not a mapping"]
        errors = [f"{path}: unknown key {k!r}" for k in value if k not in ref["properties"]]
        errors += [f"{path}: missing {k!r}" for k in ref.get("required", ()) if k not in value]
        for k, v in value.items():
            if k in ref["properties"]:
                errors += _check_keys(v, ref["properties"][k], defs, f"{path}.{k}")
        return errors
    if kind == "array":
        if not isinstance(value, list):
            return [f"{path}: not a list"]
        errors = []
        for i, item in enumerate(value):
            errors += _check_keys(item, ref.get("items", {}), defs, f"{path}[{i}]")
        return errors
    if kind == "string":
        return [] if isinstance(value, str) else [f"{path}: not a string"]
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: not an integer"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: not a boolean"]
    if "enum" in ref:
        return [] if value in ref["enum"] else [f"{path}: not one of {ref['enum']}"]
    if "const" in ref:
        return [] if value == ref["const"] else [f"{path}: not {ref['const']!r}"]
    return []


def test_real_questionnaire_fits_the_schema(schema_output: str) -> None:
    schema = json.loads(schema_output)
    doc = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    if importlib.util.find_spec("jsonschema") is not None:
        importlib.import_module("jsonschema").validate(doc, schema)
    assert _check_keys(doc, schema, schema["$defs"], "(top level)") == []


def test_structural_check_catches_mistakes(schema_output: str) -> None:
    """The fallback check above can fail: it sees unknown and missing keys at depth."""
    schema = json.loads(schema_output)
    doc = yaml.safe_load(MINIMAL.read_text(encoding="utf-8"))
    assert _check_keys(doc, schema, schema["$defs"], "(top level)") == []
    doc["extra"] = 1
    doc["steps"][0]["questions"][1]["colour"] = "red"
    del doc["rules"][0]["when"]["q"]
    del doc["steps"][1]["title"]["zh-Hant"]
    errors = _check_keys(doc, schema, schema["$defs"], "(top level)")
    assert "(top level): unknown key 'extra'" in errors
    assert "(top level).steps[0].questions[1]: unknown key 'colour'" in errors
    assert "(top level).steps[1].title: missing 'zh-Hant'" in errors
    assert any(e.startswith("(top level).rules[0].when") for e in errors), errors
