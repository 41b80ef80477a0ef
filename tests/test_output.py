"""Manifests as text. ``to_yaml`` writes a manifest itself (several times faster than PyYAML)
and must write exactly what PyYAML writes with the same dumper, whatever the document; that
dumper uses libyaml's emitter when PyYAML has it (as every PyYAML wheel does), which writes
what the pure-Python emitter writes for the text manifests hold (libyaml escapes characters
beyond the BMP, `"\\U0001F680"`, and spells a few control characters differently; both read
back the same)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kedro_argo import output

scalars = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "multi\nline",
            "a: b",
            "- x",
            "--flag=v",
            "---",
            "'q'",
            '"d"',
            "{{workflow.uid}}",
            "a && b",
            "yes",
            "Null",
            "~",
            "0.2",
            "2Gi",
            "x" * 130,
            "trailing ",
            " leading",
            "a #b",
            "a#b",
        ]
    ),
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(),
)
keys = st.one_of(st.text(max_size=8), st.sampled_from(["", "x" * 130, "a: b", "- k"]))
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=25,
)
top_level = st.dictionaries(keys, documents, max_size=5)


def pyyaml(document: Any, dumper: type = output._Dumper) -> str:
    options = {**output._DUMP_OPTIONS, "Dumper": dumper}
    return yaml.dump_all([document], **options)


def pure_python_dumper() -> type:
    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    Dumper.add_representer(str, output._str_representer)
    return Dumper


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")
def test_libyaml_is_used_when_available() -> None:
    assert issubclass(output._Dumper, yaml.CSafeDumper)


@settings(max_examples=500, deadline=None)
@given(top_level)
def test_the_manifest_writer_writes_exactly_what_pyyaml_writes(document: dict[str, Any]) -> None:
    text = output.to_yaml(document)
    assert text == pyyaml(document)


def test_the_manifest_writer_is_the_one_used_for_plain_manifests() -> None:
    manifest = {"a": [{"name": "x", "depends": "b && c"}], "b": {"c": 1, "d": None}}
    assert output._block_yaml(manifest) == output.to_yaml(manifest) == pyyaml(manifest)


@settings(max_examples=300, deadline=None)
@given(top_level)
def test_what_is_written_reads_back(document: dict[str, Any]) -> None:
    loaded = yaml.safe_load(output.to_yaml(document))
    assert loaded == document or (loaded is None and document == {}) or _has_nan(document)


def _has_nan(value: Any) -> bool:
    if isinstance(value, float):
        return value != value
    if isinstance(value, dict):
        return any(_has_nan(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_nan(v) for v in value)
    return False


printable = st.text(
    alphabet=st.characters(
        min_codepoint=0x20,
        max_codepoint=0xFFFD,
        exclude_categories=["Cs", "Cc"],  # control characters (and NEL) are spelt differently
    ),
    max_size=20,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(printable.filter(bool), st.one_of(printable, st.integers()), max_size=6))
def test_libyaml_writes_what_pure_python_writes(document: dict[str, Any]) -> None:
    assert pyyaml(document) == pyyaml(document, pure_python_dumper())
