"""The resolve walk (what Activepieces resolves and skips) and the file scanner."""

from __future__ import annotations

import json

from aptui.references import walk
from aptui.references.scan import ScanResult, kind_of, load_env, load_json, load_yaml, scan, scan_file

R1 = "{{awsConn00000000000001|ap_sep_v1|prod/db:password}}"
R2 = "{{vaultConn000000000001|ap_sep_v1|secret/data/keys/k}}"


def test_walk_follows_resolve_object():
    doc = {
        "password": R1,
        "nested": {"deeper": {"token": f"  {R2} "}},
        "list": [R1, {"inner": R2}],
        R1: "key is a reference",
        "header": f"Bearer {R1}",
        "broken": "{awsConn00000000000001|ap_sep_v1|x}}",
        "template": "{{trigger.body}}",
        "n": 5, "b": True, "z": None,
    }
    items = {i.json_path: i for i in walk.walk(doc)}
    assert items["$.password"].kind == walk.REFERENCE
    assert items["$.nested.deeper.token"].kind == walk.REFERENCE
    assert items["$.list[0]"].kind == walk.NOT_RESOLVED and "array" in items["$.list[0]"].reason
    assert items["$.list[1].inner"].kind == walk.NOT_RESOLVED  # objects inside arrays are not walked either
    key_item = items[f"$['{R1}']"]
    assert key_item.kind == walk.NOT_RESOLVED and key_item.is_key and "key" in key_item.reason
    assert items["$.header"].kind == walk.NOT_RESOLVED and "whole-string" in items["$.header"].reason
    assert items["$.broken"].kind == walk.BROKEN
    assert "$.template" not in items and "$.n" not in items
    assert len(items) == 7


def test_walk_top_level_values():
    assert [i.kind for i in walk.walk(R1)] == [walk.REFERENCE]
    assert [i.kind for i in walk.walk([R1])] == [walk.NOT_RESOLVED]
    assert walk.walk(12345) == [] and walk.walk(None) == []


def test_json_path_quoting():
    assert walk.json_path(("a", 0, "b c", "it's", "$x")) == "$.a[0]['b c']['it\\'s'].$x"


def test_substitute_rebuilds_objects_only():
    doc = {"a": R1, "l": [R1], "o": {"b": R1}}
    out = walk.substitute(doc, {("a",): "v1", ("o", "b"): "v2"})
    assert out == {"a": "v1", "l": [R1], "o": {"b": "v2"}}
    assert doc["a"] == R1  # the input is not modified


def test_load_json_lines():
    text = '{\n  "a": {\n    "b": "x",\n    "c": [\n      "y",\n      {"d": "z"}\n    ]\n  },\n  "e": 1\n}\n'
    doc, lines = load_json(text)
    assert doc == json.loads(text)
    assert lines[("a", "b")] == 3 and lines[("a", "c", 0)] == 5 and lines[("a", "c", 1, "d")] == 6
    assert lines[("e",)] == 9


def test_load_yaml_lines_and_documents():
    text = "a:\n  b: x\n  c:\n    - y\n---\nz: 1\n"
    docs = load_yaml(text)
    assert docs[0][0] == {"a": {"b": "x", "c": ["y"]}} and docs[0][1][("a", "b")] == 2
    assert docs[1][0] == {"z": 1}


def test_load_env():
    text = ("# comment\nexport A={{x|ap_sep_v1|y}}\nB='{{q|ap_sep_v1|r}}'  # c\nC=\"v w\"\n"
            "D=plain # trailing comment\nnot a line\n")
    assert load_env(text) == [("A", "{{x|ap_sep_v1|y}}", 2), ("B", "{{q|ap_sep_v1|r}}", 3), ("C", "v w", 4),
                              ("D", "plain", 5)]


def test_kind_of(tmp_path):
    assert kind_of(tmp_path / "x.JSON") == "json" and kind_of(tmp_path / "a.yml") == "yaml"
    assert kind_of(tmp_path / ".env") == "env" and kind_of(tmp_path / ".env.prod") == "env"
    assert kind_of(tmp_path / "prod.env") == "env" and kind_of(tmp_path / "x.txt") is None


def test_scan_tree(tmp_path):
    (tmp_path / "conn.json").write_text(json.dumps({"auth": {"password": R1}, "list": [R2]}, indent=2))
    (tmp_path / "flow.yaml").write_text(f"settings:\n  token: '{R2}'\n  header: 'Bearer {R1}'\n")
    (tmp_path / ".env").write_text(f"DB_PASSWORD={R1}\nOTHER=plain\n")
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "bin.json").write_bytes(b"\x00\x01\x02")
    (tmp_path / "latin.yaml").write_bytes(b"a: \xe9\n")
    (tmp_path / "notes.txt").write_text(R1)
    git = tmp_path / ".git"
    git.mkdir()
    (git / "x.json").write_text(json.dumps({"a": R1}))
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"a": "x" * 2000}))
    progress = []
    result = scan([tmp_path, tmp_path / "missing"], max_bytes=1000,
                  progress=lambda d, t, f: progress.append((d, t)))
    where = {(o.file.rsplit("/", 1)[-1], o.line, o.location, o.item.kind) for o in result.occurrences}
    assert where == {
        ("conn.json", 3, "$.auth.password", walk.REFERENCE),
        ("conn.json", 6, "$.list[0]", walk.NOT_RESOLVED),
        ("flow.yaml", 2, "$.settings.token", walk.REFERENCE),
        ("flow.yaml", 3, "$.settings.header", walk.NOT_RESOLVED),
        (".env", 1, "DB_PASSWORD", walk.REFERENCE),
    }
    notes = {n["file"].rsplit("/", 1)[-1]: n["note"] for n in result.notes}
    assert "not valid JSON" in notes["bad.json"] and notes["bin.json"] == "skipped: binary file"
    assert notes["latin.yaml"] == "skipped: not UTF-8 text" and "byte limit" in notes["big.json"]
    assert "no such file" in notes["missing"]
    assert progress[-1][0] == progress[-1][1] == 7  # .git skipped, notes.txt not a scanned type
    assert result.files_scanned == 4  # read (bad.json too); skipped ones are not counted


def test_scan_explicit_unknown_file(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text(R1)
    result = ScanResult()
    scan_file(f, result)
    assert result.occurrences == [] and "not a .json" in result.notes[0]["note"]


def test_scan_invalid_yaml_note(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text("a: [1,\n")
    result = scan([f])
    assert "not valid YAML" in result.notes[0]["note"]
