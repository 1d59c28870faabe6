"""Language of a file from its name: a table from extensions and special file names.

Language names are the directory names of bigcode's StarCoderData (the languages of
Li et al. 2023, "StarCoder: may the source be with you!", Table 1), lowercase and
hyphenated, plus ``xml`` and ``toml``: The Stack v1 (Kocetkov et al. 2022) kept XML, and the
quality filter later drops XML files that open with a declaration.

The extensions are those GitHub Linguist (``languages.yml``) lists for each language, as
The Stack assigned languages by extension. Where Linguist gives an extension to several
languages we keep the language of this list that GitHub has most files of and leave the
extension out where none dominates: ``.h`` is C (C++ headers mostly use ``.hpp``/``.hh``),
``.m`` is MATLAB (Objective-C is not a StarCoderData language), ``.pl`` is Perl (Prolog keeps
``.prolog``/``.yap``), ``.fs`` is F#, ``.cl`` is Common Lisp, ``.v`` is Verilog; ``.inc``,
``.pro``, ``.pp``, ``.cls`` and ``.t`` are left out.
"""
from __future__ import annotations

import posixpath

_EXTENSIONS_BY_LANGUAGE: dict[str, tuple[str, ...]] = {
    "ada": ("adb", "ads", "ada"),
    "agda": ("agda",),
    "alloy": ("als",),
    "antlr": ("g4", "g"),
    "applescript": ("applescript",),
    "assembly": ("asm", "s", "nasm", "a51"),
    "augeas": ("aug",),
    "awk": ("awk", "gawk", "mawk", "nawk", "auk"),
    "batchfile": ("bat", "cmd"),
    "bluespec": ("bsv",),
    "c": ("c", "h"),
    "c-sharp": ("cs", "csx"),
    "clojure": ("clj", "cljs", "cljc", "cljx", "edn", "boot"),
    "cmake": ("cmake",),
    "coffeescript": ("coffee", "cake", "cjsx", "iced"),
    "common-lisp": ("lisp", "lsp", "cl", "asd"),
    "cpp": ("cpp", "cc", "cxx", "c++", "cp", "hpp", "hh", "hxx", "h++", "ipp", "inl", "tcc",
            "tpp", "ino"),
    "css": ("css",),
    "cuda": ("cu", "cuh"),
    "dart": ("dart",),
    "dockerfile": ("dockerfile",),
    "elixir": ("ex", "exs"),
    "elm": ("elm",),
    "emacs-lisp": ("el",),
    "erlang": ("erl", "hrl", "escript", "xrl", "yrl"),
    "f-sharp": ("fs", "fsi", "fsx"),
    "fortran": ("f", "f77", "f90", "f95", "f03", "f08", "for", "fpp", "ftn"),
    "glsl": ("glsl", "vert", "frag", "geom", "tesc", "tese", "comp", "vsh", "fsh", "gsh",
             "vshader", "fshader", "glslv", "glslf"),
    "go": ("go",),
    "groovy": ("groovy", "gradle", "gvy", "gy"),
    "haskell": ("hs", "hs-boot", "hsc"),
    "html": ("html", "htm", "xhtml"),
    "idris": ("idr", "lidr"),
    "isabelle": ("thy",),
    "java": ("java",),
    "java-server-pages": ("jsp", "jspf", "jspx"),
    "javascript": ("js", "mjs", "cjs", "jsx", "es6"),
    "json": ("json", "json5", "jsonc", "geojson", "topojson", "webmanifest"),
    "julia": ("jl",),
    "kotlin": ("kt", "kts", "ktm"),
    "lean": ("lean", "hlean"),
    "literate-agda": ("lagda",),
    "literate-coffeescript": ("litcoffee",),
    "literate-haskell": ("lhs",),
    "lua": ("lua", "rockspec", "wlua"),
    "makefile": ("mk", "mak", "make"),
    "maple": ("mpl", "maple"),
    "markdown": ("md", "markdown", "mdown", "mkd", "mkdn", "mdwn", "mkdown", "ronn"),
    "mathematica": ("nb", "wl", "wls", "wlt", "mt", "ma", "mathematica"),
    "matlab": ("m", "matlab"),
    "ocaml": ("ml", "mli", "mll", "mly", "eliom", "eliomi"),
    "pascal": ("pas", "dpr", "lpr", "dpk"),
    "perl": ("pl", "pm", "pod", "psgi", "perl", "plx", "ph"),
    "php": ("php", "phtml", "php3", "php4", "php5", "php7", "phps", "phpt", "ctp"),
    "powershell": ("ps1", "psm1", "psd1"),
    "prolog": ("prolog", "yap"),
    "protocol-buffer": ("proto",),
    "python": ("py", "pyw", "pyi", "py3", "gyp", "gypi"),
    "r": ("r", "rsx"),
    "racket": ("rkt", "rktd", "rktl", "scrbl"),
    "restructuredtext": ("rst", "rest"),
    "rmarkdown": ("rmd",),
    "ruby": ("rb", "rbw", "rake", "gemspec", "ru", "podspec", "jbuilder", "rabl", "thor"),
    "rust": ("rs",),
    "sas": ("sas",),
    "scala": ("scala", "sc", "sbt"),
    "scheme": ("scm", "ss", "sls", "sld", "sps"),
    "shell": ("sh", "bash", "zsh", "ksh", "bats"),
    "smalltalk": ("st",),
    "solidity": ("sol",),
    "sparql": ("sparql", "rq"),
    "sql": ("sql", "ddl", "pls", "plsql", "pkb", "pks", "pgsql"),
    "stan": ("stan",),
    "standard-ml": ("sml", "sig", "fun"),
    "stata": ("do", "ado", "doh", "ihlp", "mata", "matah", "sthlp"),
    "systemverilog": ("sv", "svh"),
    "tcl": ("tcl", "tk", "itcl", "tm"),
    "tcsh": ("tcsh", "csh"),
    "tex": ("tex", "sty", "ltx", "dtx", "bbx", "cbx", "lbx"),
    "thrift": ("thrift",),
    "typescript": ("ts", "tsx", "mts", "cts"),
    "verilog": ("v", "vh"),
    "vhdl": ("vhd", "vhdl"),
    "visual-basic": ("vb", "vbs", "vba", "bas"),
    "xslt": ("xsl", "xslt"),
    "yacc": ("y", "yy", "yacc"),
    "yaml": ("yml", "yaml"),
    "zig": ("zig",),
    "xml": ("xml", "xsd", "xaml", "csproj", "vbproj", "fsproj", "vcxproj", "props", "targets",
            "resx", "nuspec", "wsdl", "plist", "xib", "storyboard", "rss", "atom", "kml"),
    "toml": ("toml",),
}

# Whole file names (case-sensitive, as Linguist matches them).
_FILENAMES: dict[str, str] = {
    "Dockerfile": "dockerfile",
    "Containerfile": "dockerfile",
    "Makefile": "makefile",
    "makefile": "makefile",
    "GNUmakefile": "makefile",
    "BSDmakefile": "makefile",
    "CMakeLists.txt": "cmake",
    "Rakefile": "ruby",
    "Gemfile": "ruby",
    "Vagrantfile": "ruby",
    "Podfile": "ruby",
    "Guardfile": "ruby",
    "Capfile": "ruby",
    "Thorfile": "ruby",
    "Brewfile": "ruby",
    "Jenkinsfile": "groovy",
    "SConstruct": "python",
    "SConscript": "python",
    "wscript": "python",
    "PKGBUILD": "shell",
    ".bashrc": "shell",
    ".bash_profile": "shell",
    ".bash_logout": "shell",
    ".bash_aliases": "shell",
    ".profile": "shell",
    ".zshrc": "shell",
    ".zshenv": "shell",
    ".zprofile": "shell",
    ".cshrc": "tcsh",
    ".tcshrc": "tcsh",
    ".emacs": "emacs-lisp",
    "_emacs": "emacs-lisp",
    "Pipfile": "toml",
}

# File-name prefixes followed by any suffix ("Dockerfile.dev").
_FILENAME_PREFIXES: tuple[tuple[str, str], ...] = (
    ("Dockerfile.", "dockerfile"),
    ("Containerfile.", "dockerfile"),
)

# Suffixes of two extensions that name another language than their last extension.
_COMPOUND_SUFFIXES: tuple[tuple[str, str], ...] = (
    (".coffee.md", "literate-coffeescript"),
    (".lagda.md", "literate-agda"),
    (".lagda.rst", "literate-agda"),
    (".lagda.tex", "literate-agda"),
    (".cmake.in", "cmake"),
)


def _language_by_extension() -> dict[str, str]:
    table: dict[str, str] = {}
    for language, extensions in _EXTENSIONS_BY_LANGUAGE.items():
        for extension in extensions:
            if extension in table:
                raise ValueError(f"extension {extension!r} is given to both "
                                 f"{table[extension]} and {language}")
            table[extension] = language
    return table


LANGUAGE_BY_EXTENSION: dict[str, str] = _language_by_extension()
LANGUAGES: frozenset[str] = frozenset(_EXTENSIONS_BY_LANGUAGE)


def extension_of(path: str) -> str:
    """Lowercase last extension of the file name without the dot; ``""`` when there is none.

    A leading dot does not start an extension (``.bashrc`` has none), as in ``os.path``.
    """
    return posixpath.splitext(posixpath.basename(path))[1][1:].lower()


def language_for(path: str) -> str | None:
    """Language of the file at ``path`` (POSIX, repository-relative), or None if not in the table.

    File names are matched first, then two-extension suffixes, then the last extension.
    """
    name = posixpath.basename(path)
    if name in _FILENAMES:
        return _FILENAMES[name]
    for prefix, language in _FILENAME_PREFIXES:
        if name.startswith(prefix):
            return language
    lowered = name.lower()
    for suffix, language in _COMPOUND_SUFFIXES:
        if lowered.endswith(suffix):
            return language
    return LANGUAGE_BY_EXTENSION.get(extension_of(name))
