"""USERNAME rules written for issue 8's recall target (the synthetic validation split's missed
families): each with invented values, and a negative case per rule."""
from __future__ import annotations

import pytest

from pii.entities import USERNAME
from recognizer_values import found


@pytest.mark.parametrize("text, expected", [
    # auth_log_message
    ('logger.info("User kim.lee42 logged in from 203.0.113.7")', ["kim.lee42"]),
    ("log.warn('User octo_cat signed out')", ["octo_cat"]),
    ('logger.error("Token ghp_x1y2z3 rejected for mkowalski")', ["mkowalski"]),
    ("Login failed for user 'kimlee'.", ["kimlee"]),
    ('"Access denied for qa-bot7")', ["qa-bot7"]),
    ('log.warning("Failed login attempt for kim.lee")', ["kim.lee"]),
    # connect_call: host, user, password
    ('connect_db("203.0.113.9", "kim.lee", "Rx7.pine")', ["kim.lee"]),
    ("$db = mysqli_connect('db.host.io', 'mkowalski', 'Rx7.pine');", ["mkowalski"]),
    ('(connect-db "198.51.100.4" "octo42" "Rx7.pine")', ["octo42"]),
    ("CONNECT_DB(2001:db8::5, kimlee, Rx7pine)", ["kimlee"]),
    ("ftp = FTP('ftp.host.io', 'kim_lee', 'Rx7.pine')", ["kim_lee"]),
    # reviewer_list: quoted items on the key's line, YAML block lists, INI/TOML sections
    ("reviewers = ['kim.lee', 'octo42']", ["kim.lee", "octo42"]),
    ("(setq reviewers '(\"kim-lee\" \"octo42\"))", ["kim-lee", "octo42"]),
    ('export REVIEWERS=("kim_lee" "octo42")', ["kim_lee", "octo42"]),
    ('val reviewers = Map("required" -> List("kimlee", "octo42"))', ["kimlee", "octo42"]),
    ("reviewers = {'required': ['kimlee']}", ["kimlee"]),
    ('static const char *reviewers[] = { "kimlee", "octo42" };', ["kimlee", "octo42"]),
    ('reviewers:\n  - "octo42"\n  - kim-lee\nlabels:\n  - deps\n', ["octo42", "kim-lee"]),
    ("approvers:\n- kimlee\n", ["kimlee"]),
    ("[reviewers]\nrequired = kimlee,octo42\n", ["kimlee", "octo42"]),
    ('[reviewers]\nrequired = ["kimlee", "octo42"]\n', ["kimlee", "octo42"]),
    # owners_element: NuGet's <owners>, a rota's <oncall>
    ("<owners>kimlee,octo42</owners>", ["kimlee", "octo42"]),
    ("<oncall>kim.lee</oncall>", ["kim.lee"]),
    # sql_insert_user: the user column of every row
    ("INSERT INTO accounts (login, password) VALUES\n  ('kim.lee', 'Rx7.pine'),\n"
     "  ('octo42', 'Mx9.fern');", ["kim.lee", "octo42"]),
    ("INSERT INTO users (id, username, pw) VALUES (1, 'mkowalski', 'Rx7.pine');", ["mkowalski"]),
    # cued_mention: handles with "." and "_" after a word that introduces people
    ("Thanks to @kim.lee42 for the fix (#12)", ["kim.lee42"]),
    ("# FIXME @octo_cat this breaks on empty input", ["octo_cat"]),
    ("or ping ``@kim.lee``.", ["kim.lee"]),
    # deployed_by
    ("<!-- deployed to 203.0.113.9 by kim-lee -->", ["kim-lee"]),
    # todo_owner with "." and "_"; pairs and typed keys of a rota's on-call person
    ("# NOTE(kim.lee): keep in sync", ["kim.lee"]),
    ("// HACK(octo-cat42): retry", ["octo-cat42"]),
    ('Dim OwnersOncall As String = "kim.lee"', ["kim.lee"]),
    ('(define owners \'(("oncall" . "kimlee")))', ["kimlee"]),
    ('#{<<"username">> => "kimlee", <<"password">> => "Rx7.pine"}', ["kimlee"]),
    # user_constant and Lisp earmuffs
    ("(defparameter *db-user* \"kimlee\")", ["kimlee"]),
    ("database_user('kim.lee').", ["kim.lee"]),
    ('db_user: db "kim_lee", 0', ["kim_lee"]),
    ('  @ftp_login "octo42"', ["octo42"]),
    # the handle repeated as data elsewhere (an e-mail's local part, a quoted literal, element
    # text) is no word of the code: TODO(x) and ~x stay handles
    ("# TODO(octo42): x\nemail = 'octo42@quillmail.net'\nuser = 'octo42'\n<o>octo42</o>",
     ["octo42", "octo42"]),
    ("Run from ~kimlee/bin\n(author: kimlee@quillmail.net)", ["kimlee"]),
    # shell accounts: run-as flags, su, chown's owner and group, passwd and sudoers lines
    ("# $ sudo -u kim.lee pg_dump app > backup.sql", ["kim.lee"]),
    ("# $ crontab -u octo_cat -e", ["octo_cat"]),
    ("$ su - mkowalski", ["mkowalski"]),
    ("# chown -R kimlee:devs /srv/app", ["kimlee", "devs"]),
    ("# mkowalski:x:1001:1001:M. Kowalski:/srv/mk:/bin/zsh", ["mkowalski"]),
    ("  // kim_lee ALL=(ALL) NOPASSWD: ALL", ["kim_lee"]),
])
def test_username_recall_rules(text, expected):
    assert found(USERNAME, text) == expected


@pytest.mark.parametrize("text", [
    # auth_log_message: no word of authentication before, or no account at the message's end
    '"Test failed for x86"',
    "the build failed for some reason",
    "Token refresh failed for the session pool",
    'log.warning("Failed login attempt for %s", name)',
    # connect_call: no host first, or variables
    "conn = connect(host, user, password)",
    'connect("users.db")',
    # reviewer_list: a variable, prose, a single bare word
    "self.reviewers = reviewers",
    "reviewers: the people to ask",
    # owners_element: an organisation's name
    "<owners>Apache Software Foundation</owners>",
    # sql_insert_user: no user column
    "INSERT INTO colours (name, hex) VALUES ('teal', '008080');",
    # cued_mention: a decorator of the code, a template's numbered stand-in
    "BUG cc @username_1, who wrote the parser.",
    "import functools\n# Thanks to @functools.wraps for the name",
    # deployed_by: a stop word, or more words after
    "<!-- deployed to prod by the team -->",
    "deployed by kimlee and others last week",
    "# did not work out, remove the token we pushed by accident",
    "source distributions deployed by module\ndevelopers",
    # todo_owner: a dotted name of the code, a snake_case word the file uses
    "import numpy as np\nx = np.zeros(3)\n# TODO(np.float64): x",
    "# TODO(infer_string): x",
    # shell accounts that are system accounts or variables, a flag of another command
    "# $ sudo -u postgres psql",
    "sudo -u $USER make install",
    'os.system("chown root:root /etc/app.conf")',
    "# www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin",
    "root ALL=(ALL) ALL",
    "$ sort -u names.txt",
    # a version or an object identifier in a handle's place
    "# TODO(v4.0.0): remove the sentinel",
    "apmNameUserName: 1.3.6.1.2.1.16.23.1.8.1.5",
    # user_constant: not a user-named key
    'db_host: db "kimlee", 0',
    # a typed handle key holding a variable, not a literal
    "Dim OwnersOncall As String = GetOncall()",
])
def test_username_recall_rules_negatives(text):
    assert found(USERNAME, text) == []


@pytest.mark.parametrize("text, expected", [
    # trailers and cues: every handle of a run, "." and "_" kept, the "@" never in the value
    ("# Suggested-by: @kim_lee42\n# Co-authored-by: @octo.cat", ["kim_lee42", "octo.cat"]),
    (" * Reported-by: mkowalski (GitHub)", ["mkowalski"]),
    ("/cc @kimlee @octo.cat", ["kimlee", "octo.cat"]),
    ("Thanks @kim_lee and @octo.cat for testing", ["kim_lee", "octo.cat"]),
    ("# > @kim_lee wrote:", ["kim_lee"]),
    ("(thanks to help from @octo42)", ["octo42"]),
    ("- Fix the parser on Windows (@kimlee, #2073)", ["kimlee"]),
    ("notifications = {'slack_handle': '@kim.lee'}", ["kim.lee"]),
    # credited_login: a lower-case login after an owner, maintainer, author or contact label
    ("# Owner: kim.lee", ["kim.lee"]),
    ("// Maintainer (GitHub): octo-cat42", ["octo-cat42"]),
    ("Author: mkowalski <mk@quillmail.net>", ["mkowalski"]),
    ("-- Point of contact: kim_lee on Slack", ["kim_lee"]),
    # by_login: who did something to a change
    ("-- Last edited by kimlee42 on 2021-09-26", ["kimlee42"]),
    (";; PR #7484 by kim_lee, reviewed by octo42", ["kim_lee", "octo42"]),
    ("Duplicate of #12 (opened by mkowalski)", ["mkowalski"]),
    # blame_author, sshd_users, bot accounts
    ("1a465f8addd5 (kim-lee 2015-10-11 19:46:12 +0200 12) x = 1", ["kim-lee"]),
    ("AllowUsers kimlee octo42@203.0.113.0/24", ["kimlee", "octo42"]),
    ('CI_BOT_ACCOUNT="kim.lee"', ["kim.lee"]),
    ("val ciBotAccount = \"octo42\"", ["octo42"]),
    ("<bot_account>octo_cat</bot_account>", ["octo_cat"]),
    ('(def ci-bot-account "kimlee")', ["kimlee"]),
    # an account at a line's start after a line that ends in a word ("$" of Python's re also
    # matches before a final newline: such accounts were taken for the end of a token)
    ("daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\nmkowalski:x:9928:9928::/srv/mk:/bin/zsh",
     ["mkowalski"]),
])
def test_username_credit_rules(text, expected):
    assert found(USERNAME, text) == expected


@pytest.mark.parametrize("text", [
    # a capitalised value after a label is a name; a word the text uses elsewhere is a thing
    "# Maintainer: Kim Lee",
    "Author: Kim <kim@quillmail.net>",
    "# fixed by default\nx = default",
    "# Owner: root",
    # "from" only after help and its kin: an array, a decorator
    "# message list is now removed from @words\nmy $first = $words[0];",
    "- Return callables from ``@cached`` and friends",
    "# connection was closed by broker",
    # a bracketed "@x" that the text uses as a word: Perl's arrays
    "print the words (@words)",
    # git blame with a person's name in the author's place
    "1a465f8addd5 (Kim Lee 2015-10-11 19:46:12 +0200 12) x = 1",
])
def test_username_credit_rules_negatives(text):
    assert found(USERNAME, text) == []
