"""Typed model of ``conf/<env>/argo.yml``.

Every section rejects unknown keys, so a typo fails loudly instead of being silently ignored
(the peers' most common bug). Models are frozen: the compiler treats config as data.
Per-node settings are resolved by :func:`resolve_node_settings` with one precedence:
``defaults < tags (in the order they appear in argo.yml) < node name``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    StrictBool,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from kedro_argo.argo import (
    DNS_LABEL_RE,
    DNS_SUBDOMAIN_RE,
    IMAGE_REFERENCE_RE,
    INT32_MAX,
    INT64_MAX,
)
from kedro_argo.errors import CompileError, ConfigError

_DURATION_RE = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
_QUANTITY_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i?|[mun])?$")
_ENV_NAME_RE = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


def _quantity(value: Any) -> Any:
    """Accept ``8``, ``0.5`` or ``"500m"`` and always emit a string (what Kubernetes stores)."""
    if isinstance(value, bool):
        raise ValueError("a Kubernetes quantity, e.g. 2, '500m' or '4Gi', not a boolean")
    if isinstance(value, int | float):
        value = (
            format(value, "f").rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
        )
    if isinstance(value, str) and _QUANTITY_RE.fullmatch(value):
        return value
    raise ValueError(f"{value!r} is not a Kubernetes quantity (e.g. 2, '500m', '4Gi')")


def _duration(value: Any) -> Any:
    """Accept seconds as a number or a Go duration string (``90s``, ``1h30m``)."""
    if isinstance(value, bool):
        raise ValueError("a duration such as '30s', '1h30m' or a number of seconds")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        text = str(value) if isinstance(value, int) else format(value, "f").rstrip("0").rstrip(".")
        return f"{text}s"
    if isinstance(value, str) and _DURATION_RE.fullmatch(value):
        return value
    raise ValueError(f"{value!r} is not a duration (e.g. '30s', '10m', '1h30m' or seconds)")


Quantity = Annotated[str, BeforeValidator(_quantity)]
Duration = Annotated[str, BeforeValidator(_duration)]


def _integer(value: Any) -> Any:
    """YAML ``yes``/``true`` is a boolean, not a count of anything."""
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, not {str(value).lower()}")
    return value


def _bounded(low: int, high: int) -> Any:
    """An integer bounded like the Go field behind the key (int32 or int64), so a value Argo
    cannot store is refused here, naming the key, not later by the API server."""
    return Annotated[int, BeforeValidator(_integer), Field(ge=low, le=high)]


Count32 = _bounded(0, INT32_MAX)
Count64 = _bounded(0, INT64_MAX)
Positive32 = _bounded(1, INT32_MAX)
Positive64 = _bounded(1, INT64_MAX)
Signed64 = _bounded(-INT64_MAX - 1, INT64_MAX)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Resources(_Model):
    """Container resources; ``cpu``/``memory`` are requests, ``*_limit`` are limits."""

    cpu: Quantity | None = None
    memory: Quantity | None = None
    cpu_limit: Quantity | None = None
    memory_limit: Quantity | None = None
    gpu: Count64 | None = None
    gpu_resource: str = "nvidia.com/gpu"


class Backoff(_Model):
    duration: Duration | None = None
    factor: Positive32 | None = None
    max_duration: Duration | None = None


class Retry(_Model):
    """Argo retries a step with no limit forever: a limit is required wherever retry is set."""

    limit: Count32 | None = None
    policy: Literal["Always", "OnFailure", "OnError", "OnTransientError"] | None = None
    backoff: Backoff | None = None


class SecretRef(_Model):
    """An env var read from a Kubernetes Secret: the value never enters the manifest."""

    secret: str
    key: str
    optional: StrictBool | None = None


def _env_kind(value: Any) -> str:
    return "secret" if isinstance(value, Mapping | SecretRef) else "plain"


EnvValue = Annotated[
    Annotated[str, Tag("plain")] | Annotated[SecretRef, Tag("secret")],
    Discriminator(_env_kind),
]


def _dns_label(value: Any) -> Any:
    if isinstance(value, str) and (len(value) > 63 or not DNS_LABEL_RE.fullmatch(value)):
        raise ValueError(f"{value!r} is not a Kubernetes name (lower-case letters, digits, '-')")
    return value


def _dns_subdomain(value: Any) -> Any:
    if isinstance(value, str) and (len(value) > 253 or not DNS_SUBDOMAIN_RE.fullmatch(value)):
        raise ValueError(f"{value!r} is not a Kubernetes object name")
    return value


KubeName = Annotated[str, BeforeValidator(_dns_label)]
ObjectName = Annotated[str, BeforeValidator(_dns_subdomain)]


def _image(value: Any) -> Any:
    if isinstance(value, str) and not IMAGE_REFERENCE_RE.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a container image reference "
            "(e.g. registry.example.com/team/project:1.0)"
        )
    return value


def _absolute_path(value: Any) -> Any:
    if isinstance(value, str) and not value.startswith("/"):
        raise ValueError(f"{value!r} must be an absolute path in the image (e.g. /home/kedro)")
    return value


def _workflow_name(value: Any) -> Any:
    if isinstance(value, str) and (len(value) > 63 or not DNS_LABEL_RE.fullmatch(value)):
        raise ValueError(
            f"{value!r} is not a valid Workflow name: use at most 63 lower-case letters, "
            "digits and '-', starting and ending with a letter or digit"
        )
    return value


def _name_prefix(value: Any) -> Any:
    if isinstance(value, str) and (
        len(value) > 58 or not DNS_LABEL_RE.fullmatch(value.rstrip("-") or "-")
    ):
        raise ValueError(
            f"{value!r} is not a valid name prefix: use at most 58 lower-case letters, digits "
            "and '-', starting with a letter or digit"
        )
    return value


def _server_url(value: Any) -> Any:
    if isinstance(value, str):
        from urllib.parse import urlsplit

        if "://" in value:
            parts = urlsplit(value)
            bad = parts.scheme not in ("http", "https") or not parts.netloc
        else:
            bad = not re.fullmatch(r"[A-Za-z0-9.-]+(:[0-9]+)?|\[[0-9A-Fa-f:.]+\](:[0-9]+)?", value)
        if bad:
            raise ValueError(
                f"{value!r} is not an Argo Server address: use host:port or http(s)://host:port"
            )
    return value


def _cron(value: Any) -> Any:
    from kedro_argo.cron import check_cron

    if isinstance(value, str):
        try:
            check_cron(value)
        except ConfigError as exc:
            raise ValueError(str(exc).rstrip(".")) from None
    return value


def _timezone(value: Any) -> Any:
    from kedro_argo.cron import check_timezone

    if isinstance(value, str):
        try:
            check_timezone(value)
        except ConfigError as exc:
            raise ValueError(str(exc).rstrip(".")) from None
    return value


ImageReference = Annotated[str, BeforeValidator(_image)]


class Toleration(_Model):
    """A Kubernetes toleration (same keys as in a PodSpec)."""

    key: str | None = None
    operator: Literal["Exists", "Equal"] | None = None
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    tolerationSeconds: Signed64 | None = None


class Volume(_Model):
    """A volume mounted into the step's container; ``source`` is a Kubernetes volume source
    (e.g. ``{persistentVolumeClaim: {claimName: data}}``) passed through unchanged."""

    name: KubeName
    mount_path: str
    source: dict[str, Any]
    read_only: StrictBool | None = None
    sub_path: str | None = None

    @field_validator("mount_path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"{value!r}: a mount path must be absolute")
        return value


class NodeSettings(_Model):
    """Settings for one step's pod; every field is optional so levels can be merged."""

    resources: Resources | None = None
    retry: Retry | None = None
    timeout: Duration | None = None
    node_selector: dict[str, str] | None = None
    tolerations: list[Toleration] | None = None
    affinity: dict[str, Any] | None = None
    env: dict[str, EnvValue] | None = None
    volumes: list[Volume] | None = None
    pod_spec_patch: dict[str, Any] | None = None

    @field_validator("env", mode="before")
    @classmethod
    def _env_values(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for name, item in value.items():
                if not isinstance(name, str) or not _ENV_NAME_RE.fullmatch(name):
                    raise ValueError(f"{name!r} is not a valid environment variable name")
                out[name] = _env_scalar(item)
            return out
        return value

    @field_validator("pod_spec_patch", mode="before")
    @classmethod
    def _patch_from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            import yaml

            try:
                value = yaml.safe_load(value)
            except yaml.YAMLError as exc:
                problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
                mark = getattr(exc, "problem_mark", None)
                where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
                raise ValueError(f"not valid YAML/JSON: {problem}{where}") from None
            if not isinstance(value, dict):
                raise ValueError("must be a mapping (a partial Kubernetes PodSpec)")
        return value


def _env_scalar(item: Any) -> Any:
    """Plain env values become strings (`true`, `3`); secret references stay mappings."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int | float):
        return str(item)
    return item


class NodesConfig(_Model):
    defaults: NodeSettings = NodeSettings()
    tags: dict[str, NodeSettings] = {}
    names: dict[str, NodeSettings] = {}


class SweepsConfig(_Model):
    """Parameter sweeps (``--sweep`` replaces ``parameters``): one branch of the workflow per
    combination of values; ``max_parallel`` branches run at once (``null``: no limit)."""

    parameters: dict[str, list[Any]] = {}
    max_parallel: Positive32 | None = None

    @field_validator("parameters")
    @classmethod
    def _keys(cls, value: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in value.items():
            if not key or key.startswith("params:") or key == "parameters":
                raise ValueError(
                    f"{key!r}: name the parameter as in --params (e.g. model_options.test_size)"
                )
            if not values:
                raise ValueError(f"{key}: give at least one value")
        return value


class TTLStrategy(_Model):
    seconds_after_completion: Count32 | None = None
    seconds_after_success: Count32 | None = None
    seconds_after_failure: Count32 | None = None


class PodGC(_Model):
    strategy: Literal[
        "OnPodCompletion", "OnPodSuccess", "OnWorkflowCompletion", "OnWorkflowSuccess"
    ]
    delete_delay_duration: Duration | None = None


class WorkflowConfig(_Model):
    name: Annotated[str, BeforeValidator(_workflow_name)] | None = None
    generate_name: Annotated[str, BeforeValidator(_name_prefix)] | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    ttl: TTLStrategy | None = None
    pod_gc: PodGC | None = None
    parallelism: Positive64 | None = None
    active_deadline_seconds: Positive64 | None = None
    on_exit_pipeline: str | None = None

    @model_validator(mode="after")
    def _one_name(self) -> WorkflowConfig:
        if self.name and self.generate_name:
            raise ValueError("set either 'name' or 'generate_name', not both")
        return self


class ScheduleConfig(_Model):
    cron: Annotated[str, BeforeValidator(_cron)] | None = None
    timezone: Annotated[str, BeforeValidator(_timezone)] | None = None
    concurrency_policy: Literal["Allow", "Forbid", "Replace"] = "Forbid"
    starting_deadline_seconds: Count64 | None = None
    suspend: StrictBool | None = None
    successful_jobs_history_limit: Count32 | None = None
    failed_jobs_history_limit: Count32 | None = None


class DataConfig(_Model):
    """Where steps exchange intermediate (undeclared / MemoryDataset) data."""

    root: str | None = None
    local_root: str = ".kedro-argo/data"
    compression: Literal["none", "zlib", "lz4"] = "none"

    @field_validator("root")
    @classmethod
    def _root_scheme(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if "://" in value and not value.startswith(("s3://", "gs://", "gcs://", "file://")):
            raise ValueError(
                f"{value!r}: use s3://bucket/prefix, gs://bucket/prefix "
                "or an absolute path on a volume mounted in every pod"
            )
        if "://" not in value and not value.startswith("/"):
            raise ValueError(f"{value!r}: a volume path must be absolute (e.g. /mnt/data)")
        return value.rstrip("/")


class ServerConfig(_Model):
    """Where the cluster commands send requests: the Argo Server (``url`` / ``ARGO_SERVER``;
    the token only ever comes from ``ARGO_TOKEN``) or the Kubernetes API through the user's
    kubeconfig (``context``; its credentials stay the kubeconfig's). ``mode: auto`` picks the
    Argo Server when one is set, else the kubeconfig."""

    mode: Literal["auto", "argo-server", "kubernetes"] = "auto"
    url: Annotated[str, BeforeValidator(_server_url)] | None = None
    namespace: KubeName | None = None
    context: str | None = None


class MemoizeConfig(_Model):
    """Skip unchanged steps (``--skip-unchanged`` wins): a step whose code (the project
    package's source), parameters and inputs are what they were in an earlier successful run
    of it is not run again; its outputs come back from a cache under ``data.root``. Entries
    older than ``max_age`` (a duration; null: no limit) are not used."""

    enabled: StrictBool = False
    max_age: Duration | None = None


class ArtifactRepositoryRef(_Model):
    """A repository of the ``artifact-repositories`` ConfigMap (Argo's
    ``spec.artifactRepositoryRef``)."""

    config_map: ObjectName = "artifact-repositories"
    key: Annotated[str, Field(min_length=1)]


class UiConfig(_Model):
    """Results shown in the Argo UI on the step that saves them (and printed by ``status`` and
    ``run-local``): ``parameters``, small JSON values (metrics, a dict of scores), become the
    step's output parameters; ``artifacts``, datasets saved to a file (a plot, a report),
    become its output artifacts, stored in the cluster's artifact repository:
    ``artifact_repository`` says which (``default``: the cluster's default one; a
    ``config_map``/``key`` pair: that one). Without it, artifacts are left out (compile says
    so), since a pod that has outputs and no repository to store them in fails."""

    parameters: list[str] = []
    artifacts: list[str] = []
    artifact_repository: Literal["default"] | ArtifactRepositoryRef | None = None

    @field_validator("artifact_repository", mode="before")
    @classmethod
    def _repository(cls, value: Any) -> Any:
        if value is None or value == "default" or isinstance(value, Mapping | BaseModel):
            return value
        raise ValueError(
            f"{value!r}: use default (the cluster's default artifact repository) or "
            "{config_map: NAME, key: KEY}"
        )

    @field_validator("parameters", "artifacts")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        duplicates = sorted({d for d in value if value.count(d) > 1})
        if duplicates:
            raise ValueError(f"listed more than once: {', '.join(duplicates)}")
        if any(not d for d in value):
            raise ValueError("a dataset name cannot be empty")
        return value


GROUPING_KINDS = ("none", "memory", "namespace", "tag")
DEFAULT_TAG_PREFIX = "group."


@dataclass(frozen=True)
class GroupBy:
    """How Kedro nodes are grouped into pods (``--group-by`` / ``grouping:``).

    ``none`` (a pod per node), ``memory`` (nodes linked by in-memory datasets share a pod),
    ``namespace[:DEPTH]`` (nodes of one namespace, cut at DEPTH levels, share a pod),
    ``tag[:PREFIX]`` (nodes tagged ``PREFIX<group>`` share the pod ``<group>``).
    """

    kind: Literal["none", "memory", "namespace", "tag"] = "none"
    depth: int = 1
    prefix: str = DEFAULT_TAG_PREFIX

    def __str__(self) -> str:
        if self.kind == "namespace" and self.depth != 1:
            return f"namespace:{self.depth}"
        if self.kind == "tag" and self.prefix != DEFAULT_TAG_PREFIX:
            return f"tag:{self.prefix}"
        return self.kind


def parse_group_by(text: Any) -> GroupBy:
    """``memory``, ``namespace:2``, ``tag:stage.``... into a :class:`GroupBy`; ValueError else."""
    if isinstance(text, GroupBy):
        return text
    if not isinstance(text, str):
        raise ValueError(
            f"{text!r} is not a grouping: use none, memory, namespace[:DEPTH] or tag[:PREFIX]"
        )
    kind, sep, arg = text.strip().partition(":")
    if kind not in GROUPING_KINDS:
        raise ValueError(
            f"{text!r} is not a grouping: use none, memory, namespace[:DEPTH] or tag[:PREFIX]"
        )
    if kind == "namespace":
        if not sep:
            return GroupBy("namespace")
        if not arg.isdigit() or int(arg) < 1:
            raise ValueError(f"{text!r}: the namespace depth must be a whole number from 1")
        return GroupBy("namespace", depth=int(arg))
    if kind == "tag":
        if sep and not arg:
            raise ValueError(f"{text!r}: give a tag prefix after 'tag:' (e.g. tag:group.)")
        return GroupBy("tag", prefix=arg if sep else DEFAULT_TAG_PREFIX)
    if sep:
        raise ValueError(f"{text!r}: '{kind}' takes no argument")
    return GroupBy(kind)  # type: ignore[arg-type]


GroupBySetting = Annotated[GroupBy, BeforeValidator(parse_group_by), PlainSerializer(str)]


class ArgoConfig(_Model):
    """The whole ``argo.yml``."""

    image: ImageReference | None = None
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    image_pull_secrets: list[ObjectName] = []
    namespace: KubeName | None = None
    service_account: ObjectName | None = None
    project_dir: Annotated[str, BeforeValidator(_absolute_path)] = "/home/kedro_docker"
    server: ServerConfig = ServerConfig()
    data: DataConfig = DataConfig()
    workflow: WorkflowConfig = WorkflowConfig()
    nodes: NodesConfig = NodesConfig()
    parameters: list[str] = []
    schedule: ScheduleConfig = ScheduleConfig()
    grouping: GroupBySetting = GroupBy()
    sweeps: SweepsConfig = SweepsConfig()
    ui: UiConfig = UiConfig()
    memoize: MemoizeConfig = MemoizeConfig()

    @field_validator("parameters")
    @classmethod
    def _unique_parameters(cls, value: list[str]) -> list[str]:
        duplicates = sorted({p for p in value if value.count(p) > 1})
        if duplicates:
            raise ValueError(f"listed more than once: {', '.join(duplicates)}")
        return value


def parse_config(raw: Mapping[str, Any] | None, *, source: str) -> ArgoConfig:
    """Validate a loaded ``argo.yml`` mapping; errors name ``source`` and the key path."""
    try:
        return ArgoConfig.model_validate(dict(raw or {}))
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, source)) from None


def describe_validation_error(exc: ValidationError, source: str) -> str:
    """One line per problem: ``<file>: <key.path>: <what is wrong>``."""
    lines = []
    for error in exc.errors():
        loc = [part for part in error["loc"] if not _is_union_tag(part)]
        path = ".".join(str(part) for part in loc) or "(top level)"
        if error["type"] == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            message = "unknown key" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
        else:
            message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{source}: {path}: {message}")
    return "\n".join(dict.fromkeys(lines))


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and (
        part in {"plain", "secret", "str", "SecretRef"} or part.startswith("function-")
    )


def _allowed_keys(loc: Iterable[Any]) -> list[str]:
    """Walk the model along ``loc`` to list the keys that would have been accepted there."""
    annotation: Any = ArgoConfig
    for part in loc:
        if isinstance(part, int):
            annotation = _item_type(annotation, list)
            continue
        mapping_value = _item_type(annotation, dict)
        if mapping_value is not None:  # ``part`` is a user key (a tag, a node name, an env var)
            annotation = mapping_value
            continue
        model = _model_of(annotation)
        if model is None or part not in model.model_fields:
            return []
        annotation = model.model_fields[part].annotation
    model = _model_of(annotation)
    return sorted(model.model_fields) if model is not None else []


def _item_type(annotation: Any, container: type) -> Any:
    """``X`` for ``container[..., X]`` (possibly inside ``| None``), else None."""
    import typing

    if typing.get_origin(annotation) is container:
        return typing.get_args(annotation)[-1]
    for arg in typing.get_args(annotation):
        if typing.get_origin(arg) is container:
            return typing.get_args(arg)[-1]
    return None


def _model_of(annotation: Any) -> Any:
    """The BaseModel inside ``X | None``, ``dict[str, X]`` or ``list[X]``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


_MERGED_SECTIONS = {"resources", "retry", "pod_spec_patch"}  # merged recursively
_MERGED_MAPPINGS = {"env", "node_selector"}  # merged key by key, values replaced


def merge_node_settings(*levels: NodeSettings | None) -> NodeSettings:
    """Merge settings, later levels win.

    ``resources``, ``retry`` and ``pod_spec_patch`` merge recursively; ``env`` and
    ``node_selector`` merge key by key; lists (tolerations, volumes), ``affinity`` and scalars
    are replaced whole, because half of two affinities is nobody's intent.
    """
    merged: dict[str, Any] = {}
    for level in levels:
        if level is None:
            continue
        for key, value in level.model_dump(exclude_none=True).items():
            if key in _MERGED_SECTIONS and key in merged:
                merged[key] = _deep_merge(merged[key], value)
            elif key in _MERGED_MAPPINGS and key in merged:
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
    return NodeSettings.model_validate(merged)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def resolve_node_settings(nodes: NodesConfig, node_name: str, tags: Iterable[str]) -> NodeSettings:
    """One node's settings: defaults < its tags (in argo.yml order) < its name.

    Nodes sharing a pod are combined afterwards by :func:`merge_group_settings`.
    """
    node_tags = set(tags)
    levels = [nodes.defaults]
    levels += [settings for tag, settings in nodes.tags.items() if tag in node_tags]
    levels.append(nodes.names.get(node_name))
    return merge_node_settings(*levels)


def settings_resolver(nodes: NodesConfig) -> Callable[[str, Iterable[str]], NodeSettings]:
    """:func:`resolve_node_settings` for many nodes: nodes with the same matching tags and no
    settings of their own share one result (and one object), computed once."""
    cache: dict[tuple[str, ...], NodeSettings] = {}

    def resolve(node_name: str, tags: Iterable[str]) -> NodeSettings:
        if node_name in nodes.names:
            return resolve_node_settings(nodes, node_name, tags)
        node_tags = set(tags)
        key = tuple(tag for tag in nodes.tags if tag in node_tags)
        if key not in cache:
            cache[key] = resolve_node_settings(nodes, node_name, key)
        return cache[key]

    return resolve


# --------------------------------------------------------------------------- groups of nodes

_QUANTITY_SUFFIX = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "u": Decimal("0.000001"),
    "n": Decimal("0.000000001"),
    **{s: Decimal(1000) ** (i + 1) for i, s in enumerate("kMGTPE")},
    "K": Decimal(1000),
    **{f"{s}i": Decimal(1024) ** (i + 1) for i, s in enumerate("KMGTPE")},
}


def quantity_value(text: str) -> Decimal:
    """A Kubernetes quantity as a number (``"500m"`` → 0.5, ``"2Gi"`` → 2147483648)."""
    match = re.fullmatch(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)([a-zA-Z]*)", text)
    if match is None or match.group(2) not in _QUANTITY_SUFFIX:
        raise ValueError(f"{text!r} is not a Kubernetes quantity")
    try:
        return Decimal(match.group(1)) * _QUANTITY_SUFFIX[match.group(2)]
    except InvalidOperation:  # pragma: no cover - the regex admits only numbers
        raise ValueError(f"{text!r} is not a Kubernetes quantity") from None


def _larger_quantity(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a if b is None else b
    return b if quantity_value(b) > quantity_value(a) else a


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def merge_group_settings(members: Sequence[tuple[str, NodeSettings]]) -> NodeSettings:
    """Pod settings for nodes that share one pod, from each node's own resolved settings.

    The rule (docs: grouping how-to): resources take the largest value of each field (the pod
    must fit its largest node; ``gpu_resource`` must agree); env, node selectors, volumes and
    pod spec patches are united, and one key with two different values is an error naming
    both nodes; tolerations are united; affinity must be the same wherever it is set. Retries
    apply to the whole pod: the largest ``limit`` wins, with the policy and backoff of the
    (first) node that asked for it. A timeout bounds the whole pod, whose nodes run one after
    another: the sum of the nodes' timeouts, or none if any node has none.
    """
    if not members:
        return NodeSettings()
    first = members[0][1]
    if len(members) == 1 or (
        first.timeout is None and all(settings == first for _, settings in members[1:])
    ):
        return first
    merged: dict[str, Any] = {}
    owner: dict[tuple[str, ...], str] = {}  # key path -> node that set it (for messages)

    def claim(path: tuple[str, ...], value: Any, node: str, target: dict[str, Any]) -> None:
        key = path[-1]
        if key in target and _canonical(target[key]) != _canonical(value):
            where = ".".join(path)
            raise CompileError(
                f"Nodes '{owner[path]}' and '{node}' share a pod but set {where} differently "
                f"({target[key]!r} vs {value!r}): give them the same value, or do not group "
                "them together."
            )
        if key not in target:
            target[key] = value
            owner[path] = node

    resources: dict[str, Any] = {}
    tolerations: list[dict[str, Any]] = []
    volumes: dict[str, Any] = {}
    timeouts: list[str | None] = []
    for node, settings in members:
        timeouts.append(settings.timeout)
        if settings.resources is not None:
            res = settings.resources.model_dump(exclude_none=True)
            for field in ("cpu", "memory", "cpu_limit", "memory_limit"):
                resources[field] = _larger_quantity(resources.get(field), res.get(field))
            if res.get("gpu") is not None:
                resources["gpu"] = max(resources.get("gpu") or 0, res["gpu"])
            if "gpu_resource" in settings.resources.model_fields_set or res.get("gpu"):
                claim(("resources", "gpu_resource"), res["gpu_resource"], node, resources)
        if settings.retry is not None and settings.retry.limit is not None:
            current = merged.get("retry")
            if current is None or settings.retry.limit > current.get("limit", -1):
                merged["retry"] = settings.retry.model_dump(exclude_none=True)
        elif settings.retry is not None and "retry" not in merged:
            merged["retry"] = settings.retry.model_dump(exclude_none=True)
        for key, value in (settings.env or {}).items():
            plain = value.model_dump(exclude_none=True) if isinstance(value, SecretRef) else value
            claim(("env", key), plain, node, merged.setdefault("env", {}))
        for key, value in (settings.node_selector or {}).items():
            claim(("node_selector", key), value, node, merged.setdefault("node_selector", {}))
        for toleration in settings.tolerations or []:
            item = toleration.model_dump(exclude_none=True)
            if item not in tolerations:
                tolerations.append(item)
        for volume in settings.volumes or []:
            claim(("volumes", volume.name), volume.model_dump(exclude_none=True), node, volumes)
        if settings.affinity is not None:
            claim(("affinity",), settings.affinity, node, merged)
        if settings.pod_spec_patch is not None:
            _merge_patch(settings.pod_spec_patch, node, ("pod_spec_patch",), claim, merged)
    resources = {k: v for k, v in resources.items() if v is not None}
    if resources:
        merged["resources"] = resources
    if tolerations:
        merged["tolerations"] = tolerations
    if volumes:
        merged["volumes"] = list(volumes.values())
    if all(t is not None for t in timeouts):
        from kedro_argo.durations import parse_go_duration

        total = sum(parse_go_duration(t) for t in timeouts if t is not None)
        merged["timeout"] = f"{int(total)}s" if total == int(total) else f"{total:.3f}s"
    return NodeSettings.model_validate(merged)


def _merge_patch(
    patch: Mapping[str, Any], node: str, path: tuple[str, ...], claim: Any, target: dict[str, Any]
) -> None:
    """Deep-unite pod spec patches; a leaf set to two values is a conflict."""
    here = target.setdefault(path[-1], {})
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(here.get(key, {}), Mapping):
            _merge_patch(value, node, (*path, key), claim, here)
        else:
            claim((*path, key), value, node, here)
