"""Manifests as text: libyaml's emitter (when present, as in every PyYAML wheel) writes what
PyYAML's pure-Python one writes, byte for byte, for every manifest we emit (keys never empty;
libyaml escapes characters beyond the BMP, `"\U0001f680"`, where Python writes them as they
are: both read back the same)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kedro_argo import output

scalars = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["multi\nline", "a: b", "- x", "'q'", '"d"', "{{workflow.uid}}", "yes", "~"]),
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
)
# Manifest keys are never empty (for an empty key the two emitters pick different, equally
# valid, spellings: `'': x` and `? ''`).
keys = st.text(min_size=1, max_size=8)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=25,
)


def pure_python_yaml(document: Any) -> str:
    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    Dumper.add_representer(str, output._str_representer)
    return yaml.dump_all(
        [document],
        Dumper=Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1_000_000,
    )


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")
def test_libyaml_is_used_when_available() -> None:
    assert issubclass(output._Dumper, yaml.CSafeDumper)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, documents, max_size=5))
def test_fast_emitter_writes_what_the_pure_python_one_writes(document: dict[str, Any]) -> None:
    text = output.to_yaml(document)
    assert yaml.safe_load(text) == document
    if all(ord(c) <= 0xFFFF for text_ in strings(document) for c in text_):
        assert text == pure_python_yaml(document)


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings(k), *strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []
