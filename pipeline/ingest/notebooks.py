"""Jupyter notebooks: one ``.ipynb`` file in, two records out, in StarCoder's two forms.

StarCoder (Li et al. 2023, "StarCoder: may the source be with you!", §3.2; bigcode-dataset
``preprocessing/jupyter_script_conversion.py`` and ``preprocessing/jupyter-structured``) turned
every notebook into a script and into a structured text:

- ``kind = "notebook"``: the notebook as a script in its kernel's language, written by
  ``jupytext`` in its ``light`` format (what BigCode's ``jupytext.write(nb, "<i><ext>")`` gave);
  markdown cells become comments, outputs are left out. Unlike BigCode, the notebook and cell
  metadata are filtered out (``-all``): the YAML header names the jupytext version and the
  kernel, not anything the author wrote, and would make the text depend on the tool's version.
- ``kind = "notebook_structured"``: ``<jupyter_start>``, then consecutive cells of one type
  grouped: ``<jupyter_text>`` and the markdown of the group, ``<jupyter_code>`` and the code of
  the group followed by ``<jupyter_output>`` and the output of its last code cell (StarCoder
  §3.2: "we only retain the output of the last code block"), or ``<empty_output>``. An output is
  the cell's first text output (stream text, else the ``text/plain`` of a result or display):
  images, HTML and every other MIME type are dropped, errors (tracebacks) too; it is cut to
  ``IngestConfig.notebook_max_output_chars``. Cells are joined by a newline inside a group, as
  BigCode's ``jupyter-generate-triplets.py`` joined code; raw cells and cells with a blank
  source are left out, as BigCode's ``jupyter-segment-notebooks.py`` left out empty ones.

Notebooks are read with ``nbformat``: versions 3 and 4, validated against the schema of their
own version, then converted to 4. The ``.ipynb`` file itself gives no ``file`` record: its two
forms are its records. A notebook is a file of the repository in every other respect: the
readers bound its size by ``max_file_bytes`` before reading it (The Stack's 1 MB, the bound
the notebooks StarCoder took from The Stack passed), and its licence is that of its directory.
"""
from __future__ import annotations

import codecs
import dataclasses
import itertools
import json
import warnings
from typing import Callable, Iterable

import jupytext
import nbformat
from jupytext.formats import JupytextFormatError
from nbformat.warnings import MissingIDFieldWarning

from pipeline.config import IngestConfig
from pipeline.ingest.languages import LANGUAGE_BY_EXTENSION, extension_of, language_for
from pipeline.reasons import Reason, exclude
from pipeline.schema import content_hash

NOTEBOOK_EXTENSION = "ipynb"
SCRIPT_KIND = "notebook"
STRUCTURED_KIND = "notebook_structured"
NOTEBOOK_KINDS = (SCRIPT_KIND, STRUCTURED_KIND)

# nbformat versions read: 3 (IPython 1-2) and 4 (IPython 3 and Jupyter since 2015), issue 12.
READ_VERSIONS = (3, 4)
# Characters of an error message kept in ``details``: enough to say what is wrong.
MESSAGE_CHARS = 300
# jupytext's format for scripts when none is asked for, the one BigCode's conversion wrote.
SCRIPT_FORMAT = "light"
# Kernel language names (``language_info.name`` / ``kernelspec.language`` of the kernels
# bash_kernel, xeus-cling, .NET Interactive, Octave) that differ from this project's names.
_KERNEL_LANGUAGES = {"bash": "shell", "c++": "cpp", "c#": "c-sharp", "f#": "f-sharp",
                     "octave": "matlab"}
_FIRST_EXTENSION = {language: extension for extension, language
                    in reversed(list(LANGUAGE_BY_EXTENSION.items()))}

START, TEXT, CODE, OUTPUT, EMPTY_OUTPUT = ("<jupyter_start>", "<jupyter_text>", "<jupyter_code>",
                                           "<jupyter_output>", "<empty_output>")


class NotebookError(ValueError):
    """The bytes are not a notebook nbformat reads (the record says why)."""


@dataclasses.dataclass(frozen=True)
class Notebook:
    """A notebook read as nbformat 4, with the language its kernel declares (None if none)."""

    node: nbformat.NotebookNode
    kernel_language: str | None  # as the notebook names it: "python", "R", "C++17"
    script_extension: str | None  # ".py", from ``language_info.file_extension`` if given


def is_notebook(path: str) -> bool:
    """Whether the file at ``path`` is a Jupyter notebook (by its extension)."""
    return extension_of(path) == NOTEBOOK_EXTENSION


def read_notebook(data: bytes) -> Notebook:
    """The notebook in ``data``; NotebookError when it is not UTF-8 JSON of a valid notebook of
    a version in READ_VERSIONS."""
    try:
        parsed = json.loads(data.decode("utf-8-sig"))
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise NotebookError(f"not UTF-8 JSON: {_shown(str(error))}") from None
    version = parsed.get("nbformat") if isinstance(parsed, dict) else None
    if version not in READ_VERSIONS:
        raise NotebookError(f"nbformat version {_shown(version)}, not one of "
                            f"{list(READ_VERSIONS)}")
    try:
        with warnings.catch_warnings():  # 4.5 cells without ids get ids, as Jupyter gives them
            warnings.simplefilter("ignore", MissingIDFieldWarning)
            nbformat.validate(parsed, version=version)
            node = nbformat.versions[version].to_notebook_json(parsed)
            metadata = node.get("metadata", {})
            info, spec = metadata.get("language_info", {}), metadata.get("kernelspec", {})
            language = _name(info.get("name")) or _name(spec.get("language")) or \
                _v3_cell_language(node)
            extension = _name(info.get("file_extension"))
            converted = nbformat.convert(node, 4)  # changes a version 3 ``node`` in place
    # nbformat's validation raises more than ValidationError on malformed notebooks (TypeError
    # where ``cells`` is no list): all of it means "not a notebook of its version".
    except Exception as error:
        message = (error.message if isinstance(error, nbformat.ValidationError)
                   else f"{type(error).__name__}: {error}")
        raise NotebookError(f"not a valid nbformat {version} notebook: "
                            f"{_shown(message)}") from None
    return Notebook(converted, language, extension)


def _name(value: object) -> str | None:
    """A language name or extension from metadata: a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def _shown(value: object) -> str:
    """``value`` for an error message, cut to MESSAGE_CHARS (an error may quote a 1 MB cell)."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + "..."


def _v3_cell_language(node: nbformat.NotebookNode) -> str | None:
    """Version 3 names the language on each code cell; the first one's."""
    cells = (cell for sheet in node.get("worksheets", ()) for cell in sheet.get("cells", ()))
    return next((_name(cell.get("language")) for cell in cells
                 if cell.get("cell_type") == "code"), None)


def script_language(notebook: Notebook) -> tuple[str | None, str | None]:
    """``(language, extension)`` of the notebook's script: the language as this project names
    it (:mod:`pipeline.ingest.languages`), None when it is none the build keeps."""
    extension = notebook.script_extension
    if extension is None and notebook.kernel_language is not None:
        name = notebook.kernel_language.lower()
        language = _KERNEL_LANGUAGES.get(name, name)
        extension = f".{_FIRST_EXTENSION[language]}" if language in _FIRST_EXTENSION else None
    if extension is None:
        return None, None
    return language_for(f"notebook{extension}"), extension


def script_text(notebook: Notebook, extension: str) -> str:
    """The notebook as a script (see the module docstring); JupytextFormatError when jupytext
    writes no script for ``extension``."""
    node = nbformat.from_dict(notebook.node)
    node.metadata["jupytext"] = {"notebook_metadata_filter": "-all",
                                 "cell_metadata_filter": "-all"}
    return jupytext.writes(node, fmt=f"{extension.lstrip('.')}:{SCRIPT_FORMAT}")


def text_output(cell: nbformat.NotebookNode) -> str | None:
    """The first text output of a code cell: stream text or ``text/plain``; None if none."""
    for output in cell.get("outputs", ()):
        if output.get("output_type") == "stream":
            return output.get("text", "")
        if output.get("output_type") in ("execute_result", "display_data"):
            text = output.get("data", {}).get("text/plain")
            if text is not None:
                return text
    return None


def _kept_cells(notebook: Notebook) -> list[nbformat.NotebookNode]:
    """The markdown and code cells with text in their source, in order."""
    return [cell for cell in notebook.node.cells
            if cell.cell_type in ("markdown", "code") and cell.source.strip()]


def structured_text(cells: Iterable[nbformat.NotebookNode], max_output_chars: int) -> str:
    """The structured form of ``cells`` (markdown and code only; see the module docstring)."""
    parts = [START]
    for cell_type, group in itertools.groupby(cells, key=lambda cell: cell.cell_type):
        group = list(group)
        source = "\n".join(cell.source for cell in group)
        if cell_type == "markdown":
            parts += [TEXT, source]
            continue
        output = text_output(group[-1])
        parts += [CODE, source, OUTPUT,
                  EMPTY_OUTPUT if not output else output[:max_output_chars]]
    return "".join(parts)


def _with_content(record: dict, text: str, language: str) -> dict:
    return {**record, "language": language, "content": text, "content_hash": content_hash(text)}


def notebook_records(data: bytes, base_record: Callable[[str], dict], config: IngestConfig,
                     stage: str) -> list[dict]:
    """The records of one notebook's bytes, one per kind of NOTEBOOK_KINDS: each with its
    content, or excluded by ``stage`` (NOTEBOOK_INVALID, NOTEBOOK_EMPTY, UNSUPPORTED_LANGUAGE).
    ``base_record(kind)`` gives the record of the file for a kind, content null."""
    script, structured = (base_record(kind) for kind in NOTEBOOK_KINDS)
    try:
        notebook = read_notebook(data)
    except NotebookError as error:
        return [exclude(record, Reason.NOTEBOOK_INVALID, stage, error=str(error))
                for record in (script, structured)]
    encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    script["encoding"] = structured["encoding"] = encoding
    cells = _kept_cells(notebook)
    if not cells:
        return [exclude(record, Reason.NOTEBOOK_EMPTY, stage, cells=len(notebook.node.cells))
                for record in (script, structured)]
    language, extension = script_language(notebook)
    languages = {"kernel_language": notebook.kernel_language, "script_extension": extension}
    if language is None:
        script = exclude(script, Reason.UNSUPPORTED_LANGUAGE, stage, **languages)
    else:
        try:
            script = _with_content(script, script_text(notebook, extension), language)
        except JupytextFormatError as error:
            script = exclude(script, Reason.UNSUPPORTED_LANGUAGE, stage, error=str(error),
                             **languages)
    if language not in config.notebook_structured_languages:
        structured = exclude(structured, Reason.UNSUPPORTED_LANGUAGE, stage, language=language,
                             notebook_structured_languages=list(
                                 config.notebook_structured_languages), **languages)
    else:
        structured = _with_content(structured, structured_text(
            cells, config.notebook_max_output_chars), language)
    return [script, structured]
