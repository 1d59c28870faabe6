"""`curate pii scan / redact / eval` end to end on JSONL files written by the test."""
import json

from jobs.cli import main

DOCS = [
    {"id": "a", "text": "# contact: nadia.rahman@posteo.de\nHOST = '52.14.3.9'\n"},
    {"id": "b", "text": "docs at docs@example.com, resolver 8.8.8.8\n"},
    {"id": "c", "text": ""},
]


def _write(path, items):
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return path


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_scan_gives_spans_without_values(tmp_path):
    source = _write(tmp_path / "in.jsonl", DOCS)
    out = tmp_path / "out.jsonl"
    assert main(["pii", "scan", "--input", str(source), "--output", str(out),
                 "--model", "none"]) == 0
    lines = _lines(out)
    assert [line["id"] for line in lines] == ["a", "b", "c"]
    found = {(s["label"], DOCS[0]["text"][s["start"]:s["end"]]) for s in lines[0]["spans"]}
    assert found == {("EMAIL", "nadia.rahman@posteo.de"), ("IP_ADDRESS", "52.14.3.9")}
    assert lines[1]["spans"] == [] and lines[2]["spans"] == []
    assert "nadia" not in out.read_text()
    assert set(lines[0]["spans"][0]) == {"start", "end", "label", "score", "detector"}


def test_redact_replaces_values_and_moves_spans(tmp_path):
    source = _write(tmp_path / "in.jsonl", DOCS)
    out = tmp_path / "out.jsonl"
    assert main(["pii", "redact", "--input", str(source), "--output", str(out),
                 "--model", "none"]) == 0
    first = _lines(out)[0]
    assert first["text"].startswith("# contact: <EMAIL>\nHOST = '")
    assert "52.14.3.9" not in first["text"]
    assert [first["text"][s["start"]:s["end"]] for s in first["spans"]][0] == "<EMAIL>"


def test_eval_prints_the_table(tmp_path, capsys):
    gold = dict(DOCS[0], spans=[{"start": 11, "end": 33, "label": "EMAIL"},
                                {"start": 42, "end": 51, "label": "IP_ADDRESS"}])
    path = _write(tmp_path / "gold.jsonl", [gold])
    assert main(["pii", "eval", "--gold", str(path), "--model", "none", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["exact"]["EMAIL"]["f1"] == 1.0 and result["exact"]["IP_ADDRESS"]["f1"] == 1.0


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "a", "text": 3}\n')
    assert main(["pii", "scan", "--input", str(source), "--output", str(tmp_path / "o"),
                 "--model", "none"]) == 2
    assert "in.jsonl:1: 'text' must be a string" in capsys.readouterr().err
    assert main(["pii", "scan", "--input", str(source), "--output", str(tmp_path / "o"),
                 "--model", str(tmp_path)]) == 2
    assert "not a model directory" in capsys.readouterr().err
