"""KEY and PASSWORD recognizers.

Provider formats are the ones each vendor documents for its credentials (prefix, alphabet and
length); the same facts appear in the rule sets of gitleaks and detect-secrets.
"""
from __future__ import annotations

from pii import policy
from pii.entities import KEY, PASSWORD
from pii.recognizers.base import (
    ASSIGN,
    ASSIGNED_VALUE,
    URL_SCHEME,
    Rule,
    ValueRecognizer,
)


def _token(name: str, body: str, score: float, ends: str = "A-Za-z0-9") -> Rule:
    """A provider token: ``body`` not glued to the characters ``ends`` on either side."""
    return Rule(name, rf"(?<![{ends}])(?P<value>{body})(?![{ends}])", score)


class KeyRecognizer(ValueRecognizer):
    """API keys and tokens in their providers' formats, private-key blocks, bearer tokens,
    and random-looking values assigned to secret-named keys."""

    ENTITY = KEY
    # Scores: 1.0 for formats whose structure is checked (a JWT's header decodes to JSON
    # naming an algorithm; a PEM block's BEGIN/END lines); 0.95 for a vendor's fixed prefix
    # plus exact alphabet and length; 0.9 where the prefix is short enough to collide now and
    # then (Twilio's "SK", Hugging Face's "hf_") or the format needs its context word (AWS
    # secret keys); 0.8 for bearer and basic credentials (the header names them, the format
    # is free); 0.6 for a random value under a secret-named key (context only, as gitleaks
    # ranks its generic rule).
    RULES = (
        _token("aws_access_key_id", r"(?:AKIA|ASIA)[A-Z0-9]{16}", 0.95),
        Rule("aws_secret_access_key",
             r"(?i:aws[\w.-]{0,30}?secret[\w.-]{0,20}?|secret[_-]?access[_-]?key)" + ASSIGN
             + r"[\"']?(?P<value>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])", 0.9, ("secret",)),
        _token("github_token", r"gh[pousr]_[A-Za-z0-9]{36,251}", 0.95),
        _token("github_fine_grained_pat", r"github_pat_[A-Za-z0-9_]{82}", 0.95),
        _token("gitlab_token", r"gl(?:pat|dt|rt|ptt|cbt|oas)-[A-Za-z0-9_-]{20,}", 0.95,
               "A-Za-z0-9_-"),
        _token("slack_token", r"xox[abposr]-[0-9A-Za-z-]{10,250}", 0.95, "A-Za-z0-9-"),
        # A Sentry DSN's user part is the project's key (docs.sentry.io "DSN explainer").
        Rule("sentry_dsn", r"https?://(?P<value>[0-9a-f]{32})(?::[0-9a-f]{32})?@[\w.-]*sentry",
             0.95, ("sentry",)),
        Rule("slack_webhook", r"hooks\.slack\.com/services/(?P<value>T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/"
                              r"[A-Za-z0-9]{20,})", 0.95),
        _token("stripe_secret_key", r"(?:sk|rk)_live_[0-9A-Za-z]{20,247}", 0.95),
        _token("google_api_key", r"AIza[0-9A-Za-z_-]{35}", 0.95, "A-Za-z0-9_-"),
        _token("google_oauth_client_secret", r"GOCSPX-[0-9A-Za-z_-]{28}", 0.95, "A-Za-z0-9_-"),
        _token("twilio_api_key", r"SK[0-9a-fA-F]{32}", 0.9),
        _token("sendgrid_api_key", r"SG\.[0-9A-Za-z_-]{22}\.[0-9A-Za-z_-]{43}", 0.95,
               "A-Za-z0-9_-"),
        _token("npm_token", r"npm_[A-Za-z0-9]{36}", 0.95),
        # "AgEIcHlwaS5vcmc" is the base64 of a PyPI macaroon's location ("pypi.org").
        _token("pypi_token", r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}", 0.95, "A-Za-z0-9_-"),
        _token("openai_key", r"sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}"
                             r"|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|[A-Za-z0-9]{48})", 0.95,
               "A-Za-z0-9_-"),
        _token("anthropic_key", r"sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{80,}", 0.95,
               "A-Za-z0-9_-"),
        _token("huggingface_token", r"hf_[A-Za-z0-9]{34}", 0.9),
        Rule("azure_storage_key", r"(?i:AccountKey)=(?P<value>[A-Za-z0-9+/]{86}==)", 0.95,
             ("key",)),
        _token("jwt", r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", 1.0,
               "A-Za-z0-9_-"),
        # The whole block, BEGIN to END line (escaped "\n" of string literals allowed): one
        # <KEY> for one key, the convention of the labelled data (pii/synth).
        Rule("private_key_block",
             r"(?P<value>-----BEGIN [A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?-----"
             r"(?s:(?:(?!-----).){20,20000}?)-----END [A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?-----)",
             1.0),
        Rule("bearer_token", r"(?<![\w-])(?i:bearer)[ \t]+(?P<value>[A-Za-z0-9._~+/-]{16,}=*)"
                             r"(?![A-Za-z0-9._~+/=-])", 0.8, ("bearer",)),
        Rule("basic_auth_header", r"(?i:authorization)[\"']?[ \t]*[:=][ \t]*[\"']?(?i:basic)[ \t]+"
                                  r"(?P<value>[A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])", 0.8,
             ("basic",)),
        Rule("secret_assignment",
             # Secret-named keys that hold no secret (pagination cursors, CSRF form tokens)
             # are excluded by the look-behind.
             r"(?<!(?i:csrf|xsrf|next|page|continuation|sync|cursor|pagination|resume|cancel)"
             r"[_.-]?)(?i:secret|token|credentials?|api[_.-]?key|apikey|(?:access|auth|private|"
             r"signing|encryption|master|app|application|consumer|client|license|service|"
             r"subscription|session|account|admin|webhook|secret)[_.-]?key)(?![A-Za-z0-9_.-])"
             + ASSIGN + ASSIGNED_VALUE, 0.6, ("secret", "token", "credential", "key")),
    )

    def accept(self, rule_name: str, text: str, start: int, end: int) -> bool:
        if rule_name == "jwt" and policy.jwt_claims(text[start:end]) is None:
            return False
        return super().accept(rule_name, text, start, end)


_PASSWORD_KEY = (r"(?:(?i:passwd|password|passphrase|pwd)|(?<![A-Za-z])(?i:pass)|(?<=[a-z])Pass)"
                 r"(?![A-Za-z0-9_.-])")
# A type annotation between the key and the operator: "password: str = ...".
_ANNOTATION = r"(?:[ \t]*:[ \t]*(?:str|string|String|&str|&'static str|Optional\[str\]))?"
_FLAG_VALUE = (r"(?:\"(?P<value>[^\"\n]{1,256})\"|'(?P<value>[^'\n]{1,256})'"
               r"|(?P<value>(?!-)[^\s\"'`;|&]{1,256}))")
_DB_CLIENTS = ("mysql", "mariadb")


class PasswordRecognizer(ValueRecognizer):
    """Passwords in assignments and config values, URL user-info, XML elements and CLI flags."""

    ENTITY = PASSWORD
    # Scores: 0.85 for URL user-info (scheme://user:password@host is unambiguous syntax);
    # 0.8 for a password-named key, element or flag (the name says what the value is; the
    # policy removes placeholders, look-ups and references); 0.7 for a glued -p'...' flag
    # outside a known database client, which other tools use for other things.
    RULES = (
        Rule("password_assignment", _PASSWORD_KEY + _ANNOTATION + ASSIGN + ASSIGNED_VALUE, 0.8,
             ("pass", "pwd")),
        Rule("password_xml_element", r"<(?i:password|passwd|pwd)>(?P<value>[^<\n]{1,256})</",
             0.8, ("pass", "pwd")),
        Rule("url_credentials", URL_SCHEME + r"[^\s:@/\"'<>]*:(?P<value>[^\s@/\"'<>]{1,256})"
                                r"@(?=[\w\[])", 0.85, ("://",)),
        # "--password=VALUE" or "--password VALUE"; a lower-case word after a space is prose
        # ("the --password option").
        Rule("password_flag", r"(?<![\w-])--?(?i:password|passwd|pass)(?:=|[ \t]+(?![a-z]+\b))"
                              + _FLAG_VALUE, 0.8, ("pass",)),
        Rule("db_client_password_flag",
             r"\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlshow|mysqlcheck|mariadb|"
             r"mariadb-dump)\b[^\n|;&]*?[ \t]-p" + _FLAG_VALUE, 0.8, _DB_CLIENTS),
        # .netrc: "machine HOST login USER password VALUE" (on one line or on its own line).
        # The value ends its line or another .netrc token follows it (machine, default, login,
        # account, macdef: ftp(1)); a prose line that opens with "password" goes on in words
        # ("password strings so that ...": blind build 9's review, 2026-12-06, 4 of them).
        Rule("netrc_password", r"(?:\blogin[ \t]+\S+[ \t]+|(?m:^)[ \t]*)password[ \t]+"
                               r"(?P<value>[^\s\"']{1,256})(?=[ \t]*(?m:$)|[ \t]+(?:machine|default|login|"
                               r"account|macdef)\b)", 0.75, ("password",)),
        # Prose: "the password is VALUE", "password for the test account: VALUE".
        # The value must look made-up (a digit, a symbol or an inner capital), or prose such
        # as "the password is stored ..." would match.
        Rule("password_prose", r"(?i:password)(?:[ \t]+for[ \t]+[\w .-]{1,40}?)?"
                               r"(?:[ \t]+is[ \t]+|:[ \t]+)"
                               r"(?=[^\s\"'`]*(?:[0-9!#$%^&*+=~?@_-]|[a-z][A-Z]))"
                               r"(?P<value>[^\s\"'`]{3,256}?)(?=[.,;]?(?:\s|$))", 0.7,
             ("password",)),
        Rule("sshpass_flag", r"\bsshpass[ \t]+-p[ \t]*" + _FLAG_VALUE, 0.8, ("pass",)),
        Rule("curl_user_password", r"\b(?:curl|wget)\b[^\n]*?[ \t](?:-u|--user)[ \t]*[\"']?"
                                   r"[^:\s\"']+:(?P<value>[^\s\"']{1,256})", 0.8,
             ("curl", "wget")),
        Rule("quoted_p_flag", r"(?<=\s)-p(?:\"(?P<value>[^\"\n]{1,256})\""
                              r"|'(?P<value>[^'\n]{1,256})')(?=\s|$)", 0.7, ("-p'", '-p"')),
    )
