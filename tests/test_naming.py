"""Tests for kedro_argo.naming: validity, uniqueness, determinism, readability."""

from __future__ import annotations

import hashlib
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kedro_argo.argo import ARGO_NAME_RE
from kedro_argo.naming import (
    escape_dataset_name,
    to_argo_name,
    to_argo_names,
    to_dns_name,
    to_label_value,
    to_parameter_names,
    unescape_dataset_name,
)

FAST = settings(max_examples=200, deadline=None)

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
PARAMETER = re.compile(r"^[-a-zA-Z0-9_]+$")
HASHED = re.compile(r"^(?P<prefix>.+)-(?P<hash>[0-9a-f]{8,})$")

HOSTILE = [
    "",
    " ",
    "-",
    "_",
    "...",
    "a_b",
    "a.b",
    "A-B",
    "a b",
    "a--b",
    "-a-b-",
    "123",
    "0",
    "n-123",
    "main",
    "Main",
    "node",
    "🚀",
    "🚀🚀",
    "données_brutes",
    "数据",
    "x@v1",
    "ds@pandas",
    "active_modelling_pipeline.train_model_node",
    "candidate_modelling_pipeline.train_model_node",
    "my_func__1a2b3c4d",
    "ﬁle",  # ligature, NFKD -> "file"
    "file",
    "a" * 300,
    "a" * 299 + "b",
    "x" * 63,
    "x" * 64,
    "x" * 54 + "-" + "y" * 20,
]

hostile_name = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=30),
    st.text(alphabet="aA_.-@ 0é🚀", max_size=12),
    st.text(alphabet="ab", min_size=60, max_size=140),
)
name_lists = st.lists(hostile_name, max_size=25)


def sha8(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def assert_valid_argo_names(
    mapping: dict[str, str], names: list[str], max_length: int, reserved: frozenset[str]
) -> None:
    assert set(mapping) == set(names)
    values = list(mapping.values())
    assert len(set(values)) == len(values), "names must be unique"
    for value in values:
        assert ARGO_NAME_RE.fullmatch(value), value
        assert value == value.lower()
        assert not value[0].isdigit()
        assert len(value) <= max_length
        assert value not in reserved


# ---------------------------------------------------------------- to_argo_names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("train_model", "train-model"),
        ("split_data_node", "split-data-node"),
        (
            "active_modelling_pipeline.train_model_node",
            "active-modelling-pipeline-train-model-node",
        ),
        ("my_func__1a2b3c4d", "my-func-1a2b3c4d"),
        ("Preprocess Companies", "preprocess-companies"),
        ("données", "donnees"),
        ("ﬁle", "file"),
        ("123", "n-123"),
        ("9lives", "n-9lives"),
        ("", "node"),
        ("🚀", "node"),
        ("--x--", "x"),
        ("x" * 63, "x" * 63),
    ],
)
def test_readable_names_stay_readable(name: str, expected: str) -> None:
    assert to_argo_name(name) == expected
    assert to_argo_names([name, "unrelated_node"])[name] == expected


def test_collisions_after_sanitising_get_hash_suffixes() -> None:
    names = ["a_b", "a.b", "A-B", "c"]
    mapping = to_argo_names(names)
    assert mapping["c"] == "c"
    for name in ["a_b", "a.b", "A-B"]:
        assert mapping[name] == f"a-b-{sha8(name)}"


def test_reserved_names_are_avoided() -> None:
    mapping = to_argo_names(
        ["main", "Main", "exit_handler", "x"], reserved={"main", "exit-handler"}
    )
    assert mapping["x"] == "x"
    assert mapping["exit_handler"] == f"exit-handler-{sha8('exit_handler')}"
    assert mapping["main"] == f"main-{sha8('main')}"
    assert mapping["Main"] == f"main-{sha8('Main')}"
    assert to_argo_name("main", reserved={"main"}) == f"main-{sha8('main')}"


def test_long_names_are_cut_and_hashed() -> None:
    long = "a" * 300
    mapping = to_argo_names([long, "a" * 299 + "b"])
    assert mapping[long] == "a" * 54 + "-" + sha8(long)
    assert len(set(mapping.values())) == 2
    assert all(len(v) == 63 for v in mapping.values())
    assert to_argo_name("x" * 64) == "x" * 54 + "-" + sha8("x" * 64)
    # the cut lands on a separator: no "--" before the hash
    cut = to_argo_name("x" * 53 + "_" + "y" * 20)
    assert cut == "x" * 53 + "-" + sha8("x" * 53 + "_" + "y" * 20)


def test_hashed_name_clashing_with_a_readable_name_gets_a_longer_hash() -> None:
    full = hashlib.sha256(b"a_b").hexdigest()
    squatter = f"a-b-{full[:8]}"  # another node's readable name equals a_b's hashed name
    mapping = to_argo_names(["a_b", "a.b", squatter])
    assert mapping[squatter] == squatter
    assert mapping["a_b"] == f"a-b-{full[:9]}"
    assert mapping["a.b"] == f"a-b-{sha8('a.b')}"
    # same when the clash is with a reserved name instead
    assert to_argo_names(["a_b", "a.b"], reserved={squatter})["a_b"] == f"a-b-{full[:9]}"


def test_hashed_names_sharing_a_hash_prefix_are_order_independent() -> None:
    # Two long names with the same cut prefix whose SHA-256 share the first 8 hex digits
    # (c32ad607, found by a birthday search): one keeps 8 digits, the other needs 9.
    a, b = "x" * 60 + "82008", "x" * 60 + "151830"
    assert sha8(a) == sha8(b) == "c32ad607"
    expected = {  # names are handled in sorted order: b < a, so b keeps the short hash
        b: "x" * 54 + "-c32ad607",
        a: "x" * 53 + "-" + hashlib.sha256(a.encode()).hexdigest()[:9],
    }
    assert to_argo_names([a, b]) == expected
    assert to_argo_names([b, a]) == expected


def test_no_room_to_grow_the_hash_falls_back_to_salted_hashes() -> None:
    # max_length=10 leaves room for exactly 8 hex digits; the plain hash is reserved.
    plain = to_argo_name("000000000", max_length=10)
    assert plain == "n-" + sha8("000000000")
    salted = to_argo_name("000000000", max_length=10, reserved={plain})
    assert salted != plain
    assert ARGO_NAME_RE.fullmatch(salted)
    assert len(salted) == 10


def test_duplicates_are_mapped_once() -> None:
    mapping = to_argo_names(["a_b", "a_b", "a_b"])
    assert mapping == {"a_b": "a-b"}


def test_max_length_too_small_is_rejected() -> None:
    with pytest.raises(ValueError, match="max_length"):
        to_argo_names(["x"], max_length=9)
    assert to_argo_names(["abcdefghijk"], max_length=10) == {
        "abcdefghijk": "a-" + sha8("abcdefghijk")
    }


@FAST
@given(names=name_lists, max_length=st.integers(10, 128), data=st.data())
def test_argo_names_valid_unique_deterministic(
    names: list[str], max_length: int, data: st.DataObject
) -> None:
    reserved = frozenset(data.draw(st.lists(hostile_name, max_size=3))) | {"main"}
    mapping = to_argo_names(names, max_length=max_length, reserved=reserved)
    assert_valid_argo_names(mapping, names, max_length, reserved)

    shuffled = list(names)
    random.Random(data.draw(st.integers())).shuffle(shuffled)
    assert to_argo_names(shuffled, max_length=max_length, reserved=reserved) == mapping
    assert to_argo_names(names * 2, max_length=max_length, reserved=list(reserved)) == mapping


@FAST
@given(names=name_lists, max_length=st.integers(10, 128), data=st.data())
def test_reserving_produced_names_still_gives_valid_names(
    names: list[str], max_length: int, data: st.DataObject
) -> None:
    """Reserve some of the names the mapping would choose: hashing must route around them."""
    first = to_argo_names(names, max_length=max_length)
    taken = sorted(set(first.values()))
    reserved = (
        frozenset(data.draw(st.lists(st.sampled_from(taken), max_size=5))) if taken else frozenset()
    )
    second = to_argo_names(names, max_length=max_length, reserved=reserved)
    assert_valid_argo_names(second, names, max_length, frozenset(reserved))


@FAST
@given(names=name_lists, max_length=st.integers(10, 128))
def test_argo_names_are_readable_or_hashed_from_the_original(
    names: list[str], max_length: int
) -> None:
    """Independent oracle: a name is its clean base iff that base is free; else base-prefix+hash."""
    mapping = to_argo_names(names, max_length=max_length)

    def base(name: str) -> str:
        import unicodedata

        ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        b = re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-") or "node"
        return "n-" + b if b[0].isdigit() else b

    bases = {n: base(n) for n in set(names)}
    for name, value in mapping.items():
        b = bases[name]
        unique = sum(1 for other in bases.values() if other == b) == 1
        if unique and len(b) <= max_length:
            assert value == b
        else:
            m = HASHED.fullmatch(value)
            assert m, value
            digest = hashlib.sha256(name.encode()).hexdigest()
            assert digest.startswith(m["hash"])
            assert b.startswith(m["prefix"])


# ---------------------------------------------------------------- to_dns_name


@pytest.mark.parametrize(
    ("text", "max_length", "expected"),
    [
        ("spaceflights", 63, "spaceflights"),
        ("Spaceflights Pipeline", 63, "spaceflights-pipeline"),
        ("__default__", 63, "default"),
        ("my_project.data_science", 52, "my-project-data-science"),
        ("", 63, "kedro"),
        ("___", 57, "kedro"),
        ("🚀", 52, "kedro"),
        ("123-abc", 63, "123-abc"),
        ("a" * 51 + "_b", 52, "a" * 51),  # cut at the separator, trailing "-" stripped
        ("a" * 100, 57, "a" * 57),
    ],
)
def test_dns_name_examples(text: str, max_length: int, expected: str) -> None:
    assert to_dns_name(text, max_length=max_length) == expected


@FAST
@given(text=hostile_name, max_length=st.sampled_from([63, 57, 52, 5, 1]))
def test_dns_name_is_a_dns_label(text: str, max_length: int) -> None:
    name = to_dns_name(text, max_length=max_length)
    assert DNS_LABEL.fullmatch(name), name
    assert 1 <= len(name) <= max_length
    assert to_dns_name(text, max_length=max_length) == name


# ---------------------------------------------------------------- to_label_value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("spaceflights", "spaceflights"),
        ("__default__", "default"),
        ("data_science.v1", "data_science.v1"),
        ("Data Science", "Data-Science"),
        ("a/b:c", "a-b-c"),
        ("", ""),
        ("🚀", ""),
        ("x" * 63, "x" * 63),
    ],
)
def test_label_value_examples(text: str, expected: str) -> None:
    assert to_label_value(text) == expected


def test_long_label_values_stay_distinct() -> None:
    a, b = "p" * 70 + "a", "p" * 70 + "b"
    la, lb = to_label_value(a), to_label_value(b)
    assert la != lb
    assert la == "p" * 54 + "-" + sha8(a)
    assert len(la) == 63


@FAST
@given(text=hostile_name)
def test_label_value_is_valid(text: str) -> None:
    value = to_label_value(text)
    assert LABEL_VALUE.fullmatch(value), value
    assert len(value) <= 63
    if LABEL_VALUE.fullmatch(text) and len(text) <= 63:
        assert value == text


# ---------------------------------------------------------------- to_parameter_names


def test_parameter_names_examples() -> None:
    keys = ["model_options.test_size", "model_options.features", "learning-rate", "a b", "ünï"]
    assert to_parameter_names(keys) == {
        "model_options.test_size": "model_options__test_size",
        "model_options.features": "model_options__features",
        "learning-rate": "learning-rate",
        "a b": "a-b",
        "ünï": "uni",
    }


def test_parameter_name_collisions_get_hash_suffixes() -> None:
    mapping = to_parameter_names(["a.b", "a__b", "c"])
    assert mapping["a.b"] == f"a__b-{sha8('a.b')}"
    assert mapping["a__b"] == f"a__b-{sha8('a__b')}"
    assert mapping["c"] == "c"


@FAST
@given(keys=name_lists, data=st.data())
def test_parameter_names_valid_unique_deterministic(keys: list[str], data: st.DataObject) -> None:
    mapping = to_parameter_names(keys)
    assert set(mapping) == set(keys)
    assert len(set(mapping.values())) == len(mapping)
    for value in mapping.values():
        assert PARAMETER.fullmatch(value), value
        assert len(value) <= 128
    shuffled = list(keys)
    random.Random(data.draw(st.integers())).shuffle(shuffled)
    assert to_parameter_names(shuffled) == mapping


# ---------------------------------------------------------------- dataset escaping


@pytest.mark.parametrize(
    ("name", "escaped"),
    [
        ("companies", "companies"),
        ("model_input_table.v2-final", "model_input_table.v2-final"),
        ("ds@pandas", "ds~40pandas"),
        ("a b", "a~20b"),
        ("a/b", "a~2Fb"),
        ("~", "~7E"),
        ("~7E", "~7E7E"),
        ("é", "~C3~A9"),
        ("🚀", "~F0~9F~9A~80"),
        (".", "~2E"),
        ("..", "~2E."),
        ("...", "~2E.."),
        (".hidden", ".hidden"),
        ("", "~"),
    ],
)
def test_escape_examples(name: str, escaped: str) -> None:
    assert escape_dataset_name(name) == escaped
    assert unescape_dataset_name(escaped) == name


@pytest.mark.parametrize("bad", ["~", "~4", "~4g", "~zz", "a b", "a/b", "é", "~FF", "~C3"])
def test_unescape_rejects_malformed(bad: str) -> None:
    if bad == "~":  # the empty name's escape
        assert unescape_dataset_name(bad) == ""
        return
    with pytest.raises(ValueError):
        unescape_dataset_name(bad)


@settings(max_examples=300, deadline=None)
@given(name=st.one_of(hostile_name, st.text(), st.text(alphabet=".~", max_size=5)))
def test_escape_round_trip_and_safe_charset(name: str) -> None:
    escaped = escape_dataset_name(name)
    assert unescape_dataset_name(escaped) == name
    assert escaped not in ("", ".", "..")
    assert re.fullmatch(r"[A-Za-z0-9._-]*(~[0-9A-F]{2}[A-Za-z0-9._-]*)*|~", escaped), escaped


@FAST
@given(a=hostile_name, b=hostile_name)
def test_escape_is_injective(a: str, b: str) -> None:
    if a != b:
        assert escape_dataset_name(a) != escape_dataset_name(b)
