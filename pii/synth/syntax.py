"""How each host language writes comments, string assignments, maps and lists.

A *host* is the language of the document a template is inserted into: a language of the
pipeline's shards (``python``, ``yaml``, ``markdown``, ...) or a file kind that the shards lack
and that the generator writes whole (``dotenv``, ``ini``, ``ssh-config``, ...). Formats use
``str.replace`` markers (``{name}``, ``{value}``, ``{k}``, ``{v}``, ``{fn}``, ``{args}``,
``{var}``) so that literal braces need no escaping.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class CommentStyle:
    """A comment: optional opening line, a prefix and suffix per line, optional closing line."""

    prefix: str
    suffix: str = ""
    open: str | None = None
    close: str | None = None


@dataclasses.dataclass(frozen=True)
class Dialect:
    """How a programming language writes the statements of code templates."""

    assign: tuple[str, ...]  # alternatives with {name} and {value}
    case: str  # snake | camel | upper | pascal | kebab | ada
    quotes: str  # string quote characters to choose from ("" = bare)
    call: str = "{fn}({args})"
    arg_sep: str = ", "
    map: tuple[str, str, str, str] | None = None  # open, entry ({k}, {v}), separator, close
    list: tuple[str, str, str] | None = None  # open, separator, close
    assign_map: str | None = None  # when maps need another declaration than strings
    assign_list: str | None = None
    multiline: tuple[str, str] | None = None  # open and close of a multi-line string
    env: str | None = None  # environment look-up with {var}
    typed: bool = False  # numbers in maps/lists are written as strings
    fn_case: str = ""  # naming case of called functions (default: case)


def _line(prefix: str) -> CommentStyle:
    return CommentStyle(prefix + " ")


_C_BLOCK = CommentStyle(" * ", "", "/*", " */")
_JAVADOC = CommentStyle(" * ", "", "/**", " */")
_XML_BLOCK = CommentStyle("  ", "", "<!--", "-->")
_XML_LINE = CommentStyle("<!-- ", " -->")
_ML_BLOCK = CommentStyle("   ", "", "(*", "*)")
_HS_BLOCK = CommentStyle("  ", "", "{-", "-}")
_PY_DOC = CommentStyle("", "", '"""', '"""')
_TRIPLE_SLASH = _line("///")
_PLAIN = CommentStyle("")

# Comment styles of each host language (first is the line comment where there is one); every
# host the generator knows has an entry, empty where the format has no comments.
COMMENTS: dict[str, tuple[CommentStyle, ...]] = {
    "python": (_line("#"), _PY_DOC),
    "ruby": (_line("#"), CommentStyle("", "", "=begin", "=end")),
    "perl": (_line("#"), CommentStyle("", "", "=pod", "=cut")),
    "shell": (_line("#"),),
    "tcsh": (_line("#"),),
    "powershell": (_line("#"), CommentStyle("  ", "", "<#", "#>")),
    "r": (_line("#"), _line("#'")),
    "julia": (_line("#"), _PY_DOC),
    "elixir": (_line("#"),),
    "makefile": (_line("#"),),
    "dockerfile": (_line("#"),),
    "cmake": (_line("#"),),
    "yaml": (_line("#"),),
    "toml": (_line("#"),),
    "awk": (_line("#"),),
    "coffeescript": (_line("#"),),
    "sparql": (_line("#"),),
    "maple": (_line("#"),),
    "c": (_line("//"), _C_BLOCK, _JAVADOC),
    "cpp": (_line("//"), _C_BLOCK, _TRIPLE_SLASH),
    "cuda": (_line("//"), _C_BLOCK),
    "glsl": (_line("//"), _C_BLOCK),
    "java": (_line("//"), _C_BLOCK, _JAVADOC),
    "kotlin": (_line("//"), _JAVADOC),
    "scala": (_line("//"), _JAVADOC),
    "groovy": (_line("//"), _JAVADOC),
    "go": (_line("//"), _C_BLOCK),
    "rust": (_line("//"), _TRIPLE_SLASH, _line("//!")),
    "c-sharp": (_line("//"), _TRIPLE_SLASH, _C_BLOCK),
    "javascript": (_line("//"), _JAVADOC),
    "typescript": (_line("//"), _JAVADOC),
    "php": (_line("//"), _line("#"), _JAVADOC),
    "swift": (_line("//"), _TRIPLE_SLASH),
    "dart": (_line("//"), _TRIPLE_SLASH),
    "zig": (_line("//"),),
    "solidity": (_line("//"), _JAVADOC),
    "verilog": (_line("//"), _C_BLOCK),
    "systemverilog": (_line("//"), _C_BLOCK),
    "stan": (_line("//"), _C_BLOCK),
    "protocol-buffer": (_line("//"),),
    "thrift": (_line("//"),),
    "antlr": (_line("//"), _C_BLOCK),
    "alloy": (_line("//"), _line("--")),
    "css": (CommentStyle("/* ", " */"), _C_BLOCK),
    "f-sharp": (_line("//"), _ML_BLOCK),
    "sql": (_line("--"), _C_BLOCK),
    "haskell": (_line("--"), _HS_BLOCK, _line("-- |")),
    "lua": (_line("--"), CommentStyle("", "", "--[[", "]]")),
    "ada": (_line("--"),),
    "elm": (_line("--"), _HS_BLOCK),
    "vhdl": (_line("--"),),
    "idris": (_line("--"), _HS_BLOCK),
    "agda": (_line("--"), _HS_BLOCK),
    "lean": (_line("--"), CommentStyle("  ", "", "/-", "-/")),
    "applescript": (_line("--"), _ML_BLOCK),
    "matlab": (_line("%"), CommentStyle("", "", "%{", "%}")),
    "prolog": (_line("%"), _C_BLOCK),
    "erlang": (_line("%%"),),
    "common-lisp": (_line(";;"),),
    "emacs-lisp": (_line(";;"),),
    "scheme": (_line(";;"),),
    "racket": (_line(";;"),),
    "clojure": (_line(";;"),),
    "assembly": (_line(";"),),
    "fortran": (_line("!"),),
    "visual-basic": (_line("'"),),
    "batchfile": (_line("REM"), _line("::")),
    "ocaml": (_ML_BLOCK, CommentStyle("   ", "", "(**", "*)")),
    "mathematica": (_ML_BLOCK,),
    "isabelle": (_ML_BLOCK,),
    "pascal": (_line("//"), CommentStyle("  ", "", "{", "}")),
    "smalltalk": (CommentStyle("", "", '"', '"'),),
    "html": (_XML_BLOCK, _XML_LINE),
    "xml": (_XML_BLOCK, _XML_LINE),
    "xslt": (_XML_BLOCK, _XML_LINE),
    "java-server-pages": (CommentStyle("  ", "", "<%--", "--%>"), _XML_LINE),
    "markdown": (_PLAIN, _XML_LINE),
    "restructuredtext": (_PLAIN, CommentStyle("   ", "", "..")),
    "literate-haskell": (_PLAIN,),
    "literate-agda": (_PLAIN,),
    "text": (_PLAIN,),
    "standard-ml": (_ML_BLOCK,),
    "json": (),
    "dotenv": (_line("#"),),
    "ini": (_line(";"), _line("#")),
    "properties": (_line("#"), _line("!")),
    "ssh-config": (_line("#"),),
    "git-config": (_line("#"), _line(";")),
    "netrc": (),
    "log": (),
}
# Hosts whose text is prose: text templates go in as plain lines, blocks get blank lines around.
PROSE_HOSTS = frozenset(
    {"markdown", "restructuredtext", "literate-haskell", "literate-agda", "text"}
)

_PY_MAP = ("{", "{q}{k}{q}: {v}", ", ", "}")
_BRACKET_LIST = ("[", ", ", "]")
_LISP_MAP = ("'(", '("{k}" . {v})', " ", ")")
_LISP_LIST = ("'(", " ", ")")

DIALECTS: dict[str, Dialect] = {
    "python": Dialect(
        ("{name} = {value}",),
        "snake",
        "\"'",
        map=_PY_MAP,
        list=_BRACKET_LIST,
        multiline=('"""', '"""'),
        env="os.environ[{q}{var}{q}]",
    ),
    "javascript": Dialect(
        ("const {name} = {value};", "let {name} = {value};"),
        "camel",
        "'\"",
        call="{fn}({args});",
        map=("{ ", "{k}: {v}", ", ", " }"),
        list=_BRACKET_LIST,
        multiline=("`", "`"),
        env="process.env.{var}",
    ),
    "typescript": Dialect(
        ("const {name} = {value};", "export const {name} = {value};"),
        "camel",
        "'\"",
        call="{fn}({args});",
        map=("{ ", "{k}: {v}", ", ", " }"),
        list=_BRACKET_LIST,
        multiline=("`", "`"),
        env="process.env.{var}",
    ),
    "coffeescript": Dialect(
        ("{name} = {value}",),
        "camel",
        "'\"",
        map=("{", "{k}: {v}", ", ", "}"),
        list=_BRACKET_LIST,
        multiline=('"""', '"""'),
        env="process.env.{var}",
    ),
    "java": Dialect(
        ("var {name} = {value};", "String {name} = {value};"),
        "camel",
        '"',
        call="{fn}({args});",
        map=("Map.of(", '"{k}", {v}', ", ", ")"),
        list=("List.of(", ", ", ")"),
        assign_map="var {name} = {value};",
        assign_list="var {name} = {value};",
        multiline=('"""\n', '"""'),
        env='System.getenv("{var}")',
        typed=True,
    ),
    "kotlin": Dialect(
        ("val {name} = {value}",),
        "camel",
        '"',
        map=("mapOf(", '"{k}" to {v}', ", ", ")"),
        list=("listOf(", ", ", ")"),
        multiline=('"""', '"""'),
        env='System.getenv("{var}")',
    ),
    "scala": Dialect(
        ("val {name} = {value}",),
        "camel",
        '"',
        map=("Map(", '"{k}" -> {v}', ", ", ")"),
        list=("List(", ", ", ")"),
        multiline=('"""', '"""'),
        env='sys.env("{var}")',
    ),
    "groovy": Dialect(
        ("def {name} = {value}",),
        "camel",
        "'\"",
        map=("[", "{k}: {v}", ", ", "]"),
        list=_BRACKET_LIST,
        multiline=("'''", "'''"),
        env='System.getenv("{var}")',
    ),
    "c": Dialect(
        ("static const char *{name} = {value};",),
        "snake",
        '"',
        call="{fn}({args});",
        map=("{ ", '{"{k}", {v}}', ", ", " }"),
        list=("{ ", ", ", " }"),
        assign_map="static const struct kv {name}[] = {value};",
        assign_list="static const char *{name}[] = {value};",
        env='getenv("{var}")',
        typed=True,
    ),
    "cpp": Dialect(
        ("const std::string {name} = {value};", "constexpr auto {name} = {value};"),
        "snake",
        '"',
        call="{fn}({args});",
        map=("{", '{"{k}", {v}}', ", ", "}"),
        list=("{", ", ", "}"),
        assign_map="const std::map<std::string, std::string> {name} = {value};",
        assign_list="const std::vector<std::string> {name} = {value};",
        multiline=('R"(', ')"'),
        env='std::getenv("{var}")',
        typed=True,
    ),
    "c-sharp": Dialect(
        ("var {name} = {value};", "const string {name} = {value};"),
        "camel",
        '"',
        call="{fn}({args});",
        map=("new Dictionary<string, string> { ", '["{k}"] = {v}', ", ", " }"),
        list=("new[] { ", ", ", " }"),
        assign_map="var {name} = {value};",
        assign_list="var {name} = {value};",
        multiline=('@"', '"'),
        env='Environment.GetEnvironmentVariable("{var}")',
        typed=True,
    ),
    "go": Dialect(
        ("{name} := {value}", "const {name} = {value}"),
        "camel",
        '"',
        map=("map[string]string{", '"{k}": {v}', ", ", "}"),
        list=("[]string{", ", ", "}"),
        assign_map="{name} := {value}",
        assign_list="{name} := {value}",
        multiline=("`", "`"),
        env='os.Getenv("{var}")',
        typed=True,
    ),
    "rust": Dialect(
        ("let {name} = {value};", "const {name}: &str = {value};"),
        "snake",
        '"',
        call="{fn}({args});",
        map=("HashMap::from([", '("{k}", {v})', ", ", "])"),
        list=("vec![", ", ", "]"),
        assign_map="let {name} = {value};",
        assign_list="let {name} = {value};",
        multiline=('r#"', '"#'),
        env='env::var("{var}")?',
        typed=True,
    ),
    "php": Dialect(
        ("${name} = {value};",),
        "camel",
        "'\"",
        call="{fn}({args});",
        map=("[", "{q}{k}{q} => {v}", ", ", "]"),
        list=_BRACKET_LIST,
        multiline=("'", "'"),
        env="getenv('{var}')",
    ),
    "ruby": Dialect(
        ("{name} = {value}",),
        "snake",
        "'\"",
        map=("{ ", "{q}{k}{q} => {v}", ", ", " }"),
        list=_BRACKET_LIST,
        multiline=("<<~KEY\n", "\nKEY"),
        env="ENV['{var}']",
    ),
    "perl": Dialect(
        ("my ${name} = {value};",),
        "snake",
        "'\"",
        call="{fn}({args});",
        map=("(", "{k} => {v}", ", ", ")"),
        list=("(", ", ", ")"),
        assign_map="my %{name} = {value};",
        assign_list="my @{name} = {value};",
        multiline=('"', '"'),
        env="$ENV{{var}}",
    ),
    "shell": Dialect(
        ("{name}={value}", "export {name}={value}"),
        "upper",
        "\"'",
        call="{fn} {args}",
        fn_case="snake",
        arg_sep=" ",
        list=("(", " ", ")"),
        multiline=('"', '"'),
        env='"${{var}}"',
    ),
    "tcsh": Dialect(
        ("setenv {name} {value}", "set {name} = {value}"),
        "upper",
        '"',
        call="{fn} {args}",
        fn_case="snake",
        arg_sep=" ",
        env='"$' + '{var}"',
    ),
    "powershell": Dialect(
        ("${name} = {value}",),
        "camel",
        "'\"",
        map=("@{ ", "{k} = {v}", "; ", " }"),
        list=("@(", ", ", ")"),
        multiline=('@"\n', '\n"@'),
        env="$env:{var}",
    ),
    "lua": Dialect(
        ("local {name} = {value}",),
        "snake",
        "\"'",
        map=("{ ", "{k} = {v}", ", ", " }"),
        list=("{ ", ", ", " }"),
        multiline=("[[", "]]"),
        env='os.getenv("{var}")',
    ),
    "r": Dialect(
        ("{name} <- {value}",),
        "snake",
        "\"'",
        map=("list(", "{k} = {v}", ", ", ")"),
        list=("c(", ", ", ")"),
        multiline=('"', '"'),
        env='Sys.getenv("{var}")',
    ),
    "julia": Dialect(
        ("{name} = {value}", "const {name} = {value}"),
        "snake",
        '"',
        map=("Dict(", '"{k}" => {v}', ", ", ")"),
        list=_BRACKET_LIST,
        multiline=('"""', '"""'),
        env='ENV["{var}"]',
    ),
    "matlab": Dialect(
        ("{name} = {value};",),
        "camel",
        "'",
        call="{fn}({args});",
        map=("struct(", "'{k}', {v}", ", ", ")"),
        list=("{", ", ", "}"),
        env="getenv('{var}')",
    ),
    "elixir": Dialect(
        ("{name} = {value}", "@{name} {value}"),
        "snake",
        '"',
        map=("%{", '"{k}" => {v}', ", ", "}"),
        list=_BRACKET_LIST,
        multiline=('"""\n', '\n"""'),
        env='System.get_env("{var}")',
    ),
    "erlang": Dialect(
        ("{name} = {value},",),
        "pascal",
        '"',
        call="{fn}({args}),",
        fn_case="snake",
        map=("#{", '<<"{k}">> => {v}', ", ", "}"),
        list=_BRACKET_LIST,
        env='os:getenv("{var}")',
    ),
    "haskell": Dialect(
        ("{name} = {value}",),
        "camel",
        '"',
        call="{fn} {args}",
        arg_sep=" ",
        map=("[", '("{k}", {v})', ", ", "]"),
        list=_BRACKET_LIST,
        env='getEnv "{var}"',
        typed=True,
    ),
    "elm": Dialect(
        ("{name} = {value}",),
        "camel",
        '"',
        call="{fn} {args}",
        arg_sep=" ",
        map=("Dict.fromList [", '("{k}", {v})', ", ", "]"),
        list=_BRACKET_LIST,
        typed=True,
    ),
    "ocaml": Dialect(
        ("let {name} = {value}",),
        "snake",
        '"',
        call="{fn} {args}",
        arg_sep=" ",
        map=("[", '("{k}", {v})', "; ", "]"),
        list=("[", "; ", "]"),
        multiline=("{|", "|}"),
        env='Sys.getenv "{var}"',
        typed=True,
    ),
    "standard-ml": Dialect(
        ("val {name} = {value}",),
        "camel",
        '"',
        call="{fn} ({args})",
        list=("[", ", ", "]"),
        env='OS.Process.getEnv "{var}"',
        typed=True,
    ),
    "f-sharp": Dialect(
        ("let {name} = {value}",),
        "camel",
        '"',
        call="{fn} {args}",
        arg_sep=" ",
        map=("dict [", '("{k}", {v})', "; ", "]"),
        list=("[", "; ", "]"),
        multiline=('"""', '"""'),
        env='Environment.GetEnvironmentVariable "{var}"',
        typed=True,
    ),
    "clojure": Dialect(
        ("(def {name} {value})",),
        "kebab",
        '"',
        call="({fn} {args})",
        arg_sep=" ",
        map=("{", ":{k} {v}", " ", "}"),
        list=("[", " ", "]"),
        multiline=('"', '"'),
        env='(System/getenv "{var}")',
    ),
    "common-lisp": Dialect(
        ("(defparameter *{name}* {value})",),
        "kebab",
        '"',
        call="({fn} {args})",
        arg_sep=" ",
        map=_LISP_MAP,
        list=_LISP_LIST,
        multiline=('"', '"'),
        env='(uiop:getenv "{var}")',
    ),
    "emacs-lisp": Dialect(
        ("(setq {name} {value})", "(defvar {name} {value})"),
        "kebab",
        '"',
        call="({fn} {args})",
        arg_sep=" ",
        map=_LISP_MAP,
        list=_LISP_LIST,
        multiline=('"', '"'),
        env='(getenv "{var}")',
    ),
    "scheme": Dialect(
        ("(define {name} {value})",),
        "kebab",
        '"',
        call="({fn} {args})",
        arg_sep=" ",
        map=_LISP_MAP,
        list=_LISP_LIST,
        env='(getenv "{var}")',
    ),
    "racket": Dialect(
        ("(define {name} {value})",),
        "kebab",
        '"',
        call="({fn} {args})",
        arg_sep=" ",
        map=_LISP_MAP,
        list=_LISP_LIST,
        env='(getenv "{var}")',
    ),
    "visual-basic": Dialect(
        ("Dim {name} As String = {value}", "Const {name} As String = {value}"),
        "pascal",
        '"',
        list=("{", ", ", "}"),
        assign_list="Dim {name} As String() = {value}",
        env='Environment.GetEnvironmentVariable("{var}")',
    ),
    "fortran": Dialect(
        ("character(len=*), parameter :: {name} = {value}",), "snake", "'", call="call {fn}({args})"
    ),
    "ada": Dialect(
        ("{name} : constant String := {value};",),
        "ada",
        '"',
        call="{fn} ({args});",
        env='Ada.Environment_Variables.Value ("{var}")',
    ),
    "pascal": Dialect(
        ("const {name} = {value};", "{name} := {value};"),
        "pascal",
        "'",
        call="{fn}({args});",
        env="GetEnvironmentVariable('{var}')",
    ),
    "dart": Dialect(
        ("final {name} = {value};", "const {name} = {value};"),
        "camel",
        "'\"",
        call="{fn}({args});",
        map=("{", "{q}{k}{q}: {v}", ", ", "}"),
        list=_BRACKET_LIST,
        multiline=("'''", "'''"),
        env="Platform.environment['{var}']",
    ),
    "swift": Dialect(
        ("let {name} = {value}",),
        "camel",
        '"',
        map=("[", '"{k}": {v}', ", ", "]"),
        list=_BRACKET_LIST,
        multiline=('"""\n', '\n"""'),
        env='ProcessInfo.processInfo.environment["{var}"]',
        typed=True,
    ),
    "zig": Dialect(
        ("const {name} = {value};",),
        "snake",
        '"',
        call="{fn}({args});",
        env='std.posix.getenv("{var}")',
    ),
    "solidity": Dialect(
        ("string constant {name} = {value};",), "upper", '"', call="{fn}({args});", fn_case="camel"
    ),
    "verilog": Dialect(("localparam {name} = {value};",), "upper", '"'),
    "systemverilog": Dialect(("localparam string {name} = {value};",), "upper", '"'),
    "vhdl": Dialect(("constant {name} : string := {value};",), "snake", '"'),
    "mathematica": Dialect(
        ("{name} = {value};",),
        "camel",
        '"',
        call="{fn}[{args}]",
        map=("<|", '"{k}" -> {v}', ", ", "|>"),
        list=("{", ", ", "}"),
        env='Environment["{var}"]',
    ),
    "maple": Dialect(
        ("{name} := {value};",), "camel", '"', list=_BRACKET_LIST, env='getenv("{var}")'
    ),
    "smalltalk": Dialect(
        ("{name} := {value}.",), "camel", "'", call="{fn} value: {args}.", list=("#(", " ", ")")
    ),
    "applescript": Dialect(
        ("set {name} to {value}",),
        "camel",
        '"',
        map=("{", "{k}:{v}", ", ", "}"),
        list=("{", ", ", "}"),
        env='system attribute "{var}"',
    ),
    "prolog": Dialect(("{name}({value}).",), "snake", "'", list=_BRACKET_LIST),
    "assembly": Dialect(("{name}: db {value}, 0",), "snake", '"'),
    "batchfile": Dialect(("set {name}={value}",), "upper", "", env="%{var}%"),
    "makefile": Dialect(
        ("{name} = {value}", "{name} ?= {value}", "export {name} := {value}"),
        "upper",
        "",
        env="$({var})",
    ),
    "dockerfile": Dialect(
        ("ENV {name}={value}", "ARG {name}={value}"), "upper", '"', env="${{var}}"
    ),
    "cmake": Dialect(
        ("set({name} {value})",),
        "upper",
        '"',
        call="{fn}({args})",
        arg_sep=" ",
        fn_case="snake",
        env="$ENV{{var}}",
    ),
    "awk": Dialect(("BEGIN { {name} = {value} }",), "snake", '"', env='ENVIRON["{var}"]'),
}

# Config formats a key/value template renders to, and the hosts that take each directly.
CONFIG_FORMATS: tuple[str, ...] = (
    "yaml",
    "toml",
    "ini",
    "json",
    "dotenv",
    "properties",
    "xml",
    "compose",
    "k8s",
)
HOST_CONFIG_FORMATS: dict[str, tuple[str, ...]] = {
    "yaml": ("yaml", "compose", "k8s"),
    "toml": ("toml",),
    "json": ("json",),
    "xml": ("xml",),
    "dotenv": ("dotenv",),
    "ini": ("ini",),
    "properties": ("properties",),
}
# File kinds the shards lack, written whole as documents of their own.
STANDALONE_HOSTS: tuple[str, ...] = (
    "dotenv",
    "ini",
    "properties",
    "ssh-config",
    "git-config",
    "netrc",
    "log",
    "text",
)
# Info string of a fenced code block (Markdown) / code-block directive (reStructuredText).
FENCE_NAMES: dict[str, str] = {
    "shell": "bash",
    "c-sharp": "csharp",
    "f-sharp": "fsharp",
    "emacs-lisp": "elisp",
    "visual-basic": "vbnet",
    "common-lisp": "lisp",
    "compose": "yaml",
    "k8s": "yaml",
    "dotenv": "dotenv",
    "ssh-config": "text",
    "git-config": "ini",
    "netrc": "text",
    "log": "text",
    "javascript": "js",
    "typescript": "ts",
    "restructuredtext": "rst",
}
# Where a shell heredoc writes a block of each raw format (formats missing here are not heredoc'd).
HEREDOC_FILES: dict[str, str] = {
    "dotenv": ".env",
    "ini": "config.ini",
    "properties": "application.properties",
    "yaml": "config.yml",
    "toml": "config.toml",
    "json": "config.json",
    "xml": "config.xml",
    "ssh-config": "~/.ssh/config",
    "git-config": "~/.gitconfig",
    "netrc": "~/.netrc",
    "text": "AUTHORS",
    "sql": "init.sql",
    "compose": "docker-compose.yml",
    "k8s": "secret.yaml",
}


def cased(name: str, case: str) -> str:
    """A snake_case template name in a dialect's naming convention."""
    parts = [p for p in name.split("_") if p]
    if case == "snake":
        return "_".join(parts)
    if case == "upper":
        return "_".join(parts).upper()
    if case == "camel":
        return parts[0] + "".join(p.capitalize() for p in parts[1:])
    if case == "pascal":
        return "".join(p.capitalize() for p in parts)
    if case == "kebab":
        return "-".join(parts)
    if case == "ada":
        return "_".join(p.capitalize() for p in parts)
    raise ValueError(f"unknown naming case {case!r}")
