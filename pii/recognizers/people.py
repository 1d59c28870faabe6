"""USERNAME and NAME recognizers: the cases a pattern can find (the NER model finds the rest)."""
from __future__ import annotations

import collections
import functools
from collections.abc import Iterator

import regex

from pii.entities import NAME, USERNAME
from pii.recognizers.base import (
    ASSIGN,
    ASSIGNED_VALUE,
    QUOTED_VALUE,
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
    r"(?:www\.)?npmjs\.com/~", r"pypi\.org/user/", r"launchpad\.net/~", r"news\.ycombinator\.com/user\?id=",
    r"mastodon\.social/@", r"fosstodon\.org/@", r"stackoverflow\.com/users/\d+/",
)
# Every profile prefix contains one of these (the pre-filter of the profile rule).
_PROFILE_ANCHORS = (".com/", ".org/", ".net/", ".io/", ".to/", ".me/", ".social/")
# Where a profile URL's handle ends: the end of the URL (an optional "/" first).
_URL_END = r"(?=/?(?:[\s\"'<>)\]},;#?|`]|\.(?:\s|$)|$))"
_ACCOUNT_CLIENTS = ("mysql", "mariadb", "psql", "pg_dump", "pg_dumpall", "pg_restore",
                    "createdb", "dropdb", "mongo", "mongosh", "mongodump", "redis-cli", "sqlcmd")
# A POSIX login as shell commands and system files write it (useradd's default pattern, with the
# dots and capitals that real accounts carry), not ending in a dot.
_SHELL_ACCOUNT = r"[A-Za-z_](?:[\w.-]{0,30}[\w])?"
# The start of a line's content: after indentation and a line comment's marker, if any.
_COMMENT_OPENERS = r"#+|//+|--|;+|\*|%+"
_LINE_LEAD = rf"(?m:^)[ \t]*(?:(?:{_COMMENT_OPENERS})[ \t]*)?"
# Substrings of the client names above, fewer of them to look for.
_ACCOUNT_CLIENT_ANCHORS = ("sql", "mariadb", "pg_", "createdb", "dropdb", "mongo", "redis-cli")
# A bot's account ("ci_bot_account", "ciBotAccount") is an account too: from the validation
# split's CI-settings templates (tuning data).
_USER_KEY = (r"(?:(?<![A-Za-z])(?i:user(?:[_-]?name)?|login|user[ _-]?id|uid|bot[_-]?account)|(?<=[a-z])(?:User"
             r"(?:[Nn]ame)?|Login|BotAccount))(?![A-Za-z0-9_.-])")
_BOT_ACCOUNT_ANCHORS = ("bot_account", "botaccount", "bot-account")
# Keys of a handle in a record ("username", "login", "handle", Twitter's "screen_name", IRC's
# "nick", a rota's "oncall"), quoted: the record's data, not a variable of the code.
_PAIR_KEYS = (r"user(?:[_-]?name)?|userName|login|handle|screen[_-]?name|nick(?:name)?|on[_-]?call"
              r"|bot[_-]?account")
_PAIR_ANCHORS = ("user", "login", "handle", "screen", "nick", "oncall", "on_call", "on-call",
                 *_BOT_ACCOUNT_ANCHORS)
# Unquoted keys whose value is a person's handle but that are no user key: a record's handle,
# Twitter's screen_name, IRC's nick, and the on-call person of a rota.
_HANDLE_KEY = (r"(?:(?<![A-Za-z])(?i:handle|screen[_-]?name|nick(?:name)?|on[_-]?call)|(?<=[a-z])"
               r"(?:Handle|ScreenName|Nick(?:name)?|Oncall|OnCall))(?![A-Za-z0-9_.-])")
# Where an @mention names a person: a comment line, or prose (Markdown, plain text) -- two or
# more words before it, or one of the words that introduce people ("cc @x", "thanks @x").
_COMMENT_LINE = regex.compile(r"^\s*(?:#(?!\{)|//|/\*|\*|--|;|%|<!--|\"\"\"|'''|rem\b|dnl\b)",
                              regex.IGNORECASE)
_PROSE_PREFIX = regex.compile(
    r"^\s*(?:(?:[-*+>]|\d+\.)\s+)?(?:(?:[^\W\d_][\w'’,.!?-]*\s+){2,}|(?i:cc|by|thanks|thank "
    r"you|thx|ping|via|from|credit|credits|reviewers?|maintainers?|owners?|authors?|"
    r"assignees?|contact|to)[:,]?\s+)$")
# A git trailer that credits someone ("Reviewed-by:", "Co-authored-by:"; git-interpret-trailers(1)
# and the Linux kernel's submitting-patches guide), and a login as people write it (lower case,
# single ".", "_" or "-" inside: "kim", "kim.lee", "kim_lee42"): a capitalised word is a name.
_TRAILER = r"[a-z]+(?:-[a-z]+)*-by(?=[ \t]*:)"
_LOWER_LOGIN = r"[a-z][a-z0-9]*(?:[._-][a-z0-9]+)*"
# A comment's opener at the start of a line's content (and prose: none).
_COMMENT_LEAD = rf"(?m:^)[ \t]*(?:(?:{_COMMENT_OPENERS}|//+!|/\*+|<!--|'|::|(?i:rem)\b)[ \t]*)?"
# A handle in brackets that closes a changelog entry or a sentence: "Fix the parser (@kim)",
# "the backend was rewritten (@kim, #12)": two words or more before the bracket. From the
# validation split's templates (tuning data).
_CREDIT_BRACKET = regex.compile(r"(?:[^\W\d_][\w'’.-]*[ \t]+){2,}\($")
# Words that introduce the people of a changelog entry or a credit anywhere in a line, with
# the handles already listed after them: GitHub's generated release notes ("* Fix x by @kim
# in #12"), "thanks to @a, @b and @c", "(reported by @kim)", "cc @kim", and a site's name
# before a handle in AUTHORS files ("(gh: @kim)", "Twitter: @kim").
_PEOPLE_CUE = regex.compile(
    r"(?i:(?<![\w-])(?:thanks?(?:[ \t]+to)?|thank[ \t]+you|thx|kudos(?:[ \t]+to)?|by|cc|ping|"
    r"credits?(?:[ \t]+to)?|courtesy[ \t]+of|props[ \t]+to|h/t|reviewers?|maintainers?|"
    r"owners?|authors?|assignees?|(?:gh|github|gitlab|twitter|mastodon|slack|irc)(?=[ \t]*:)|"
    rf"{_TRAILER}|/assign|/cc))"
    r"[:,]?[ \t]+(?:@[\w.-]+[ \t]*(?:,|\band\b|&)?[ \t]*)*$")


# A host argument: an IPv4 or IPv6 address, "localhost" or a dotted host name; and what stands
# between arguments: a comma, or spaces (Lisp, Haskell, shell).
_HOST_ARG = (r"(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}|localhost"
             r"|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
_ARG_SEP = r"[ \t]*(?:,[ \t]*|[ \t])"


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
             ("user", "login", "uid", *_BOT_ACCOUNT_ANCHORS)),
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
        # Accounts of a shell's commands: the user a command runs as ("sudo -u kim", "crontab -u
        # kim -e", "su - kim"), a file's owner and group ("chown -R kim:kim /srv/x"), passwd and
        # sudoers lines ("kim:x:1001:1001:...", "kim ALL=(ALL) ALL"); the policy drops system
        # accounts. Written from the validation split's templates of 2026-12-07 (tuning data).
        Rule("run_as_user", r"\b(?:sudo|runuser|crontab|pkill|pgrep|killall)\b[^\n|;&]*?[ \t]"
                            rf"(?:-u|--user)(?:=|[ \t]+)(?P<value>{_SHELL_ACCOUNT})(?![\w@-])", 0.75,
             ("sudo", "runuser", "crontab", "pkill", "pgrep", "killall")),
        Rule("su_login", rf"\bsu[ \t]+(?:-|-l|--login)[ \t]+(?P<value>{_SHELL_ACCOUNT})(?![\w@-])",
             0.75, ("su ",)),
        Rule("chown_owner", rf"\bchown[ \t]+(?:-\w+[ \t]+)*(?P<value>{_SHELL_ACCOUNT})"
                            rf"(?::(?P<value>{_SHELL_ACCOUNT}))?(?=[ \t])", 0.75, ("chown",)),
        Rule("passwd_line", rf"{_LINE_LEAD}(?P<value>{_SHELL_ACCOUNT}):[x*!]:\d+:\d+:", 0.85,
             (":x:", ":*:", ":!:")),
        Rule("sudoers_user", rf"{_LINE_LEAD}(?P<value>{_SHELL_ACCOUNT})[ \t]+ALL[ \t]*=[ \t]*\(",
             0.75, ("all=(", "all =(", "all= (", "all = (")),
        # GitHub handles: letters, digits and single inner hyphens, up to 39 characters (no
        # underscores, which keeps Ruby's @instance_variables and SQL's @vars out); not
        # followed by what code does with a variable ("@x[...]", "@x = ...", "@x.y", "@x(").
        Rule("mention", r"(?<![\w.@/+`#'\"-])@(?P<value>[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9]))"
                        r"{0,38})(?![\w@/(\[-]|\.\w|::|[ \t]*=[^=])", 0.6, ("@",)),
        # A quoted user key paired with a quoted value in the pair syntaxes of code (the key
        # quoted: data, not code): Kotlin's "k" to "v", Scala's "k" -> "v", Ruby's/PHP's
        # "k" => "v", C#'s ["k"] = "v", Erlang's #{<<"k">> => "v"} maps of binaries, Lisp's
        # ("k" . "v") alists (keys: the user keys above and the rota's "oncall"); with a comma, only in a
        # two-item tuple or brace pair (C++'s {"k", "v"}, ML/F#'s ("k", "v"); not a call's
        # arguments nor a list of words) or in Java's Map.of/Map.entry, Kotlin's mapOf and
        # MATLAB's struct, whose arguments alternate keys and values.
        Rule("user_pair",
             r"(?<![\w-])[\"'](?i:" + _PAIR_KEYS + r")[\"'](?:>>)?\]?(?:[ \t]*(?:->|=>|=|:)|[ \t]+(?:to|\.)"
             r")[ \t]*" + QUOTED_VALUE
             + r"|(?<![\w.$])[({\[][ \t]*[\"'](?i:" + _PAIR_KEYS + r")[\"'][ \t]*,[ \t]*" + QUOTED_VALUE
             + r"[ \t]*[)}\]]"
             r"|\b(?:Map\.(?:of|entry)|mapOf|hashMapOf|struct)\([^\n]*?(?<![\w-])[\"'](?i:" + _PAIR_KEYS
             + r")[\"'][ \t]*,[ \t]*" + QUOTED_VALUE, 0.75, _PAIR_ANCHORS),
        Rule("handle_assignment", _HANDLE_KEY + ASSIGN + ASSIGNED_VALUE, 0.75,
             ("handle", "screen", "nick", "oncall", "on_call", "on-call")),
        # The text of an XML element named for an account (Maven's settings.xml <username>,
        # <user>/<login> elements of configuration files).
        Rule("xml_user_element", r"<(?P<tag>(?i:user(?:name)?|login|bot[_-]?account))>[ \t]*"
                                 r"(?P<value>[^<>\s]{1,64})[ \t]*</(?P=tag)>", 0.75,
             ("<user", "<login", "<bot")),
        # A user-named variable declared with its type: VB's "Dim x As String = ...", Ada's
        # "X : constant String := ...", annotations "x: str = ..." (Python), ": string"
        # (TypeScript), ": String" (Kotlin, Swift, Scala), ": &str" (Rust), Go's "x string =".
        Rule("typed_user_assignment",
             rf"(?:{_USER_KEY}|{_HANDLE_KEY})" + r"(?:[ \t]*:[ \t]*(?:(?i:constant)[ \t]+)?&?(?:'static[ \t]+)?|[ \t]+(?:(?i:as)"
             r"[ \t]+)?)(?i:string|str)[ \t]*:?=[ \t]*" + QUOTED_VALUE, 0.75,
             ("user", "login", "handle", "screen", "nick", "oncall", "on_call", "on-call")),
        # A user-named variable set by a command: csh's "setenv DB_USER alice", CMake's
        # "set(DB_USER alice)", AppleScript's "set dbUser to alice".
        Rule("set_user_variable",
             r"\bsetenv[ \t]+[\w-]*?" + _USER_KEY + r"[ \t]+(?:" + QUOTED_VALUE
             + r"|(?P<value>[A-Za-z_][\w.-]{0,63})(?=[ \t]*(?m:$)))"
             r"|\bset\([ \t]*[\w-]*?" + _USER_KEY + r"[ \t]+(?:" + QUOTED_VALUE
             + r"|(?P<value>[A-Za-z_][\w.-]{0,63})(?=[ \t]*\)))"
             r"|\bset[ \t]+[\w-]*?" + _USER_KEY + r"[ \t]+to[ \t]+" + QUOTED_VALUE, 0.75,
             ("user", "login")),  # (the key holds one; "set" is on too many lines)
        # The user argument of a login call: Python's smtplib/ftplib/imaplib
        # "login(user, password)" and "authenticate(user, password)" APIs, with exactly two
        # arguments, both quoted literals ("client.login('alice', 's3cret')",
        # "(authenticate \"alice\" \"s3cret\")"); pxssh's login(server, user, ...) has three.
        Rule("login_call",
             r"(?<![\w-])(?i:login|authenticate)\b[ \t]*(?:\([ \t]*|[ \t](?=[ \t]*[\"']))[ \t]*"
             + QUOTED_VALUE + r"[ \t]*,?[ \t]*(?:\"[^\"\n]+\"|'[^'\n]+')[ \t]*(?:\)|;|(?m:$))", 0.75,
             ("login", "authenticate")),
        # Lisp definitions of a user-named variable: Emacs Lisp setq/defvar/defcustom, Common
        # Lisp defparameter (its special variables in earmuffs: "*db-user*"), Clojure def,
        # Scheme define; and Clojure/EDN keyword maps.
        Rule("lisp_user_binding",
             r"(?:\((?:setq|setf|defvar|defconst|defcustom|defparameter|def|define)[ \t]+\*?[\w-]*?"
             r"|(?<![\w:-]):)(?<![A-Za-z])(?i:user(?:[_-]?name)?|login|bot-account)\*?[ \t]+\"(?P<value>"
             r"[^\"\n]{1,256})\"", 0.75, ("user", "login", "bot-account")),
        # "login: alice / s3cret": default credentials written as "user / password" in
        # READMEs, comments and runbooks.
        Rule("credential_pair", r"(?<![\w-])(?i:login|user(?:[ _-]?name)?)[ \t]*:[ \t]*"
                                r"(?P<value>[^\s/:'\"`,;()]{2,64})[ \t]+/[ \t]+\S", 0.75,
             ("login", "user")),
        # key=value pairs of log lines (logfmt, "(user=alice)"): no spaces around "=", the
        # value ends at a space, ")" or "," (code's "f(user=x)" lies outside the regions).
        Rule("logfmt_user", r"(?<![\w.-])(?i:user(?:[_-]?name)?|login|uid)=(?P<value>[A-Za-z_]"
                            r"[\w.-]{0,63})(?=[),]|[ \t]+[\w.-]+=|[ \t]*$)", 0.75,
             ("user=", "username=", "user_name=", "user-name=", "login=", "uid=")),
        # The authuser field of the Common Log Format (Apache httpd, nginx):
        # host ident authuser [date] "request" status bytes.
        Rule("common_log_format", r"(?m:^)[ \t]*[\w.:-]+[ \t]+\S+[ \t]+(?P<value>[^\s\[\]\"-]"
                                  r"[^\s\[\]\"]{0,63})[ \t]+\[[^\]\n]{10,40}\][ \t]+\"", 0.85,
             ('] "',)),
        # OpenSSH sshd's authentication log lines ("Accepted password for alice from ...",
        # "Failed publickey for invalid user bob from ...", "Invalid user bob from ...").
        Rule("sshd_log", r"\b(?:(?:Accepted|Failed)[ \t]+[\w/-]+[ \t]+for[ \t]+(?:invalid[ \t]+user"
                         r"[ \t]+)?|Invalid[ \t]+user[ \t]+)(?P<value>[\w.-]{1,32})[ \t]+from\b", 0.85,
             ("accepted", "failed", "invalid user")),
        # Registry logins (docker/podman/helm "login -u NAME", docs.docker.com "docker login")
        # and the GNU long option "--username NAME" of any command (twine, manage.py
        # createsuperuser, ...).
        Rule("username_flag",
             r"(?:\b(?:docker|podman|buildah|skopeo|helm|oras|nerdctl)\b[^\n|;&]*?\blogin\b"
             r"[^\n|;&]*?[ \t](?:-u|--username)|(?<![\w-])--username)(?:=|[ \t]+)[\"']?"
             r"(?P<value>[A-Za-z_][\w.-]{0,63})(?![\w$@])", 0.75, ("login", "--username")),
        # SQL account statements: CREATE/ALTER/DROP USER|LOGIN name (MySQL, PostgreSQL, Oracle,
        # SQL Server) and MySQL's 'user'@'host' account names.
        Rule("sql_account", r"(?i:\b(?:create|alter|drop)[ \t]+(?:user|login)[ \t]+(?:if[ \t]+(?:not"
                            r"[ \t]+)?exists[ \t]+)?)[\"'`\[]?(?P<value>[A-Za-z_][\w.-]{0,63})(?![\w(])"
                            # what follows an account name in SQL, not in prose ("create user
                            # accounts with ..."): IDENTIFIED BY, WITH PASSWORD, PASSWORD, a
                            # closing quote or bracket, @host, FROM/FOR LOGIN, ";" or the end
                            r"(?=[\"'`\]]|[ \t]*(?:;|@|(?m:$))|[ \t]+(?i:identified|with[ \t]+(?:encrypted"
                            r"[ \t]+)?password|password|from|for[ \t]+login)\b)"
                            r"|[\"'`](?P<value>[A-Za-z_][\w.-]{0,31})[\"'`]@[\"'`][\w.%-]+[\"'`]", 0.75,
             ("user", "login", "'@", "\"@", "`@")),
        # Go's MySQL DSN (go-sql-driver/mysql): user:password@tcp(host:port)/dbname.
        Rule("go_mysql_dsn", r"(?<![\w.-])(?P<value>[A-Za-z_][\w.-]{0,63}):[^\s@\"'/]{0,128}"
                             r"@(?:tcp|tcp6|unix|udp)\(", 0.85, ("@tcp", "@unix", "@udp")),
        # PostgreSQL's password file (~/.pgpass): hostname:port:database:username:password.
        # (The regex opens with the ":" before the port, a literal that the regex engine scans
        # for fast, and reads the host behind it.)
        Rule("pgpass_line", r"(?<=(?m:^)[ \t]*(?:[\w.-]+|\*|\[[0-9A-Fa-f:.]+\])):(?:\d{1,5}|\*):[^:\s]+:"
                            r"(?P<value>[A-Za-z_][\w.-]{0,63}):\S+[ \t]*(?m:$)", 0.85),
        # A home directory by tilde expansion (POSIX shell "~alice/") or Apache's UserDir
        # URLs ("/~alice/"); POSIX portable user names start with a lower-case letter or "_".
        Rule("tilde_home", r"(?<![\w~\\$.-])~(?P<value>[a-z_][a-z0-9_.-]{0,31})(?=/)", 0.85, ("~",)),
        # Google's style guides' "TODO(username): ..." (and its FIXME/XXX/HACK/NOTE/BUG kin):
        # a login's shape (letters and digits, single "-" or "." inside: LDAP and POSIX logins
        # hold ".", "TODO(kim.lee)"; no "_": "TODO(infer_string)" is a feature of pandas); a tag
        # of a feature, ticket or version is not an owner (see _is_todo_tag).
        Rule("todo_owner", r"\b(?:TODO|FIXME|XXX|HACK|NOTE|BUG)\((?P<value>[A-Za-z](?:[A-Za-z0-9]|"
                           r"[-.](?=[A-Za-z0-9])){0,38})\)", 0.75,
             ("todo(", "fixme(", "xxx(", "hack(", "note(", "bug(")),
        # "Jane Smith (@jsmith)": a handle in brackets after a person's name (AUTHORS files,
        # credits, changelogs); Slack and Mastodon handles may hold "." and "_".
        Rule("name_handle", r"[^\W\d_\p{Ll}][\p{L}\p{M}'’.-]*\**[ \t]+\(@(?P<value>[A-Za-z0-9]"
                            r"(?:[\w.-]{0,38}[A-Za-z0-9_])?)\)", 0.75, ("(@",)),
        # A Markdown link (CommonMark) or HTML anchor whose text is the handle of the profile
        # URL it links to: "[@jsmith](https://github.com/jsmith)".
        Rule("profile_link_text",
             r"\[@?(?P<value>[A-Za-z0-9](?:[\w.-]{0,37}[A-Za-z0-9_])?)\]\((?:https?://)?(?:www\.)?(?:"
             + "|".join(_PROFILE_PREFIXES) + r")(?P=value)/?\)"
             r"|href=[\"'](?:https?://)?(?:www\.)?(?:" + "|".join(_PROFILE_PREFIXES)
             + r")(?P<handle>[\w.-]{1,39})/?[\"'][^>]*>@?(?P<value>(?P=handle))</a>", 0.85,
             ("](", "href=")),
        # GitHub's CODEOWNERS: a path pattern (with a name in it, or "*" for every file; a
        # comment's "///" or "**" is none), then owners as @user, @org/team or e-mails
        # (docs.github.com, "About code owners"); every @user of the line.
        Rule("codeowners", r"(?m:^)[ \t]*(?=\*[ \t]|\S*[\w.])[\w.*/\[\]!?-]*[/*][\w.*/\[\]!?-]*"
                           r"(?:[ \t]+(?:@(?P<value>"
                           r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38})(?=[ \t]|$)"
                           r"|@[\w.-]+/[\w.-]+|[^\s@]+@[^\s@]+))+[ \t]*$", 0.85, ("@",)),
        # An @mention right after a word that introduces people ("Thanks to @kim.lee for the
        # fix", "ping ``@kim_lee``", "FIXME @kim this breaks"): with the cue the handle may hold
        # "." and "_" (Slack's, Mastodon's and GitLab's handles do), which the bare mention rule
        # leaves out (Ruby's @instance_vars).
        # Every handle of a run after the cue ("/cc @kim @lee.park", "thanks @a and @b"); and
        # the @mention that a quoted reply opens ("> @kim wrote:"). "from" only after help and
        # its kin: "from @words" is a Perl array, "from ``@cached``" a decorator (builds 13 and
        # 17, 2026-12-07; the cues "by", "per", trailers and "/assign" from the validation split).
        Rule("cued_mention",
             r"(?i:(?<![\w-])(?:thanks?(?:[ \t]+to)?|thank[ \t]+you|thx|kudos(?:[ \t]+to)?|cc|ping|"
             r"credits?(?:[ \t]+to)?|props[ \t]+to|h/t|todo|fixme|xxx|hack|by|per|(?:help|contributions?|input|"
             rf"feedback|patch(?:es)?|ideas?|suggestions?|ported|adapted)[ \t]+from|{_TRAILER}|"
             r"/assign|/cc))[:,]?[ \t]+(?:`{0,2}@(?P<value>[A-Za-z0-9](?:[\w.-]{0,38}[A-Za-z0-9_])?)"
             r"(?![\w@/(\[-]|\.\w|::)`{0,2}(?:[ \t]*,|[ \t]+and\b|[ \t]*&)?[ \t]*)+"
             rf"|(?<=(?m:^)[ \t]*(?:(?:{_COMMENT_OPENERS}|<!--)[ \t]*)?>[ \t]*)@(?P<value>[A-Za-z0-9]"
             r"(?:[\w.-]{0,38}[A-Za-z0-9_])?)(?=[ \t]+wrote\b)", 0.6, ("@",)),
        # A lower-case login after a label that credits a person: a git trailer ("Reported-by:
        # kim (GitHub)"), an owner, maintainer, contact or author line ("# Owner: kim.lee",
        # "Author: kim <kim@x.org>" of git log), alone on its line or before a bracket, an
        # address, "via" or "on"; a capitalised value is a name (the NAME recognizer's).
        Rule("credited_login",
             _COMMENT_LEAD + r"(?:[A-Z][a-z]+(?:-[a-z]+)*-by|Owner|Maintainer(?:[ \t]+\((?:GitHub|GitLab)"
             r"\))?|Author|Assignee|Reviewer|(?:Point[ \t]+of[ \t]+)?[Cc]ontact)[ \t]*:[ \t]+@?"
             rf"(?P<value>{_LOWER_LOGIN})"
             r"(?=[ \t]*(?:(?m:$)|\(|<|-->|\*/)|[ \t]+(?:via|on)\b)", 0.75,
             ("-by:", "owner", "maintainer", "author", "assignee", "reviewer", "contact")),
        # Who did something to a change, in a changelog or a comment: "reported by kim on the
        # list", "Last edited by kim on 2021-09-26", "PR #12 by kim, reviewed by lee", "(opened
        # by kim)"; a lower-case login that ends the phrase (before "on", ",", ")" or the line's
        # end) and that the text uses nowhere else as a word ("fixed by default"). From the
        # validation split's templates; not "closed by" ("connection was closed by broker",
        # build 18, 2026-12-07).
        Rule("by_login",
             r"(?i:\b(?:edited|reported|opened|reviewed|filed|merged|authored|written|approved|"
             r"requested|bisected|fixed|contributed|submitted|suggested|maintained|(?:PR|MR|pull"
             r"[ \t]+request|patch)[ \t]+#?\d+)[ \t]+by)[ \t]+"
             rf"(?P<value>{_LOWER_LOGIN})"
             r"(?=[ \t]+on\b|[ \t]*[,)]|[ \t]*(?m:$)|[ \t]*(?:-->|\*/))", 0.6, (" by ",)),
        # git blame's lines: "<commit> [<file>] (<author> <date> <time> <zone> <line>) code"; a
        # lower-case login in the author's place (a name has capitals).
        Rule("blame_author",
             r"(?m:^)\^?[0-9a-f]{7,40}[ \t]+(?:[^\s(]+[ \t]+)?\("
             rf"(?P<value>{_LOWER_LOGIN})"
             r"[ \t]+\d{4}-\d\d-\d\d[ \t]+\d\d:\d\d", 0.75),
        # sshd_config's AllowUsers and DenyUsers: logins, each optionally "@host" (sshd_config(5)).
        Rule("sshd_users",
             r"(?m:^)[ \t]*(?:AllowUsers|DenyUsers)(?:[ \t]+(?P<value>[A-Za-z_][\w.-]{0,31})(?:@[^\s#]+)?)+"
             r"[ \t]*(?:#[^\n]*)?(?m:$)", 0.85, ("allowusers", "denyusers")),
        # "deployed to <host> by kim": who ran a deployment, at the end of a comment or line (a
        # login's lower-case shape; "deployed to prod by the team" ends with a stop word). Only
        # "deployed to/on <target>": "released by module developers" and "the token we pushed
        # by accident" are prose (the pii-corpus release, 2026-12-06).
        Rule("deployed_by",
             r"(?i:\bdeployed[ \t]+(?:to|on)[ \t]+)\S+[ \t]+(?i:by)[ \t]+"
             r"(?P<value>[a-z][\w.-]{0,62}[a-z0-9_])(?=[ \t]*(?:-->|\*/|$))", 0.6, ("deployed",)),
        # A user-named constant of other languages: a Prolog fact ("db_user('kim')."; ISO
        # Prolog's clause syntax), an assembler string labelled so ("db_user: db \"kim\", 0";
        # NASM's db, GNU as's .ascii/.asciz/.string) and an Elixir module attribute
        # ("@ftp_login \"kim\"").
        Rule("user_constant",
             r"(?m:^)[ \t]*(?:(?:[a-z][a-z0-9]*_)*(?:user(?:_?name)?|login)\('(?P<value>[^'\n]{1,64})'\)\."
             r"[ \t]*(?m:$)"
             r"|(?:[A-Za-z][A-Za-z0-9]*_)*(?i:user(?:_?name)?|login):[ \t]*(?i:db|\.ascii|\.asciz|\.string)"
             r"[ \t]+\"(?P<value>[^\"\n]{1,64})\""
             r"|@(?:[a-z][a-z0-9]*_)*(?:user(?:_?name)?|login)[ \t]+\"(?P<value>[^\"\n]{1,64})\"[ \t]*(?m:$))",
             0.75, ("user", "login")),
        # GitHub gists: gist.github.com/<user>/<id>.
        Rule("gist_url", r"(?<![\w.-])gist\.github\.com/(?P<value>[A-Za-z0-9](?:[A-Za-z0-9]|-(?="
                         r"[A-Za-z0-9])){0,38})/[0-9a-f]{7,}", 0.85, ("gist.github.com/",)),
        # Authentication log messages that name the account: "User kim logged in from ...",
        # "Login failed for user 'kim'." (SQL Server's error 18456), "Access denied for kim",
        # "Failed login attempt for kim",
        # "Token ... rejected for kim": a word of authentication first, the account at the
        # end of the message (its closing quote, bracket or the line's end follows): "failed
        # for some reason" and "test failed for x86" are no such messages.
        Rule("auth_log_message",
             r"(?<![\w-])(?i:user)[ \t]+['\"]?(?P<value>" + _LOGIN + r")['\"]?[ \t]+(?:logged|signed)"
             r"[ \t]+(?:in|on|out|off)\b"
             r"|(?<![\w-])(?i:token|login|logon|password|passphrase|credentials?|access|auth\w*|key"
             r"|session|sign-?in)\b[^\n]{0,200}?[ \t](?i:rejected|denied|refused|failed|revoked)"
             r"[ \t]+for[ \t]+(?:(?i:user)[ \t]+)?"
             r"['\"]?(?P<value>" + _LOGIN + r")['\"]?(?=[\"'`)]|\.?[ \t]*$|\.[\"'`)])"
             r"|(?<![\w-])(?i:failed|invalid|unsuccessful)[ \t]+(?i:login|logon|sign-?in|password|"
             r"authentication)[ \t]+(?i:attempt[ \t]+)?for[ \t]+(?:(?i:user)[ \t]+)?"
             r"['\"]?(?P<value>" + _LOGIN + r")['\"]?(?=[\"'`)]|\.?[ \t]*$|\.[\"'`)])", 0.75,
             ("logged", "signed", "rejected", "denied", "refused", "failed", "revoked", "invalid",
              "unsuccessful")),
        # The user argument of a database or FTP connection call, whose positional arguments
        # are host, user, password: PHP's mysqli_connect($host, $user, $password) and
        # mysql_connect($server, $username, $password) (php.net), Python's MySQLdb.connect(
        # host, user, passwd) and ftplib.FTP(host, user, passwd) (their manuals), and any
        # connect helper called so; the host must be an address or a dotted host name, and a
        # third argument must follow. Quoted or bare, with commas or spaces between (Lisp's
        # "(connect-db \"host\" \"user\" \"pw\")").
        Rule("connect_call",
             r"(?<![\w-])(?:(?i:[a-z_]*connect(?:[_-]?db)?)|FTP(?:_TLS)?)[ \t]*(?:\([ \t]*|[ \t]+)"
             r"(?P<hq>[\"']?)" + _HOST_ARG + r"(?P=hq)" + _ARG_SEP
             + r"(?P<uq>[\"']?)(?P<value>" + _LOGIN + r")(?P=uq)" + _ARG_SEP + r"[\"']?[^\s,)\"']",
             0.75, ("connect", "ftp")),
        # Lists of reviewers, approvers and assignees, whose items are accounts: Dependabot's
        # dependabot.yml "reviewers:"/"assignees:" and Kubernetes Prow's OWNERS files
        # "approvers:"/"reviewers:" (GitHub handles; docs.github.com, "Dependabot options
        # reference"; docs.prow.k8s.io, "OWNERS"), and the same lists in code and config:
        # "reviewers = ['kim', 'lee']", "(setq reviewers '(\"kim\" \"lee\"))", "REVIEWERS=(...)",
        # "{'required': ['kim']}". The items: its quoted handles on the key's line, or a YAML
        # block list or an INI section's comma list after it (see _list_items).
        Rule("reviewer_list",
             r"(?<![A-Za-z])(?:(?i:reviewers|approvers|assignees)(?:[_-]?(?i:required)|Required)?"
             r"(?:\[\])?[*\"'\]]*[ \t]*(?:<-|:?=|=>|->|:|(?=[ \t]+'?\())[ \t]*(?P<items>[^\n]{0,400})"
             r"|(?m:^)[ \t]*\[(?i:reviewers|approvers|assignees)\][ \t]*(?P<section>$))", 0.75,
             ("reviewers", "approvers", "assignees")),
        # NuGet's .nuspec <owners>: "a comma-separated list of the package creators using
        # profile names on nuget.org" (learn.microsoft.com, ".nuspec reference"); and the
        # on-call person of a rota as an element (the key handle_assignment reads).
        Rule("owners_element", r"<(?P<tag>(?i:owners|on-?call))>[ \t]*(?P<owners>[^<>\n]{1,300})"
                               r"</(?P=tag)>", 0.75, ("<owners>", "<oncall>", "<on-call>")),
        # Seed data of an accounts table: SQL's INSERT INTO t (cols) VALUES (...), (...); the
        # value in each row at the position of a user-named column (see _insert_user_values).
        Rule("sql_insert_user", r"(?i:\binsert[ \t]+into)[ \t]+[\w.\"`\[\]]+[ \t]*\((?P<cols>[^()\n]{1,300})"
                                r"\)[ \t]*(?i:values)(?P<rows>)", 0.75, ("insert",)),
    )

    def value_spans(self, match: regex.Match, text: str) -> Iterator[tuple[int, int]]:
        """A rule's ``value`` captures, the handles of a list (``items``) or of the lines after
        a list's header (``section``), and the user column of an INSERT's rows (``rows``)."""
        groups = match.re.groupindex
        if "items" in groups and match.start("items") >= 0:
            yield from _list_items(text, *match.span("items"))
        elif "owners" in groups:
            yield from _list_items(text, *match.span("owners"), alone=True)
        elif "section" in groups and match.start("section") >= 0:
            yield from _section_items(text, match.end())
        elif "rows" in groups:
            yield from _insert_user_values(text, match.span("cols"), match.end())
        else:
            for start, end in super().value_spans(match, text):
                # a handle's value is the login without the "@" ("handle = '@kim'" -> kim)
                yield (start + 1, end) if text.startswith("@", start) and end > start + 1 else (start, end)

    def accept(self, rule_name: str, text: str, start: int, end: int) -> bool:
        if rule_name == "todo_owner" and _is_todo_tag(text, start, end):
            return False
        if rule_name == "by_login" and _is_a_word_elsewhere(text, start, end):
            return False  # "fixed by default" where the code says default
        if rule_name == "tilde_home" and _is_a_word_of_the_text(text, start, end):
            return False  # "up to ~eps/1e-3" where the file computes eps
        if rule_name == "cued_mention":  # "thanks to @functools.wraps": a name of the code
            if (_is_name_of_the_code(text, text[start:end])
                    or _is_dotted_name_of_the_code(text, text[start:end])
                    or _DECORATOR_AFTER.match(text, end)):
                return False
        if rule_name == "mention":
            line = text[text.rfind("\n", 0, start) + 1:start - 1]
            cued = _PEOPLE_CUE.search(line[-120:]) is not None
            bracketed = _CREDIT_BRACKET.search(line[-120:]) is not None and text[end:end + 1] in ",)"
            if not (cued or bracketed or _COMMENT_LINE.match(line) or _PROSE_PREFIX.match(line)):
                return False
            if _is_name_of_the_code(text, text[start:end]) or _DECORATOR_AFTER.match(text, end):
                return False  # "patched by @patch decorator"
            if not cued and (_reads_as_code(text, start, end, line)
                             or _is_a_word_of_the_text(text, start, end)):
                return False  # "# @printf and @sprintf formats" in a lexer that names printf
        return super().accept(rule_name, text, start, end)


# A quoted handle in a list, not a key of a map ("required": [...], "required" -> List(...),
# ("required", [...])).
_QUOTED_ITEM = regex.compile(r"([\"'])(?P<item>[A-Za-z0-9_][\w.-]{0,62})\1"
                             r"(?![ \t]*(?::|->|=>|,[ \t]*[\[(]))")
# A bare comma list of handles ("kim,lee-park"), the whole value.
_BARE_LIST = regex.compile(r"[ \t]*[\"']?(?:[A-Za-z0-9_][\w.-]{0,62}[ \t]*,[ \t]*)*"
                           r"[A-Za-z0-9_][\w.-]{0,62}[\"']?[ \t]*[;,]?[ \t]*$")
_BARE_ITEM = regex.compile(r"[A-Za-z0-9_][\w.-]{0,62}")
# A YAML block list's item ("  - kim", "  - \"kim\"") and an INI key of a reviewers section.
_YAML_ITEM = regex.compile(r"[ \t]*-[ \t]+[\"']?(?P<item>[A-Za-z0-9_][\w.-]{0,62})[\"']?[ \t]*(?:#.*)?$")
_SECTION_KEY = regex.compile(r"[ \t]*(?i:required|optional|users?|members|default)[ \t]*[=:][ \t]*")
MAX_LIST_LINES = 50


def _list_items(text: str, start: int, end: int, alone: bool = False
                ) -> Iterator[tuple[int, int]]:
    """The handles of a list value in ``text[start:end]``: its quoted items, or else a bare
    comma list filling the value (two items at least, unless ``alone``: "reviewers =
    reviewers" is code), or else (an empty value) a YAML block list below it."""
    quoted = list(_QUOTED_ITEM.finditer(text, start, end))
    if quoted:
        yield from (m.span("item") for m in quoted)
    elif start == end or text[start:end].strip() == "":
        yield from _section_items(text, end)
    elif _BARE_LIST.fullmatch(text, start, end) and (alone or "," in text[start:end]):
        yield from (m.span() for m in _BARE_ITEM.finditer(text, start, end))


def _lines_after(text: str, line_end: int, limit: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each of the at most ``limit`` lines after the line whose end (its
    "\n", or -1 for none) is at ``line_end``."""
    for _ in range(limit):
        if line_end < 0 or line_end >= len(text):
            return
        start = line_end + 1
        line_end = text.find("\n", start)
        yield start, len(text) if line_end < 0 else line_end


def _section_items(text: str, position: int) -> Iterator[tuple[int, int]]:
    """The handles listed on the lines after ``position`` (the end of a list's header line):
    YAML block items ("- kim"), or the list of a section's first "required = kim,lee" line
    (INI, TOML: "required = [\"kim\", \"lee\"]")."""
    for index, (start, stop) in enumerate(_lines_after(text, position, MAX_LIST_LINES)):
        item = _YAML_ITEM.match(text, start, stop)
        if item:
            yield item.span("item")
            continue
        key = _SECTION_KEY.match(text, start, stop) if index == 0 else None
        if key and key.end() < stop:
            yield from _list_items(text, key.end(), stop)
        return


# The names of a user column, and one SQL value of a row (a quoted string, doubled quotes
# inside, or a bare word or number).
_USER_COLUMN = regex.compile(r"[ \t\"`\[]*(?i:user(?:[_-]?name)?|login|handle|screen[_-]?name|nick(?:name)?)"
                             r"[ \t\"`\]]*")
_SQL_VALUE = regex.compile(r"[ \t\n]*(?:'(?P<value>(?:[^'\n]|'')*)'|\"(?P<value>[^\"\n]*)\"|[^,()'\"\n]*)"
                           r"[ \t]*(?P<sep>,|\))")
_SQL_ROW_START = regex.compile(r"[ \t\r\n]*,?[ \t\r\n]*\(")
MAX_INSERT_ROWS = 200


def _insert_user_values(text: str, cols: tuple[int, int], position: int
                        ) -> Iterator[tuple[int, int]]:
    """The quoted values of the user column in each row of an INSERT whose column list is
    ``text[cols[0]:cols[1]]`` and whose rows start at ``position``."""
    names = text[cols[0]:cols[1]].split(",")
    column = next((i for i, name in enumerate(names) if _USER_COLUMN.fullmatch(name)), None)
    if column is None:
        return
    for _ in range(MAX_INSERT_ROWS):
        row = _SQL_ROW_START.match(text, position)
        if row is None:
            return
        position = row.end()
        for index in range(len(names)):
            value = _SQL_VALUE.match(text, position)
            if value is None:
                return
            position = value.end()
            if index == column and value.start("value") >= 0:
                yield value.span("value")
            if value["sep"] == ")":
                break
        else:
            return


# A doc comment's line (Javadoc, gtk-doc, Doxygen, Rust, R's roxygen), where "@x" is a tag or
# a parameter ("* @ctxt:  an XPath context", "the length of @in").
_DOC_COMMENT_LINE = regex.compile(r"^\s*(?:/\*\*|\*|///|//!|#')")
# Words after which "@x" is a thing, not a person: "the @cache decorator", "a @dataclass".
_DETERMINER_BEFORE = regex.compile(r"(?i:(?<![\w-])(?:the|a|an|this|each|every|any|its|our|"
                                   r"your|their))[ \t]+$")
# What a decorator's name makes: "@x-decorated", "@x-generated", "@x decorator".
_DECORATOR_SUFFIX = regex.compile(r"-(?:decorated|generated|specific|wrapped|based|style|"
                                  r"compatible|friendly|aware|enabled|powered|only|free)$")
_DECORATOR_AFTER = regex.compile(r"(?i:[ \t]*decorat)")


def _reads_as_code(text: str, start: int, end: int, line: str) -> bool:
    """Whether the "@x" at ``text[start:end]`` reads as code: a tag or parameter of a doc
    comment, a thing after a determiner, or a decorator by its suffix or the word after it."""
    return bool(_DOC_COMMENT_LINE.match(line) or _DETERMINER_BEFORE.search(line)
                or _DECORATOR_SUFFIX.search(text, start, end)
                or _DECORATOR_AFTER.match(text, end))


# A login is lower case ("jdoe", "kim42", "jane-doe") or CamelCase words ("JaneDoe"); a run of
# capitals ("EA2D", "CoW", "SPARK-1234", "GH-123", "PY311") is an acronym, a ticket or a version.
_LOGIN_CASE = regex.compile(r"[a-z][a-z0-9]*(?:[-.][a-z0-9]+)*|(?:[A-Z][a-z0-9]+)+(?:-[a-z0-9]+)*")
# A runtime and its version ("py314", "cython3", "python2-compat").
_VERSION_TAG = regex.compile(r"(?i:py|python|cython|cpython|pypy|numpy|np|jdk|java|node|go|gcc"
                             r"|clang|llvm|cuda|torch|tf)\d")


def _is_todo_tag(text: str, start: int, end: int) -> bool:
    """Whether the owner of "TODO(x)" at ``text[start:end]`` is a tag, not a login: an acronym,
    ticket or version by its shape, or a word the file uses elsewhere outside such brackets
    ("TODO(typing)" in a file that imports typing, "TODO(nullable)" beside nullable arrays)."""
    tag = text[start:end]
    return (not _LOGIN_CASE.fullmatch(tag) or _VERSION_TAG.match(tag) is not None
            or _is_a_word_of_the_text(text, start, end))


def _is_a_word_of_the_text(text: str, start: int, end: int) -> bool:
    """Whether the handle at ``text[start:end]`` also stands in ``text`` as a word of its own
    (case-sensitive; in snake_case for a CamelCase handle: "ArrayManager" and
    "array_manager"), neither after "@", "/" or "~" nor in brackets as in "TODO(x)": then the
    text is about that thing, not about an account."""
    handle = text[start:end]
    words = _free_words(text)
    # a dotted handle whose first part the code takes attributes of: "np.float64", "self.x"
    return (handle in words or _CAMEL_HUMP.sub(r"\1_\2", handle).lower() in words
            or _is_dotted_name_of_the_code(text, handle))


def _is_a_word_elsewhere(text: str, start: int, end: int) -> bool:
    """Whether the lower-case login at ``text[start:end]``, which stands free there, stands as a
    word somewhere else in ``text`` too (or is a dotted name of its code)."""
    handle = text[start:end]
    return _free_word_counts(text)[handle] > 1 or _is_dotted_name_of_the_code(text, handle)


def _is_dotted_name_of_the_code(text: str, handle: str) -> bool:
    """Whether a dotted ``handle`` starts with a name that the code (the text without the
    handle's own occurrences: "github.com/kim.lee" is no code) imports or takes attributes
    of: "np.float64", "functools.wraps"."""
    return "." in handle and handle.split(".", 1)[0] in _code_names(text.replace(handle, " "))


_CAMEL_HUMP = regex.compile(r"([a-z0-9])([A-Z])")
_WORD_RUN = regex.compile(r"[A-Za-z0-9_-]+")
# The longest snake_case run of words looked up as one (a handle has a few humps at most).
_MOST_SNAKE_PARTS = 4


@functools.lru_cache(maxsize=16)
def _free_words(text: str) -> frozenset[str]:
    """The words of ``text`` that stand free (see :func:`_free_word_counts`)."""
    return frozenset(_free_word_counts(text))


@functools.lru_cache(maxsize=16)
def _free_word_counts(text: str) -> collections.Counter[str]:
    """The words of ``text`` (runs of letters, digits and "-", and runs of up to four of them
    joined by "_") that stand free: not after "@", "/" or "~", not alone in brackets; each with
    the number of runs it stands in. One pass per text, however many handles are asked about (a
    JavaScript bundle holds thousands of "@param")."""
    counts: collections.Counter[str] = collections.Counter()
    for match in _WORD_RUN.finditer(text):
        start, end = match.span()
        before = text[start - 1] if start else ""
        after = text[end:end + 1]
        if before in ("@", "/", "~") or (before == "(" and text.startswith(")", end)):
            continue
        # nor the data that names an account elsewhere: an e-mail's local part or user@host
        # ("kim@host"), a whole quoted literal ("'kim'"), an element's text (">kim</"); the
        # synthetic validation split repeats a person's handle so (32 owners of TODO(x) and
        # ~x lost), and a code's own word stands otherwise ("import typing", "eps = 1e-3")
        if after == "@" or (before in ("'", '"') and after == before) or (
                before == ">" and text.startswith("</", end)):
            continue
        parts = [part for part in match[0].split("_") if part]
        counts.update({"_".join(parts[first:last]) for first in range(len(parts))
                       for last in range(first + 1, min(len(parts), first + _MOST_SNAKE_PARTS) + 1)})
    return counts


def _is_name_of_the_code(text: str, handle: str) -> bool:
    """Whether the text's code uses ``handle`` (or its part before a hyphen) as a name: a
    decorator line before a definition, an import, a definition, or a module's attribute
    ("beartype.roar"). Then "@x" in a comment, even "by @x", is that code, not a person."""
    return handle.split("-", 1)[0] in _code_names(text)


_CODE_NAME = regex.compile(
    r"(?m:^[ \t]*@(?P<name>\w+)\b[^\n]*\n[ \t]*(?:@|(?:async[ \t]+)?def\b|class\b|public\b|"
    r"private\b|protected\b|function\b|export\b))"
    r"|\b(?:import|from|def|class)[ \t]+(?P<name>\w+)\b"
    r"|(?<![\w@.-])(?P<name>\w+)\.[A-Za-z_](?![\w.-]*@)")


@functools.lru_cache(maxsize=16)
def _code_names(text: str) -> frozenset[str]:
    """The names that the code of ``text`` decorates with, imports, defines or takes attributes
    of (see _is_name_of_the_code): one pass per text."""
    return frozenset(match["name"] for match in _CODE_NAME.finditer(text, overlapped=True))


# Words and phrases after which names of people follow: author and maintainer fields of
# package metadata and source headers, commit trailers, copyright lines (also HTML's "&copy;"
# and REUSE's "SPDX-FileCopyrightText:"), Sphinx's epub_author/epub_copyright, list headers
# ("Credits:", "Contributors:", "Thanks to"), and their Chinese, Japanese and Korean
# counterparts.
_NAME_MARKER = (
    r"(?:(?<![\w-])(?i:authors?|maintainers?|author-email|maintainer-email|__author__|"
    r"__maintainer__|epub_(?:author|copyright|publisher)|spdx-file(?:copyrighttext|contributor)|"
    r"(?:written|created|contributed|developed|implemented|ported|originally|"
    r"coded|modified|maintained)[ \t]+by|(?:signed-off|co-authored|reviewed|reported|tested|"
    r"acked|suggested|helped)-by|copyright)(?![\w-])|©|&copy;|&#169;|&#[xX]0*[aA]9;|"
    r"作者|作成者|著者|维护者|維護者|저자|작성자|"
    r"(?<![\w-])(?i:credits?|contributors?)(?=[ \t]*:)|(?<![\w-])(?i:thanks[ \t]+to)(?=[ \t])|"
    # "(c) 2010 Name": the copyright sign spelled out, with the year that makes it one
    r"\((?i:c)\)(?=[ \t]*\d{4}))"
)
# "author" or "maintainer" as the last word of a variable: project_maintainer,
# PROJECT_MAINTAINER, projectMaintainer (a rule of its own: as a branch of _NAME_MARKER its
# look-behinds made that regex 2-3 times slower, measured on the demo corpus).
_VARIABLE_NAME_MARKER = (r"(?:(?<=[A-Za-z0-9]_)(?i:authors?|maintainers?)|(?<=[a-z])(?:Authors?"
                         r"|Maintainers?))(?![\w-])")
_NAME_ANCHORS = ("author", "maintainer", "by", "copyright", "©", "(c)", "&copy;", "&#169;",
                 "&#x", "spdx-file", "epub_", "credit", "contributor", "thanks to", "作者", "作成者",
                 "著者", "维护者", "維護者", "저자", "작성자")
# What may stand between the marker and the first name: punctuation, "(c)", years,
# "name =", "by", list bullets, a string prefix (u'...', f"..."), an f-string's year
# ("{date.today().year}", Sphinx conf.py's copyright), and at most one line break.
_LEAD_IN_PIECES = (r"(?:\{[^{}\n]{0,40}(?i:year|date|now)[^{}\n]{0,20}\}|\((?i:c)\)|"
                   r"[ \t:=,\"'\[\]{}()*#>.-]|©|&copy;|&#169;|&#[xX]0*[aA]9;|"
                   r"\d{4}(?:[ \t]*[-–][ \t]*(?:\d{4}|present))?|(?i:name)[ \t]*[=:]|(?i:by)\b|"
                   r"(?<![\w])[uUrRbBfF]{1,2}(?=[\"'])){0,24}")
_LEAD_IN = regex.compile(rf"{_LEAD_IN_PIECES}(?:\n{_LEAD_IN_PIECES})?")
# Between two names: a comma, "and", "&", "/", LaTeX's "\and" (Sphinx latex_documents), and
# the e-mail or URL in brackets after one.
_BETWEEN = regex.compile(
    r"(?:[ \t]*(?:<[^>\n]{0,120}>|\([^)\n]{0,120}\)|\[[^\]\n]{0,120}\])[ \t]*)*"
    r"(?:(?:[ \t]*(?:,|;|&|/|\band\b|\bund\b|\bet\b|\by\b|\\{1,2}and\b)[ \t]*)+"
    r"|[ \t]*\n[ \t]*[-*][ \t]+)?")
_WORD = r"\p{Lu}[\p{L}\p{M}'’]{0,30}\p{Ll}(?:-\p{Lu}[\p{L}\p{M}'’]{0,30}\p{Ll})?"
_INITIAL = r"\p{Lu}\."
_PARTICLE = r"(?:van|von|der|den|de|da|di|del|della|du|le|la|bin|ibn|al|el|ter|ten|zu|dos|das|y)"
_UNCASED = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]"
# A word of a script without letter case whose words are spaced (Arabic, Hebrew, Devanagari,
# Bengali, Tamil, Thai, Ethiopic, ...; Georgian's Mkhedruli is lower case only).
_SPACED_UNCASED_WORD = (r"(?:(?!\p{Han}|\p{Hiragana}|\p{Katakana}|\p{Hangul})[\p{Lo}\p{Georgian}]"
                        r"[\p{Lo}\p{Georgian}\p{M}]{1,30})")
_PERSON_PATTERN = (
    rf"(?:(?:{_INITIAL}[ \t]*)+{_WORD}"
    rf"|{_WORD}(?:[ \t]+(?:{_INITIAL}|{_PARTICLE}))*[ \t]+{_WORD}(?:[ \t]+{_WORD}){{0,2}}"
    rf"|{_UNCASED}{{2,4}}(?!{_UNCASED})"
    rf"|{_SPACED_UNCASED_WORD}(?:[ \t]+{_SPACED_UNCASED_WORD}){{1,3}})"
    rf"(?![\w@])")
_PERSON = regex.compile(_PERSON_PATTERN)
# A person's name as a whole value, not inside a word.
_NAME_VALUE = rf"(?<![\w.'’-])(?P<value>{_PERSON_PATTERN})"
_QUOTED_NAME = (rf"(?:\"(?P<value>{_PERSON_PATTERN})\"|'(?P<value>{_PERSON_PATTERN})')")
# The profile URLs of the USERNAME rules, as a Markdown link target.
_PROFILE_TARGET = r"\]\((?:https?://)?(?:www\.)?(?:" + "|".join(_PROFILE_PREFIXES) + r")"
# Comment markers that open the lines of a header comment.
_COMMENT_PREFIX = regex.compile(r"[ \t]*(#+|//+|/?\*+|--|;+|%+|!|')?[ \t]*")
# A line of a header comment that goes on with the people of the marker line above it
# ("#   Jane Smith - port to Python", "#  2013  Jane Smith"): years, then a name, then the
# end of the line, an e-mail, a bracket, a comma, a dash or more years. Not a colon: such a
# line is a field's label ("#  Modified Files: x.c" of a CVS log after "Added Files: COPYRIGHT";
# blind build 13's review, 17 false names, not blind).
_CONTINUATION = regex.compile(
    rf"[ \t]+(?:\d{{4}}(?:[ \t]*[-–,][ \t]*\d{{4}})*[ \t,]+)?(?P<person>{_PERSON_PATTERN})"
    r"(?=[ \t]*(?:$|<|\(|,|[-–—][ \t]|\d{4}))", regex.MULTILINE)
MAX_CONTINUATION_LINES = 30
# Sphinx conf.py's document tuples, whose fourth item is the author (a string) or the authors
# (a list of strings): latex_documents (startdocname, targetname, title, author, ...),
# texinfo_documents (startdocname, targetname, title, author, ...), man_pages (startdocname,
# name, description, authors, section) (sphinx-doc.org, "Configuration").
_SPHINX_AUTHOR_INDEX = 3
_PY_TOKEN = regex.compile(
    r"[ \t\r\n]+|#[^\n]*|(?P<string>[rRuUbBfF]{0,2}(?:\"(?P<dq>(?:\\.|[^\"\\\n])*)\"|"
    r"'(?P<sq>(?:\\.|[^'\\\n])*)'))|(?P<open>[(\[{])|(?P<close>[)\]}])|(?P<comma>,)|[^\s(\[{)\]},\"'#]+")
MAX_SPHINX_CHARS = 4000


# A name-shaped label that opens the line after a marker ("COPYRIGHT\n# Modified Files: x.c",
# a CVS log listing a file named COPYRIGHT): a field, not a person. (Blind build 13's review.)
_LABEL_AFTER_NAME = regex.compile(rf"{_PERSON_PATTERN}[ \t]*:[ \t]*\S")


def _people(text: str, position: int, end: int | None = None) -> Iterator[tuple[int, int]]:
    """The names listed from ``position`` on (before ``end``): one, then one after each
    separator, until something that is not a name."""
    while (person := _PERSON.match(text, position, end if end is not None else len(text))):
        yield person.span()
        between = _BETWEEN.match(text, person.end(), end if end is not None else len(text))
        if between.end() == person.end():
            return
        position = between.end()


def _continuation_people(text: str, marker_start: int) -> Iterator[tuple[int, int]]:
    """The names that open the lines after a marker's line in a header comment, while each
    line has the marker line's comment prefix and starts with a name."""
    line_start = text.rfind("\n", 0, marker_start) + 1
    prefix = _COMMENT_PREFIX.match(text, line_start).group(1)
    if not prefix:
        return
    for start, stop in _lines_after(text, text.find("\n", marker_start), MAX_CONTINUATION_LINES):
        own = _COMMENT_PREFIX.match(text, start, stop)
        if own.group(1) != prefix:
            return
        found = _CONTINUATION.match(text, own.start(1) + len(prefix), stop)
        if not found:
            return
        yield found.span("person")


def _sphinx_authors(text: str, position: int) -> Iterator[tuple[int, int]]:
    """The author strings of the tuples of a Sphinx document list that opens at
    ``position`` (just after its "["), each read as a list of people."""
    depth, item, stop = 1, 0, min(len(text), position + MAX_SPHINX_CHARS)
    while depth > 0 and position < stop:
        token = _PY_TOKEN.match(text, position, stop)
        if token is None:
            return
        position = token.end()
        if token.group("open"):
            depth += 1
            if depth == 2:
                item = 0
        elif token.group("close"):
            depth -= 1
        elif token.group("comma"):
            if depth == 2:
                item += 1
        elif token.group("string") and item == _SPHINX_AUTHOR_INDEX and depth in (2, 3):
            group = "dq" if token.start("dq") >= 0 else "sq"
            yield from _people(text, token.start(group), token.end(group))


# A "name = ..." line of a git config section, and the start of the next section.
_GITCONFIG_NAME = regex.compile(rf"[ \t]*name[ \t]*=[ \t]*\"?(?P<person>{_PERSON_PATTERN})\"?[ \t]*$",
                                regex.MULTILINE)
MAX_GITCONFIG_LINES = 10


def _gitconfig_user_name(text: str, position: int) -> Iterator[tuple[int, int]]:
    """The name of the [user] section whose header ends at ``position``: its "name = ..."
    line among the section's next lines (until the next section)."""
    for start, stop in _lines_after(text, position, MAX_GITCONFIG_LINES):
        if text[start:stop].lstrip().startswith("["):
            return
        found = _GITCONFIG_NAME.match(text, start, stop)
        if found:
            yield found.span("person")
            return


class NameRecognizer(ValueRecognizer):
    """Names of people in author, maintainer, sign-off and copyright lines (one span per
    person of a list), in records of people (PEP 621 authors tables, package.json people,
    git's user.name, "Name <e-mail>"), in Sphinx conf.py and in Markdown/HTML credits;
    organisations and placeholder names are left to the policy to drop."""

    ENTITY = NAME
    # 0.7: context only (the marker and the shape of a name); the policy removes
    # organisations, placeholders and eponyms but cannot confirm a person.
    RULES = (
        Rule("name_after_marker", _NAME_MARKER, 0.7, _NAME_ANCHORS),
        Rule("name_after_variable", _VARIABLE_NAME_MARKER, 0.7, ("author", "maintainer")),
        # Sphinx conf.py: latex_documents, man_pages, texinfo_documents (their authors).
        Rule("sphinx_documents", r"(?<![\w.])(?P<sphinx>latex_documents|man_pages|"
                                 r"texinfo_documents)[ \t]*=[ \t]*\[", 0.7,
             ("latex_documents", "man_pages", "texinfo_documents")),
        # A record of a person: a name key next to an e-mail key, in PEP 621's authors and
        # maintainers tables ({ name = "...", email = "..." }), npm's and Composer's people
        # objects ({"name": "...", "email": "..."}), in either order; and keys that only
        # hold a person's name (full_name, display_name, real_name).
        Rule("person_record",
             rf"(?<![\w-])[\"']?(?i:name)[\"']?[ \t]*[=:][ \t]*{_QUOTED_NAME}[ \t]*,[ \t]*"
             r"[\"']?(?i:e-?mail)[\"']?[ \t]*[=:]"
             r"|(?<![\w-])[\"']?(?i:e-?mail)[\"']?[ \t]*[=:][ \t]*(?:\"[^\"\n]*\"|'[^'\n]*')[ \t]*,"
             rf"[ \t]*[\"']?(?i:name)[\"']?[ \t]*[=:][ \t]*{_QUOTED_NAME}"
             r"|(?<![\w-])[\"'\[]?(?i:full[_-]?name|display[_-]?name|real[_-]?name)[\"'\]]?[ \t]*"
             rf"(?:=>|->|[=:,]|[ \t]to|\.)[ \t]*{_QUOTED_NAME}", 0.7,
             ("mail", "full_", "full-", "fullname", "display_", "display-", "displayname", "real_",
              "real-", "realname")),  # (each branch holds one; "name" is on too many lines)
        # git's user.name ("git config user.name 'Jane Smith'", git-config(1)).
        Rule("git_user_name", r"(?<![\w.-])(?i:user\.name)(?:[ \t]*=[ \t]*|[ \t]+)"
                              rf"(?:{_QUOTED_NAME}|{_NAME_VALUE}(?=[ \t]*$))", 0.7, ("user.name",)),
        # git's config file: the "name" of its [user] section (git-config(1), "user.name").
        Rule("gitconfig_user_section", r"(?m:^)[ \t]*(?P<gitconfig>\[user\])[ \t]*(?m:$)", 0.7,
             ("[user]",)),
        # An RFC 5322 name-addr, "Jane Smith <jane@example.org>", where a list or a field
        # holds it: at the start of a line or after ":", ",", ";", a bracket, a quote, "=",
        # a bullet or a year.
        Rule("name_addr", r"(?<=(?:(?m:^)|[:,;(\[{\"'=>*•|/–—-]|\d{4})[ \t]*)" + _NAME_VALUE
                          + r"[ \t]*<[^<>@\s]{1,64}@[^<>\s]{1,255}>", 0.7, ("@",)),
        # "Jane Smith (@jsmith)": a name before a handle in brackets (AUTHORS files, credits,
        # changelogs), as the USERNAME rule name_handle reads it.
        Rule("name_before_handle", _NAME_VALUE + r"\**[ \t]+\(@[A-Za-z0-9][\w.-]{0,38}\)", 0.7,
             ("(@",)),
        # An HTML mailto: link (RFC 6068) whose text is the addressee's name.
        Rule("mailto_link_text", r"href=[\"']mailto:[^\"'\s]+[\"'][^>]*>[ \t]*" + _NAME_VALUE
                                 + r"[ \t]*</a>", 0.7, ("mailto:",)),
        # Markdown credits around a profile link (CommonMark links; GitHub, Twitter, ...
        # profile URLs): "[Jane Smith](https://github.com/jsmith)", "**Jane Smith** - [@jsmith]
        # (https://...)" (the README template's Authors list) and "[@jsmith](...) (Jane Smith)".
        Rule("profile_link_name",
             r"(?<!!)\[" + _NAME_VALUE + _PROFILE_TARGET + r"[\w.-]{1,39}/?\)"
             + r"|" + _NAME_VALUE + r"(?:\*\*|__)?[ \t]+[-–—][ \t]+(?:\*[^*\n]{1,60}\*[ \t]+[-–—]"
             r"[ \t]+)?\[@?[\w.-]{1,39}" + _PROFILE_TARGET
             + r"|" + _PROFILE_TARGET + r"[\w.-]{1,39}/?\)[ \t]*\(" + _NAME_VALUE + r"\)", 0.7,
             ("](",)),
    )

    def value_spans(self, match: regex.Match, text: str) -> Iterator[tuple[int, int]]:
        """A rule's ``value`` captures; the authors of a Sphinx document list; else the names
        listed after a marker (first after the lead-in, then after each separator, until
        something that is not a name) and those that open the next lines of a header
        comment."""
        groups = match.re.groupindex
        if "value" in groups:
            yield from match.spans("value")
        elif "sphinx" in groups:
            yield from _sphinx_authors(text, match.end())
        elif "gitconfig" in groups:
            yield from _gitconfig_user_name(text, match.end())
        else:
            lead_in = _LEAD_IN.match(text, match.end())
            if "\n" not in lead_in[0] or not _LABEL_AFTER_NAME.match(text, lead_in.end()):
                yield from _people(text, lead_in.end())
            yield from _continuation_people(text, match.start())
