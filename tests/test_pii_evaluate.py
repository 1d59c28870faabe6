"""Evaluation arithmetic on a hand-made gold file, and the gold file reader's errors."""
import json

import pytest

from pii.entities import Span
from pii.evaluate import evaluate, held_out_recall, recall_table, report_table
from pii.labelled import _gold_spans, read_jsonl, read_labelled

GOLD = [
    {"id": "a", "text": "Ada Quill <ada@mail.org> 52.14.3.9",
     "spans": [{"start": 0, "end": 9, "label": "NAME"}, {"start": 11, "end": 23, "label": "EMAIL"},
               {"start": 25, "end": 34, "label": "IP_ADDRESS"}]},
    {"id": "b", "text": "password = 'Tr0ub4dor&3'", "spans": [
        {"start": 12, "end": 23, "label": "PASSWORD"}]},
    {"id": "c", "text": "nothing here", "spans": []},
]


def _write_gold(tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in GOLD))
    return path


def test_exact_and_overlap_counts(tmp_path):
    items = list(read_jsonl(_write_gold(tmp_path), ("id", "text", "spans")))
    gold = [_gold_spans(item, item["id"]) for item in items]
    predicted = [
        [Span(0, 3, "NAME"), Span(11, 23, "EMAIL"), Span(25, 34, "KEY")],  # partial, exact, wrong
        [Span(12, 23, "PASSWORD"), Span(0, 8, "KEY")],                      # exact + false positive
        [Span(0, 7, "NAME")],                                               # false positive
    ]
    tallies = evaluate(gold, predicted)
    exact, overlap = tallies["exact"], tallies["overlap"]
    assert (exact["NAME"].tp, exact["NAME"].fp, exact["NAME"].fn) == (0, 2, 1)
    assert (overlap["NAME"].tp, overlap["NAME"].fp, overlap["NAME"].fn) == (1, 1, 0)
    assert overlap["NAME"].precision == 0.5 and overlap["NAME"].recall == 1.0
    assert overlap["NAME"].f1 == pytest.approx(2 / 3)
    assert exact["EMAIL"].f1 == 1.0 and exact["PASSWORD"].f1 == 1.0
    assert (exact["IP_ADDRESS"].tp, exact["IP_ADDRESS"].fn) == (0, 1)
    assert (exact["KEY"].tp, exact["KEY"].fp) == (0, 2) and exact["KEY"].precision == 0.0
    assert exact["USERNAME"].f1 == 0.0  # nothing gold, nothing predicted
    assert (exact["ALL"].tp, exact["ALL"].fp, exact["ALL"].fn) == (2, 4, 2)
    assert (overlap["ALL"].tp, overlap["ALL"].fp, overlap["ALL"].fn) == (3, 3, 1)
    table = report_table(tallies, "hand-made")
    assert "| NAME | 1 | 0.000 | 0.000 | 0.000 | 0.500 | 1.000 | 0.667 |" in table


def test_overlap_matching_is_one_to_one():
    gold = [[Span(0, 10, "NAME"), Span(12, 20, "NAME")]]
    predicted = [[Span(0, 20, "NAME")]]  # one prediction spanning two gold names
    overlap = evaluate(gold, predicted)["overlap"]["NAME"]
    assert (overlap.tp, overlap.fp, overlap.fn) == (1, 0, 1)


def test_document_counts_must_agree():
    with pytest.raises(ValueError, match="2 gold documents but 1"):
        evaluate([[], []], [[]])


def test_gold_reader_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "text": "t", "spans": []}\n{not json\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2: not JSON"):
        list(read_jsonl(bad, ("id", "text", "spans")))
    bad.write_text('{"id": "x", "spans": []}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:1: needs the keys id, text, spans"):
        list(read_jsonl(bad, ("id", "text", "spans")))
    with pytest.raises(ValueError, match="beyond the text"):
        _gold_spans({"text": "abc", "spans": [{"start": 0, "end": 9, "label": "KEY"}]}, "x")
    with pytest.raises(ValueError, match="bad gold span"):
        _gold_spans({"text": "abc", "spans": [{"start": 0, "end": 2, "label": "PHONE"}]}, "x")


def test_held_out_spans_are_read_and_scored_for_recall_alone(tmp_path):
    gold = [dict(GOLD[0], spans=[dict(GOLD[0]["spans"][0], held_out=True), *GOLD[0]["spans"][1:]]),
            GOLD[1]]
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in gold))
    docs = read_labelled(path)
    assert docs[0].held_out == (Span(0, 9, "NAME"),) and docs[1].held_out == ()
    assert len(docs[0].spans) == 3  # held-out spans stay gold spans too
    predicted = [[Span(0, 3, "NAME"), Span(11, 23, "EMAIL")], [Span(12, 23, "PASSWORD")]]
    recall = held_out_recall([list(doc.held_out) for doc in docs], predicted)
    assert set(recall["exact"]) == {"NAME", "ALL"}  # entities without held-out spans left out
    assert recall["exact"]["NAME"].recall == 0.0 and recall["overlap"]["NAME"].recall == 1.0
    assert recall["exact"]["NAME"].fp == 0  # other predictions are not charged to the subset
    assert "| NAME | 1 | 0.000 | 1.000 |" in recall_table(recall, "held out")
