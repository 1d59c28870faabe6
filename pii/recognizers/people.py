"""USERNAME and NAME recognizers: the cases a pattern can find (the NER model finds the rest)."""
from __future__ import annotations

from collections.abc import Iterator

import regex

from pii.entities import NAME, USERNAME
from pii.recognizers.base import (
    ASSIGN,
    ASSIGNED_VALUE,
    URL_SCHEME,
    Rule,
    ValueRecognizer,
)

_LOGIN = r"[A-Za-z0-9_](?:[\w.-]{0,62}[\w])?"
# Sites whose URL path after these prefixes is an account: code forges, social networks and
# package registries ("github.com/<user>", "medium.com/@<user>", "npmjs.com/~<user>").
_PROFILE_PREFIXES = (
    r"github\.com/(?:sponsors/)?", r"gitlab\.com/", r"bitbucket\.org/", r"codeberg\.org/",
    r"sourceforge\.net/u/", r"twitter\.com/", r"x\.com/", r"instagram\.com/", r"facebook\.com/",
    r"keybase\.io/", r"dev\.to/", r"medium\.com/@", r"linkedin\.com/in/",
    r"reddit\.com/u(?:ser)?/", r"t\.me/", r"youtube\.com/@", r"hub\.docker\.com/u/",
    r"(?:www\.)?npmjs\.com/~", r"pypi\.org/user/", r"news\.ycombinator\.com/user\?id=",
    r"mastodon\.social/@", r"fosstodon\.org/@", r"stackoverflow\.com/users/\d+/",
)
# Every profile prefix contains one of these (the pre-filter of the profile rule).
_PROFILE_ANCHORS = (".com/", ".org/", ".net/", ".io/", ".to/", ".me/", ".social/")
# Where a profile URL's handle ends: the end of the URL (an optional "/" first).
_URL_END = r"(?=/?(?:[\s\"'<>)\]},;#?|`]|\.(?:\s|$)|$))"
_ACCOUNT_CLIENTS = ("mysql", "mariadb", "psql", "pg_dump", "pg_dumpall", "pg_restore",
                    "createdb", "dropdb", "mongo", "mongosh", "mongodump", "redis-cli", "sqlcmd")
# Substrings of the client names above, fewer of them to look for.
_ACCOUNT_CLIENT_ANCHORS = ("sql", "mariadb", "pg_", "createdb", "dropdb", "mongo", "redis-cli")
_USER_KEY = (r"(?:(?<![A-Za-z])(?i:user(?:[_-]?name)?|login|user[ _-]?id|uid)|(?<=[a-z])User"
             r"(?:[Nn]ame)?)(?![A-Za-z0-9_.-])")
# Where an @mention names a person: a comment line, or prose (Markdown, plain text) -- two or
# more words before it, or one of the words that introduce people ("cc @x", "thanks @x").
_COMMENT_LINE = regex.compile(r"^\s*(?:#(?!\{)|//|/\*|\*|--|;|%|<!--|\"\"\"|'''|rem\b|dnl\b)",
                              regex.IGNORECASE)
_PROSE_PREFIX = regex.compile(
    r"^\s*(?:(?:[-*+>]|\d+\.)\s+)?(?:(?:[^\W\d_][\w'’,.!?-]*\s+){2,}|(?i:cc|by|thanks|thank "
    r"you|thx|ping|via|from|credit|credits|reviewers?|maintainers?|owners?|authors?|"
    r"assignees?|contact|to)[:,]?\s+)$")


class UsernameRecognizer(ValueRecognizer):
    """Account handles: @mentions in comments and prose, user/login values, logins of URLs,
    database and SSH command lines, home directories and profile URLs."""

    ENTITY = USERNAME
    # Scores: 0.85 where the structure itself names an account (a home directory, a profile
    # URL, URL user-info, ssh user@host); 0.75 for a user-named key or a database client's
    # user flag (the name says what the value is; the policy removes system accounts and
    # placeholders); 0.6 for @mentions, which only the surrounding comment or prose supports.
    RULES = (
        Rule("home_directory",
             r"(?:(?<![\w.])/home/|(?<![\w.])/Users/|\b[A-Za-z]:(?:\\\\|\\|/)(?i:Users|Documents "
             rf"and Settings)(?:\\\\|\\|/))(?P<value>{_LOGIN})(?![\w-])", 0.85,
             ("/home/", "/users/", "\\users\\", "documents and settings")),
        Rule("profile_url", r"(?<![\w.-])(?:https?://)?(?:www\.)?(?:"
                            + "|".join(_PROFILE_PREFIXES)
                            + r")(?P<value>[A-Za-z0-9](?:[\w.-]{0,37}[A-Za-z0-9_])?)" + _URL_END,
             0.85, _PROFILE_ANCHORS),
        Rule("url_userinfo", URL_SCHEME + r"(?P<value>[^\s:@/\"'<>]{1,64})(?::[^\s@/\"'<>]*)?"
                             r"@(?=[\w\[])", 0.85, ("://",)),
        Rule("ssh_target", r"\b(?:ssh|scp|sftp|rsync|mosh|ssh-copy-id)\b[^\n|;&]*?[ \t]"
                           r"(?P<value>[A-Za-z_][\w.-]{0,31})@[\w\[]", 0.85,
             ("ssh", "scp", "sftp", "rsync", "mosh")),
        Rule("user_assignment", _USER_KEY + ASSIGN + ASSIGNED_VALUE, 0.75,
             ("user", "login", "uid")),
        # ssh_config's "User alice" and .netrc's "machine host login alice".
        Rule("ssh_config_user", r"(?m)^[ \t]*User[ \t]+(?P<value>[A-Za-z_][\w.-]{0,31})[ \t]*$",
             0.75, ("user",)),
        Rule("netrc_login", r"(?:\bmachine[ \t]+\S+[ \t]+|(?m:^)[ \t]*)login[ \t]+"
                            r"(?P<value>[^\s\"']{1,64})", 0.75, ("login",)),
        Rule("db_client_user_flag",
             r"\b(?:" + "|".join(_ACCOUNT_CLIENTS) + r")\b[^\n|;&]*?[ \t](?:-u|-U|--user(?:name)?)"
             r"(?:=|[ \t]*)[\"']?(?P<value>[\w.-]{1,64})", 0.75, _ACCOUNT_CLIENT_ANCHORS),
        Rule("curl_user", r"\b(?:curl|wget)\b[^\n]*?[ \t](?:-u|--user)[ \t]*[\"']?"
                          r"(?P<value>[^:\s\"']{1,64}):", 0.75, ("curl", "wget")),
        # GitHub handles: letters, digits and single inner hyphens, up to 39 characters (no
        # underscores, which keeps Ruby's @instance_variables and SQL's @vars out); not
        # followed by what code does with a variable ("@x[...]", "@x = ...", "@x.y", "@x(").
        Rule("mention", r"(?<![\w.@/+`#'\"-])@(?P<value>[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9]))"
                        r"{0,38})(?![\w@/(\[-]|\.\w|::|[ \t]*=[^=])", 0.6, ("@",)),
    )

    def accept(self, rule_name: str, text: str, start: int, end: int) -> bool:
        if rule_name == "mention":
            line = text[text.rfind("\n", 0, start) + 1:start - 1]
            if not (_COMMENT_LINE.match(line) or _PROSE_PREFIX.match(line)):
                return False
        return super().accept(rule_name, text, start, end)


# Words and phrases after which names of people follow: author and maintainer fields of
# package metadata and source headers, commit trailers, copyright lines, and their Chinese,
# Japanese and Korean counterparts.
_NAME_MARKER = (
    r"(?:(?<![\w-])(?i:authors?|maintainers?|author-email|maintainer-email|__author__|"
    r"__maintainer__|(?:written|created|contributed|developed|implemented|ported|originally|"
    r"coded|modified|maintained)[ \t]+by|(?:signed-off|co-authored|reviewed|reported|tested|"
    r"acked|suggested|helped)-by|copyright)(?![\w-])|©|作者|作成者|著者|维护者|維護者|저자|작성자|"
    # "(c) 2010 Name": the copyright sign spelled out, with the year that makes it one
    r"\((?i:c)\)(?=[ \t]*\d{4}))"
)
_NAME_ANCHORS = ("author", "maintainer", "by", "copyright", "©", "(c)", "作者", "作成者", "著者", "维护者",
                 "維護者", "저자", "작성자")
# What may stand between the marker and the first name: punctuation, "(c)", years,
# "name =", "by", list bullets, and at most one line break.
_LEAD_IN_PIECES = (r"(?:\((?i:c)\)|[ \t:=,\"'\[\]{}()*#>.-]|©|"
                   r"\d{4}(?:[ \t]*[-–][ \t]*(?:\d{4}|present))?|(?i:name)[ \t]*[=:]|(?i:by)\b){0,24}")
_LEAD_IN = regex.compile(rf"{_LEAD_IN_PIECES}(?:\n{_LEAD_IN_PIECES})?")
# Between two names: a comma, "and", "&", "/", and the e-mail or URL in brackets after one.
_BETWEEN = regex.compile(
    r"(?:[ \t]*(?:<[^>\n]{0,120}>|\([^)\n]{0,120}\)|\[[^\]\n]{0,120}\])[ \t]*)*"
    r"(?:(?:[ \t]*(?:,|;|&|/|\band\b|\bund\b|\bet\b|\by\b)[ \t]*)+|[ \t]*\n[ \t]*[-*][ \t]+)?")
_WORD = r"\p{Lu}[\p{L}\p{M}'’]{0,30}\p{Ll}(?:-\p{Lu}[\p{L}\p{M}'’]{0,30}\p{Ll})?"
_INITIAL = r"\p{Lu}\."
_PARTICLE = r"(?:van|von|der|den|de|da|di|del|della|du|le|la|bin|ibn|al|el|ter|ten|zu|dos|das|y)"
_UNCASED = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]"
_PERSON = regex.compile(
    rf"(?:(?:{_INITIAL}[ \t]*)+{_WORD}"
    rf"|{_WORD}(?:[ \t]+(?:{_INITIAL}|{_PARTICLE}))*[ \t]+{_WORD}(?:[ \t]+{_WORD})?"
    rf"|{_UNCASED}{{2,4}}(?!{_UNCASED})"
    rf"|[\p{{Arabic}}\p{{Hebrew}}]{{2,}}(?:[ \t]+[\p{{Arabic}}\p{{Hebrew}}]{{2,}}){{1,3}})"
    rf"(?![\w@])")


class NameRecognizer(ValueRecognizer):
    """Names of people in author, maintainer, sign-off and copyright lines (one span per
    person of a list); organisations and placeholder names are left to the policy to drop."""

    ENTITY = NAME
    # 0.7: context only (the marker and the shape of a name); the policy removes
    # organisations, placeholders and eponyms but cannot confirm a person.
    RULES = (Rule("name_after_marker", _NAME_MARKER, 0.7, _NAME_ANCHORS),)

    def value_spans(self, match: regex.Match, text: str) -> Iterator[tuple[int, int]]:
        """The names listed after a marker: first after the lead-in, then after each
        separator, until something that is not a name."""
        position = _LEAD_IN.match(text, match.end()).end()
        while person := _PERSON.match(text, position):
            yield person.span()
            between = _BETWEEN.match(text, person.end())
            if between.end() == person.end():
                return
            position = between.end()
