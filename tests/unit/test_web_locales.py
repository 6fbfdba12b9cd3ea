"""Every language of the web client is complete: each locale file (web/src/locales/*.json) has
every key of en.json (a missing key would show English in the middle of another language), with
the same interpolation variables, the plural forms its language needs, and the language switch
offers it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

LOCALES = Path(__file__).resolve().parents[2] / "web" / "src" / "locales"
I18N = LOCALES.parent / "i18n.ts"
PLURAL = re.compile(r"_(zero|one|two|few|many|other)$")
# the CLDR plural categories i18next asks for (Intl.PluralRules) in the counts the screens show
PLURAL_FORMS = {
    "en": {"one", "other"},
    "de": {"one", "other"},
    "fr": {"one", "other"},
    "ru": {"one", "few", "many", "other"},
}


def flat(tree: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def load(code: str, where: Path = LOCALES) -> dict[str, str]:
    return flat(json.loads((where / f"{code}.json").read_text(encoding="utf-8")))


def variables(text: str) -> set[str]:
    return set(re.findall(r"{{\s*(\w+)\s*}}", text))


OTHERS = sorted(p.stem for p in LOCALES.glob("*.json") if p.stem != "en")


def test_the_languages_are_there():
    assert {"de", "fr", "ru"} <= set(OTHERS)


def problems(code: str, where: Path = LOCALES) -> list[str]:
    en, other = load("en", where), load(code, where)
    out = []
    for key, text in en.items():
        base = PLURAL.sub("", key)
        if PLURAL.search(key):
            forms = PLURAL_FORMS.get(code, {"one", "other"})
            for form in sorted(forms):
                if f"{base}_{form}" not in other:
                    out.append(f"{code}: {base}_{form} is missing")
            continue
        if key not in other:
            out.append(f"{code}: {key} is missing")
        elif not isinstance(other[key], str) or not other[key].strip():
            out.append(f"{code}: {key} is empty")
        elif variables(other[key]) != variables(text):
            out.append(f"{code}: {key} has {sorted(variables(other[key]))}, English has {sorted(variables(text))}")
    bases = {PLURAL.sub("", k) for k in en}
    out += [f"{code}: {k} is not a key of en.json" for k in other if PLURAL.sub("", k) not in bases]
    return sorted(set(out))


@pytest.mark.parametrize("code", OTHERS)
def test_every_locale_has_every_key_of_english(code):
    assert problems(code) == []


@pytest.mark.parametrize("code", OTHERS)
def test_the_language_switch_offers_every_locale(code):
    assert f"code: '{code}'" in I18N.read_text(encoding="utf-8")
    assert f"./locales/{code}.json" in I18N.read_text(encoding="utf-8")


def test_a_missing_key_is_caught(tmp_path):
    de = json.loads((LOCALES / "de.json").read_text(encoding="utf-8"))
    del de["search"]["title"]
    de["board"]["moved"] = "verschoben"  # lost its variables
    (tmp_path / "en.json").write_text((LOCALES / "en.json").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "de.json").write_text(json.dumps(de), encoding="utf-8")
    found = problems("de", tmp_path)
    assert "de: search.title is missing" in found
    assert any(p.startswith("de: board.moved has") for p in found)
