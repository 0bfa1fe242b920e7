"""Language of a page's text: a bundled model, Cyrillic letter evidence and the page's own tag."""

from __future__ import annotations

import functools
import re

from py3langid.langid import MODEL_FILE, LanguageIdentifier

# The start of a page says which language it is in; the model is linear in its input.
SAMPLE_CHARS = 1000
# Below this many letters the model is guessing, and the page's lang tag knows better.
MIN_LETTERS = 40
# Below this probability the model is unsure, and the page's lang tag decides.
MIN_CONFIDENCE = 0.5
# The text overrules the lang tag only if the model finds it this many times likelier:
# pages often keep a template's lang="en" over text in another language.
CLEAR_DISAGREEMENT = 100.0
# Languages the index expects, all in Latin or Cyrillic script; when the model is unsure,
# one of these beats an exotic neighbour ("Dear Mr." is not Irish). Ties go to the first.
EXPECTED = ("en", "ru", "uk", "be", "de", "fr", "pl", "nl", "cs")
MIN_UNEXPECTED_CONFIDENCE = 0.5
# Languages written in Cyrillic: a Latin text is none of them, a Cyrillic text is no other.
CYRILLIC_LANGUAGES = frozenset({"be", "bg", "kk", "ky", "mk", "mn", "ru", "sr", "tg", "tt", "uk"})
LETTER = re.compile(r"[^\W\d_]")
CYRILLIC_LETTER = re.compile(r"[\u0400-\u04ff]")
LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")
# Letters each East Slavic language lacks: the model confuses the three on short texts,
# while one "ў", "ї" or "ы" settles it.
ABSENT_LETTERS = {"be": "ищъїєґ", "uk": "ыэёъў", "ru": "іїєґў"}
# The language with the fewest absent letters wins if the runner-up has this many times more.
CLEAR_LETTER_MARGIN = 4
# Tags people write that are not the language's code ("ua" is the country).
HINT_ALIASES = {"ua": "uk"}
ISO_639_1 = re.compile(r"[a-z]{2}")


def detect_language(text: str, *, hint: str | None = None) -> str | None:
    """Return the ISO 639-1 code of the text's language, or None if it has no letters."""
    sample = text[:SAMPLE_CHARS]
    letters = len(LETTER.findall(sample))
    if not letters:
        return None
    script = _script(sample, letters)
    scores = dict(_model().rank(sample))
    language, confidence = _likeliest(scores, script)
    absent = _absent_letters(sample)
    by_letters = _east_slavic_by_letters(absent)
    if by_letters and language in ABSENT_LETTERS:
        language, confidence = by_letters, 1.0
    hint = _normalise_hint(hint)
    unsure = letters < MIN_LETTERS or confidence < MIN_CONFIDENCE
    if hint and hint != language and unsure and _hint_fits(hint, scores, absent, script):
        return hint
    return language


@functools.cache
def _model() -> LanguageIdentifier:
    """Load the bundled model once, limited to languages that have an ISO 639-1 code."""
    # An own instance: set_languages on py3langid's shared one would change it for other users.
    model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    # Three-letter labels have no ISO 639-1 code, and "zxx" means "no language".
    model.set_languages([code for code in model.labels if ISO_639_1.fullmatch(code) and code != "zxx"])
    return model


def _script(sample: str, letters: int) -> str:
    """Return "cyrillic" or "latin" if most letters are in that script, else "other"."""
    if len(CYRILLIC_LETTER.findall(sample)) * 2 > letters:
        return "cyrillic"
    if len(LATIN_LETTER.findall(sample)) * 2 > letters:
        return "latin"
    return "other"


def _script_of(language: str) -> str | None:
    """Return "cyrillic" or "latin" for the languages named here, else None (not known)."""
    if language in CYRILLIC_LANGUAGES:
        return "cyrillic"
    return "latin" if language in EXPECTED else None


def _likeliest(scores: dict[str, float], script: str) -> tuple[str, float]:
    """Return the model's answer and probability, preferring EXPECTED languages when unsure."""
    language = max(scores, key=scores.get)
    if language in EXPECTED or scores[language] >= MIN_UNEXPECTED_CONFIDENCE or script == "other":
        return language, scores[language]
    expected = {code: scores[code] for code in EXPECTED if _script_of(code) == script}
    best = max(expected, key=expected.get)
    if scores[language] > CLEAR_DISAGREEMENT * expected[best]:
        # Unsure between, say, Arabic and Persian is still sure it is not English.
        return language, scores[language]
    return best, expected[best] / (sum(expected.values()) or 1.0)


def _absent_letters(sample: str) -> dict[str, int]:
    """Return, per East Slavic language, how many letters of the sample it does not have."""
    lower = sample.lower()
    return {code: sum(lower.count(letter) for letter in letters) for code, letters in ABSENT_LETTERS.items()}


def _east_slavic_by_letters(absent: dict[str, int]) -> str | None:
    """Return be, uk or ru if the letters clearly fit one of them, else None."""
    best, runner_up = sorted(absent, key=absent.get)[:2]
    if absent[runner_up] and absent[best] * CLEAR_LETTER_MARGIN <= absent[runner_up]:
        return best
    return None


def _hint_fits(hint: str, scores: dict[str, float], absent: dict[str, int], script: str) -> bool:
    """Return True unless the text clearly is not in the hinted language."""
    # On a few letters the model's odds are flat; the script and the letters are not.
    if _script_of(hint) not in (None, script):
        return False
    if hint in absent and absent[hint] and min(absent.values()) == 0:
        return False
    if hint not in scores:
        return False
    return max(scores.values()) <= CLEAR_DISAGREEMENT * scores[hint]


def _normalise_hint(hint: str | None) -> str | None:
    """Return the language code of a lang tag ("uk-UA" -> "uk"), or None if it has none."""
    if not hint:
        return None
    code = re.split(r"[-_]", hint.strip().lower(), maxsplit=1)[0]
    code = HINT_ALIASES.get(code, code)
    return code if ISO_639_1.fullmatch(code) else None
