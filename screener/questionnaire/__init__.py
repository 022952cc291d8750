"""The questionnaire: typed, frozen objects loaded and validated from questions.yaml."""
from __future__ import annotations

from .loader import QuestionnaireError, load_questionnaire, parse_questionnaire
from .model import LANGUAGES, Choice, Condition, Question, Questionnaire, Rule, Source, Step, Text

__all__ = [
    "LANGUAGES",
    "Choice",
    "Condition",
    "Question",
    "Questionnaire",
    "QuestionnaireError",
    "Rule",
    "Source",
    "Step",
    "Text",
    "load_questionnaire",
    "parse_questionnaire",
]
