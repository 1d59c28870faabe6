"""Cues of the model's spans: what must stand on a line (or right before a span) for the engine
to keep a span of the NER model, and the line test that the cascade's selector
(:mod:`pii.regions`) draws from the same cues, so that the model reads no line whose spans the
engine would drop.

On real code the model tags words of string lists (lexer keywords, colour and emoji names, API
names) as passwords, keys and handles, advisory ids and URL path parts as keys, and table rows,
titles and test strings in other scripts as names. A cue is a whole part of a word (see
cue_words). Chosen by reading 60 model spans per label of the demo corpus and the blind reviews
of later builds, once each was spent (bench/pii_realcode.py's review samples: tuning data);
measured blind on another build (pii/model/default/README.md).
"""
from __future__ import annotations

import regex

from pii.entities import KEY, NAME, PASSWORD, USERNAME, Span
from pii.names import reads_as_person_name


def cue_words(words: str, extra: str = "") -> regex.Pattern:
    """A regex of ``words`` (an alternation) as whole parts of identifiers or prose:
    "ADMIN_PASSWORD", "mailerPass" and "the password" hold the cue "pass(word)", while
    "surrogatepass" and "crypto_secretstream" do not hold "pass" or "secret"."""
    part = rf"(?:(?<![A-Za-z])|(?<=[a-z])(?=[A-Z]))(?i:{words})(?![a-z])"
    return regex.compile(part + (f"|{extra}" if extra else ""))


# "auth", "authn", "authenticate(d)", "authorization" ... but not "author"; "connect",
# "connection(s)" but not "connectivity"; "pass" as a name ("db_pass", "PASS=", "pass:"), not
# the verb or Python's statement: "pass" touching punctuation ("db_pass", "mailer-pass",
# ":pass", '"pass"', "<pass>", "PASS="), or a CamelCase part ("dbPass").
_AUTH = r"auth(?:n|z|enticat\w*|ori[sz]\w*|token)?|o?auth2?"
_PASS_NAME = (r"(?:(?<=[_.:\"'<*-])|(?<=[a-z])(?=P))(?i:pass)(?![a-z])"
              r"|(?<![A-Za-z])(?i:pass)(?=[ \t]*[:=]|[_\"'>*-])")
# A port between colons: the fields of a PostgreSQL password file (host:port:db:user:password).
PORT_FIELD = r":\d{2,5}:"
# Cues anywhere on the span's line (KEY's spans; PASSWORD's line cue is the selector's test,
# its spans need the assignment cue below).
MODEL_CUES: dict[str, regex.Pattern] = {
    PASSWORD: cue_words(rf"pass(?:word|wd|phrase)s?|smtp_?pass|pwd|pw|secrets?|login|credentials?"
                        rf"|{_AUTH}|connect(?:ion)?s?",
                        # a name "pass"; URL user-info; .pgpass lines
                        rf"{_PASS_NAME}|://[^\s/@]*:[^\s/@]*@|{PORT_FIELD}"),
    KEY: cue_words(rf"keys?|secrets?|tokens?|{_AUTH}|bearer|basic|api|private|credentials?"
                   r"|pass(?:word)?|sign(?:ed|ing|ature)?s?"),
}
# A handle's cue stands right before it, a few marks at most between: "user = 'kim'", "thanks to
# kim", "@kim", "~kim", "TODO(kim)". Anywhere on the line was not enough: in blind reviews of
# real code the model's handles were right 1 of 12 and 0 of 38 times with a cue anywhere on the
# line; right before, the validation split keeps recall 0.85 (0.91 with the cue anywhere) and
# the reviewed real spans lose 29 of 35 false positives. A "/" was a cue until the reviews of
# 2026-12-06 showed only directories and organisations after it ("~/pandas", "/home/user/x").
_HANDLE_WORDS = (r"(?i:\buser(?:name)?s?|\blogin|\bowner|\bauthor|\bby|\bhandle|\baccount"
                 r"|\bthanks(?:[ \t]+to)?|\bping|\bcc|\bgithub|\bgitlab|\bslack|\btwitter|\bhome"
                 r"|\breviewers?|\bmaintainers?|\bmembers?|\bcontact)")
_TODO_OWNER = r"(?i:todo|fixme|xxx|hack|note)\("
_HANDLE_CUE_BEFORE = regex.compile(rf"{_HANDLE_WORDS}[^\w\n]{{0,4}}$|[@~]$|{_TODO_OWNER}$")
# A name counts when it is written as a person's name (pii.names: capitalised words single-
# spaced, one a known given name or surname) or follows its cue right before it ("by", "from",
# "thanks to", "author:", "@"). In blind reviews of real code the model's other names (a cue
# anywhere on the line, or any two Latin words) were right 124 of 537 times: table rows of
# doctests ("NaN NaT", "Mon Tue"), test strings in other scripts, titles, place names; the
# shape and the lexicon keep 73 of those 124 and 83 of the 413 wrong.
_NAME_WORDS = (r"(?i:\bby|\bfrom|\bthanks(?:[ \t]+to)?|\bauthor:?|\bmaintainer:?|\bcc|\bping)"
               r"|@")
_NAME_CUE_BEFORE = regex.compile(rf"(?:{_NAME_WORDS})[ \t]*$")
# A model password's cue stands right before it, in one of the shapes credentials are written
# in: an assignment (a password word, the rest of its key, the key's closing quote or bracket,
# a type, an operator and an opening quote: "DB_PASSWORD = '", "pass: ", "\"passwd\" => \"",
# "Dim AdminPassword As String = \"", "val password: String = \"", Ada's ": constant String :=",
# "\"pass\" -> \"", "<<\"password\">> => \"", "\"password\" to \""); a definition or attribute
# ("(defvar mailer-pass \"", "@smtp_password \""); a pair ("(\"password\", \"", Lisp's
# "(\"password\" . \""); an element ("<pass>"); the last string argument of a login or connect
# call ("smtp.login(\"kim@x\", \"", smtplib's and most clients' order; "connect_db(host, user,
# \""); "login: kim / "; a command line's "-u kim -p "; URL user-info ("://kim:") or a .pgpass
# line's fields. With a cue anywhere on the line the model's passwords were right 1 time in 8
# in blind build 9's review, 2026-12-06 (KDF and protocol names in calls and prose:
# "setPassword($pw, 'pbkdf2')"): only the assignment was kept then, which cost 586 of the
# validation split's 1,979 passwords (recall 0.89 -> 0.60); the other shapes came back after
# that measurement (tuned on the validation split).
_PASSWORD_WORDS = r"pass(?:word|wd|phrase)?s?|pwd|pw|secrets?|credentials?"
# A password word as a whole part of a key, or glued to a service's name ("smtppass").
_PASSWORD_KEY = (rf"(?:(?<![A-Za-z])|(?<=[a-z])(?=[A-Z])|(?<=(?i:smtp|mail|db|sql|ftp|ldap|"
                 rf"proxy|admin|root|user)))(?i:{_PASSWORD_WORDS})[\w*-]*")
_QUOTE = r"[\"'`]"
# A type between a key and its "=": VB's "As String", Kotlin's or TypeScript's ": String", Ada's
# ": constant String".
_DECLARED_TYPE = r"(?:[ \t]+(?i:as)[ \t]+\w+|[ \t]*:[ \t]*(?:constant[ \t]+)?\w+\??)?"
_PASSWORD_CUE_BEFORE = regex.compile("|".join((
    rf"{_PASSWORD_KEY}[\"'\]>]{{0,3}}{_DECLARED_TYPE}[ \t]*(?::=|=>|->|=|:|[ \t]to[ \t])"
    rf"[ \t]*{_QUOTE}?$",
    rf"{_PASSWORD_KEY}[ \t]+[\"']$",
    rf"[\"']{_PASSWORD_KEY}[\"'][ \t]*[,.][ \t]*[\"']$",
    rf"<{_PASSWORD_KEY}>$",
    rf"(?i:login|connect)[\w-]*[ \t]*\((?:[\"']?[^\"'(),\n]*[\"']?[ \t]*,[ \t]*){{1,3}}[\"']?$",
    rf"(?i:login|connect)[\w-]*[ \t]+(?:\w+:[ \t]*)?(?:[\"'][^\"'\n]*[\"'][ \t]*,?[ \t]*){{1,3}}"
    rf"[\"']$",
    r"(?i:\blogin)[ \t]*:[ \t]*[^\s/]+[ \t]*/[ \t]*$",
    r"(?<![\w-])-u[ \t]*\S+[ \t]+-p[ \t]*$",
    r"://[^\s/@]*:$", PORT_FIELD + r"[^:\s]*:[^:\s]*:$")))
# Any cue of any label on a line: the selector's test (names written out are tested apart).
LINE_CUE = regex.compile("|".join((MODEL_CUES[PASSWORD].pattern, MODEL_CUES[KEY].pattern,
                                   _HANDLE_WORDS, r"[@~]", _TODO_OWNER, _NAME_WORDS)))


def model_span_has_cue(span: Span, text: str) -> bool:
    """Whether a model span of ``span.label`` in ``text`` has its label's cue."""
    line_start = text.rfind("\n", 0, span.start) + 1
    if span.label == USERNAME:
        return (_HANDLE_CUE_BEFORE.search(text, line_start, span.start) is not None
                and not text.startswith("(", span.end))  # "@pandas_udf(...)": a decorator
    if span.label == PASSWORD:
        return _PASSWORD_CUE_BEFORE.search(text, line_start, span.start) is not None
    if span.label == NAME:
        return (reads_as_person_name(text[span.start:span.end])
                or _NAME_CUE_BEFORE.search(text, line_start, span.start) is not None)
    cue = MODEL_CUES.get(span.label)
    if cue is None:
        return True
    line_end = text.find("\n", span.start)
    return cue.search(text, line_start, len(text) if line_end < 0 else line_end) is not None
