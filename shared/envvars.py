"""Settings read from environment variables, the way pydantic-settings reads them, without pydantic.

A process's first request reads its settings (auth, limits); with pydantic-settings that cost ~130 ms
of CPU (the import, pydantic's, and a plugin scan at the class's build) in every function. Here a
settings class declares its variables as annotated attributes (`name: int = 5`, or
`name: str | None = Env(None, "ALIAS", "OTHER")`), and a variable is read as pydantic-settings reads
it (shared/settings.py's config: `env_prefix`, case-insensitive names, `populate_by_name`): each
alias in order, then the prefixed field name; the first one set wins, else the default.

A value in its plain form (`5`, `2.5`, `true`, a Literal's member, any string) is converted here. Any
other value (` 5`, `1e3`, `maybe`) goes to pydantic-settings itself, through a model built from the
same declarations: it either accepts the value as it always did or raises its own ValidationError,
so what a setting accepts and every error message stay pydantic-settings' exactly.
"""

from __future__ import annotations

import os
import re
import typing
from dataclasses import dataclass
from types import NoneType, UnionType
from typing import Any, ClassVar, Literal

_INT = re.compile(r"-?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")
_BOOLS = {"true": True, "1": True, "false": False, "0": False}


@dataclass(frozen=True)
class Env:
    """A setting's default and the variables it is read from instead of `<prefix><NAME>`."""

    default: Any
    aliases: tuple[str, ...] = ()

    def __init__(self, default: Any, *aliases: str) -> None:
        object.__setattr__(self, "default", default)
        object.__setattr__(self, "aliases", aliases)


@dataclass(frozen=True)
class Var:
    """One declared setting."""

    name: str
    annotation: Any
    default: Any
    aliases: tuple[str, ...]
    lookups: tuple[str, ...]  # lower-case variable names, in the order they are tried


class _Unparsed(Exception):
    """A value not in its plain form: pydantic-settings decides it."""


def _convert(annotation: Any, raw: str) -> Any:
    optional_str = isinstance(annotation, UnionType) and set(typing.get_args(annotation)) == {str, NoneType}
    if annotation is str or optional_str:
        return raw
    if annotation is int and _INT.fullmatch(raw):
        return int(raw)
    if annotation is float and _FLOAT.fullmatch(raw):
        return float(raw)
    if annotation is bool and raw in _BOOLS:
        return _BOOLS[raw]
    if typing.get_origin(annotation) is Literal and raw in typing.get_args(annotation):
        return raw
    raise _Unparsed


class EnvSettings:
    """The base of a settings class (see the module's docstring); `derive()` runs after the read."""

    env_prefix: ClassVar[str] = ""
    fields: ClassVar[dict[str, Var]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        hints = typing.get_type_hints(cls)
        fields = {}
        for name in cls.__annotations__:
            if typing.get_origin(hints[name]) is ClassVar:
                continue
            declared = cls.__dict__.get(name)
            default, aliases = (declared.default, declared.aliases) if isinstance(declared,
                                                                                  Env) else (declared, ())
            # pydantic-settings (populate_by_name): the aliases first, then the prefixed field name.
            lookups = tuple(a.lower() for a in aliases) + ((cls.env_prefix + name).lower(),)
            fields[name] = Var(name, hints[name], default, aliases, lookups)
            setattr(cls, name, default)
        cls.fields = fields

    def __init__(self) -> None:
        environ = {key.lower(): value for key,
                   value in os.environ.items()}  # case-insensitive, as pydantic-settings
        try:
            for var in self.fields.values():
                raw = next((environ[n] for n in var.lookups if n in environ), None)
                setattr(self, var.name, var.default if raw is None else _convert(var.annotation, raw))
        except _Unparsed:
            for name, value in _validated(type(self)).items():
                setattr(self, name, value)
        self.derive()

    def derive(self) -> None:
        """Settings whose default depends on others (the model validator of pydantic-settings' version)."""

    def __repr__(self) -> str:  # names only: settings hold secrets
        return f"{type(self).__name__}({', '.join(self.fields)})"


def _validated(cls: type[EnvSettings]) -> dict[str, Any]:
    """Every setting as pydantic-settings reads it (raises its ValidationError for a bad value)."""
    from pydantic import AliasChoices, Field, create_model
    from pydantic_settings import BaseSettings, SettingsConfigDict

    def field(var: Var) -> Any:
        if not var.aliases:
            return var.default
        alias = var.aliases[0] if len(var.aliases) == 1 else AliasChoices(*var.aliases)
        return Field(default=var.default, validation_alias=alias)

    config = SettingsConfigDict(env_prefix=cls.env_prefix, extra="ignore", populate_by_name=True)
    base = type(f"_{cls.__name__}", (BaseSettings,), {"model_config": config})
    model = create_model(cls.__name__, __base__=base,  # type: ignore[call-overload]
                         **{var.name: (var.annotation, field(var)) for var in cls.fields.values()})
    return dict(model())
