"""Documents that cost more than their size: alias bombs, recursive aliases, deep nesting, big input.

Each is refused with one line and exit 2 (``DOCUMENT_TOO_COMPLEX``), never a RecursionError or a
machine out of memory; the 450-byte bomb's cost is measured (figure in docs/security.md)."""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest

from aptui import docparse
from aptui.references import scan, walk


def alias_bomb() -> str:
    """The classic "billion laughs": nine anchors, each nine aliases of the one before (9^9 leaves)."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    text = "\n".join(lines) + "\n"
    return "# " + "billion laughs ".ljust(450 - len(text) - 3, "-") + "\n" + text


BOMB = alias_bomb()
RECURSIVE = "a: &a [x, *a]\n"
DEEP_JSON = "[" * 100_000 + "]" * 100_000
DEEP_YAML = "[" * 50_000 + "]" * 50_000


def one_line_refusal(r) -> None:
    assert r.code == 2, (r.code, r.out, r.err)
    assert "DOCUMENT_TOO_COMPLEX" in r.err or "DOCUMENT_TOO_COMPLEX" in r.out
    assert "INTERNAL" not in r.err + r.out and "RecursionError" not in r.err + r.out
    assert r.err.count("\n") <= 1


def test_the_bomb_is_450_bytes_and_refused_fast_and_small():
    assert len(BOMB.encode()) == 450
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(docparse.DocumentLimitError):
        docparse.compose_yaml(BOMB)
    result = scan.ScanResult()
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 1.0 and peak < 50 * 1024 * 1024, (elapsed, peak)
    assert result.occurrences == []


@pytest.mark.parametrize("text", [BOMB, RECURSIVE, DEEP_YAML], ids=["bomb", "recursive", "deep"])
def test_ref_resolve_refuses_costly_yaml(run_cli, tmp_path, text):
    f = tmp_path / "doc.yaml"
    f.write_text(text)
    t0 = time.perf_counter()
    r = run_cli("ref", "resolve", str(f))
    assert time.perf_counter() - t0 < 30
    one_line_refusal(r)
    j = run_cli("ref", "resolve", str(f), "--json")
    assert j.code == 2 and j.json["error"]["code"] == "DOCUMENT_TOO_COMPLEX"


NESTED_JSON = '{"a":' * (docparse.MAX_DEPTH + 50) + '"x"' + "}" * (docparse.MAX_DEPTH + 50)


# DEEP_JSON is past Python's recursion limit; NESTED_JSON past MAX_DEPTH only (the walk's budget refuses it)
@pytest.mark.parametrize("text", [DEEP_JSON, NESTED_JSON], ids=["deep", "nested"])
def test_ref_resolve_refuses_deep_json(run_cli, tmp_path, text):
    f = tmp_path / "doc.json"
    f.write_text(text)
    one_line_refusal(run_cli("ref", "resolve", str(f)))
    one_line_refusal(run_cli("ref", "resolve", "-", input=text))


def test_ref_resolve_has_a_size_limit(run_cli, tmp_path):
    text = json.dumps({"k": "x" * (docparse.MAX_BYTES + 10)})
    f = tmp_path / "big.json"
    f.write_text(text)
    r = run_cli("ref", "resolve", str(f))
    one_line_refusal(r)
    assert "bytes" in r.err
    one_line_refusal(run_cli("ref", "resolve", "-", input=text))


def test_ref_scan_reports_refused_files_and_scans_the_rest(run_cli, tmp_path):
    root = tmp_path / "cfg"
    root.mkdir()
    (root / "bomb.yaml").write_text(BOMB)
    (root / "loop.yml").write_text(RECURSIVE)
    (root / "deep.json").write_text(DEEP_JSON)
    (root / "ok.json").write_text(json.dumps({"k": "{{abc|ap_sep_v1|p}}"}))
    r = run_cli("ref", "scan", str(root), "--no-test", "--json")
    assert r.code == 2, r.err
    refused = {n["file"].rsplit("/", 1)[-1] for n in r.json["notes"] if n.get("code") == "DOCUMENT_TOO_COMPLEX"}
    assert refused == {"bomb.yaml", "loop.yml", "deep.json"}
    assert [f["file"].rsplit("/", 1)[-1] for f in r.json["findings"]] == ["ok.json"]
    text = run_cli("ref", "scan", str(root), "--no-test")
    one_line_refusal(text)


def test_compose_audit_reads_through_the_limits(run_cli, tmp_path):
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services:\n  ap:\n    image: activepieces/activepieces\n" + BOMB)
    r = run_cli("audit", "hardening", "--compose-file", str(compose), "--no-live", "--no-store-compare")
    one_line_refusal(r)


def test_walk_budget_counts_shared_objects_expanded():
    leaf = ["{{abc|ap_sep_v1|p}}"] * 10
    doc: object = leaf
    for _ in range(8):  # 10^8 visits if walked naively; a few objects in memory
        doc = {"k" + str(i): doc for i in range(10)}
    with pytest.raises(docparse.DocumentLimitError):
        walk.walk(doc)
    with pytest.raises(docparse.DocumentLimitError):
        nested: object = "x"
        for _ in range(docparse.MAX_DEPTH + 1):
            nested = {"a": nested}
        walk.walk(nested)


def test_compose_merge_keys_still_work():
    text = "x-base: &base\n  image: ap\nservices:\n  a:\n    <<: *base\n  b:\n    <<: *base\n"
    assert docparse.safe_load_yaml(text)["services"]["b"] == {"image": "ap"}


def test_ref_scan_reports_links_leading_outside_its_root(run_cli, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.json").write_text(json.dumps({"k": "{{out|ap_sep_v1|p}}"}))
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "inside.json").write_text(json.dumps({"k": "{{in|ap_sep_v1|p}}"}))
    (root / "link.json").symlink_to(outside / "secret.json")
    (root / "dirlink").symlink_to(outside, target_is_directory=True)
    (root / "sub" / "ok.json").symlink_to(root / "inside.json")  # inside the root: read
    r = run_cli("ref", "scan", str(root), "--no-test", "--json")
    assert r.code in (0, 1), r.err
    found = {f["file"].rsplit("/", 1)[-1] for f in r.json["findings"]}
    assert found == {"inside.json", "ok.json"}
    notes = {n["file"].rsplit("/", 1)[-1]: n["note"] for n in r.json["notes"]}
    assert "outside" in notes["link.json"] and "outside" in notes["dirlink"]
    assert "{{out|" not in r.out


def test_deep_flow_yaml_is_measured_before_pyyaml_looks_ahead():
    """PyYAML's scanner reads a nested flow collection to its end, in quadratic time, before the
    composer's depth check could run: 3,000 levels took 1.8 s, 5 MiB would take hours."""
    text = "[" * 200_000 + "x" + "]" * 200_000
    t0 = time.perf_counter()
    with pytest.raises(docparse.DocumentLimitError):
        docparse.compose_yaml(text)
    assert time.perf_counter() - t0 < 1.0
    assert docparse.bracket_depth("a: '[x]'\nb: {c: [1, [2]]}\n") == 3
