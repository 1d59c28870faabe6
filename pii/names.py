"""Words of people's names: the given names and surnames of Faker's person providers (one
list per locale, taken from each country's name statistics) and the shape of a written name."""
from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Iterable

import regex

GIVEN_NAMES = ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary")
SURNAMES = ("last_names",)


def person_locales() -> tuple[str, ...]:
    """Every locale with a Faker person provider."""
    package = importlib.import_module("faker.providers.person")
    return tuple(sorted(module.name for module in pkgutil.iter_modules(package.__path__)))


@functools.cache
def name_words(attributes: tuple[str, ...] = GIVEN_NAMES + SURNAMES,
               locales: tuple[str, ...] | None = None) -> frozenset[str]:
    """The alphabetic names of ``attributes`` (GIVEN_NAMES, SURNAMES) of the person providers
    of ``locales`` (all by default), longer than two letters."""
    words: set[str] = set()
    for locale in person_locales() if locales is None else locales:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attribute in attributes:
            value = getattr(provider, attribute, None)
            if isinstance(value, (dict, list, tuple, set, frozenset)):
                words.update(name for name in value
                             if isinstance(name, str) and name.isalpha() and len(name) > 2)
    return frozenset(words)


# Words of a written name besides capitalised ones: the particles of surnames (Dutch, German,
# French, Spanish, Portuguese, Italian, Arabic, Danish; "Ludwig van Beethoven").
PARTICLES = ("van", "von", "de", "der", "den", "del", "della", "di", "da", "du", "la", "le",
             "ten", "ter", "bin", "ibn", "al", "y", "dos", "das", "do", "af", "zu")
_NAME_WORD = (r"(?:\p{Lu}[\p{Ll}'’-]*\p{Ll}|\p{Lu}\.?|" + "|".join(PARTICLES) + ")")
# Two or more words joined by one space (after an initial's dot, none is needed: "J.R. Smith"):
# a table's columns, two spaces apart, are no name.
_NAME_SHAPE = regex.compile(rf"{_NAME_WORD}(?:(?: |(?<=\.) ?){_NAME_WORD})+")
_LETTER_WORDS = regex.compile(r"\p{L}[\p{L}'’-]*")
# Capitalised words that fill data and calendars, never a person's name in them: the English
# names of the days and months and their abbreviations (as printed by C's strftime %A %a %B
# %b), and the constants of Python, JSON and SQL.
NOT_NAME_WORDS = frozenset("""
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday Mon Tue Wed Thu Fri Sat Sun
    January February March April May June July August September October November December
    Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec None True False Null
""".split())


def reads_as_person_name(value: str, known: Iterable[str] | None = None) -> bool:
    """Whether ``value`` is written as a person's name of two or more words: capitalised words,
    initials and particles joined by single spaces, none a day, month or constant, one of them
    in ``known`` (name_words() by default)."""
    if not _NAME_SHAPE.fullmatch(value):
        return False
    words = _LETTER_WORDS.findall(value)
    known = name_words() if known is None else known
    return (not any(word in NOT_NAME_WORDS for word in words)
            and any(word in known for word in words))
