"""The config check: untyped data (YAML, JSON metadata, ``--set`` values) checked against the config
dataclasses' field annotations, and converted, before any config is built from it.

Every builder of configs from untyped data goes through `build_config` (``load_yaml``, the official
translation, ``model_config_from_dict``, ``apply_overrides``, the dict sections of the config classes), so
that a wrong type is one `ConfigError` naming the file, the dotted key, the expected type and the value
found, instead of a traceback (or a string ``"1e-4"`` reaching the optimiser) later on.

The rules, per annotation:

* ``float``: ints and floats (as float); strings written as a decimal or scientific number (``"1e-4"``:
  YAML 1.1 reads ``1e-4`` without a dot as a string). Not bools, not other strings.
* ``int``: ints; floats with an integral value (``8.0`` → 8: nothing is lost). Not bools, not ``8.5``.
* ``bool``: only ``true`` / ``false``. ``str``: only strings. ``Literal[...]``: only the listed values.
* ``X | None``: also ``null``. ``list[T]`` / ``tuple[T, ...]``: a list, element by element (``key[i]``).
* ``dict[str, T]``: a mapping with string keys, value by value (``key.name``).
* a config dataclass: a mapping of its fields (built recursively; unknown keys refused, listing the valid
  ones), or an instance of it (taken as it is: it was built by typed code).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, Union

from seqtrack.errors import InputError

T = TypeVar("T")

# A number as people write one: "1e-4", "-2.5E+3", ".5", "3." (not "nan", "inf" or "1_000", which
# Python's float() would also take).
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
# Longest value shown in a message (a whole mapping would drown the line).
_MAX_SHOWN = 60


class ConfigError(InputError):
    """A config value of the wrong type, an unknown key, or a value a config class refuses.

    ``source`` is where the data came from (a file, ``--set train.lr=x``; may be empty), ``key`` the
    dotted place (``train.lr``, ``train.datasets[1]``, ``tracker.update_presets.lasot.interval``; empty
    for the whole config), ``detail`` what is wrong. The message joins them with ``": "``.
    """

    def __init__(self, source: str, key: str, detail: str) -> None:
        self.source, self.key, self.detail = source, key, detail
        super().__init__(": ".join(part for part in (source, key, detail) if part))


class _Mismatch(Exception):
    """Raised inside the check (which knows the key, not the source); the public functions turn it into
    a `ConfigError`. ``expected`` is set for a plain type mismatch, so that ``X | None`` can restate it."""

    def __init__(self, key: str, detail: str, expected: str = "") -> None:
        super().__init__(detail)
        self.key, self.detail, self.expected = key, detail, expected


def build_config(cls: type[T], data: Mapping, *, source: str = "", root: str = "") -> T:
    """``cls(**data)`` after every value of ``data`` was checked against its field's annotation and
    converted (see the module docstring); sections are built the same way.

    Args:
        cls: a config dataclass (`ExperimentConfig`, `ModelConfig`, `TrackerConfig`, ...).
        data: its fields by name (all optional: missing ones take the defaults).
        source: named first in every error (the file, ``--set ...``); may be empty.
        root: the dotted place of ``cls`` in errors (``"model"`` for a `ModelConfig` on its own; ``""``
            for a whole experiment, whose sections are then ``model``, ``train``, ...).
    Raises:
        ConfigError: the first unknown key, wrong type, or value refused by ``cls`` itself (a range).
    """
    try:
        return _build(cls, data, root)
    except _Mismatch as error:
        raise ConfigError(source, error.key, error.detail) from None


def check_value(value: Any, annotation: Any, *, key: str, source: str = "") -> Any:
    """``value`` checked against ``annotation`` (a field's type, from `field_types`) and converted.

    ``key`` is the value's dotted place, named in the error with ``source``. Raises `ConfigError`.
    """
    try:
        return _coerce(value, annotation, key)
    except _Mismatch as error:
        raise ConfigError(source, error.key, error.detail) from None


@functools.cache
def field_types(cls: type) -> dict[str, Any]:
    """The evaluated annotations of a config dataclass's init fields (the modules use postponed
    annotations, so ``dataclasses.fields`` alone gives strings)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def unknown_keys_detail(cls: type, unknown: list[str], root: str, extra: tuple[str, ...] = ()) -> tuple[str, str]:
    """``(key, detail)`` of the error for keys ``cls`` does not have: the key itself when there is one
    (with a close match as a hint), else the section; the detail lists the section's valid keys (its
    fields, then ``extra``: keys its reader handles itself, such as a YAML file's ``preset``)."""
    valid = [*field_types(cls), *extra]
    where = f"valid keys of {root}" if root else "valid keys"
    if len(unknown) == 1:
        close = difflib.get_close_matches(unknown[0], valid, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return _join(root, unknown[0]), f"unknown key{hint}; {where}: {', '.join(valid)}"
    names = ", ".join(repr(k) for k in unknown)
    return root, f"unknown keys {names}; {where}: {', '.join(valid)}"


def describe(annotation: Any) -> str:
    """What a value of ``annotation`` looks like, for messages: ``a number (float)``, ``one of 'off', 'fp16'``."""
    if annotation is float:
        return "a number (float)"
    if annotation is int:
        return "an integer (int)"
    if annotation is bool:
        return "true or false (bool)"
    if annotation is str:
        return "a string (str)"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join("null" if a is type(None) else describe(a) for a in args)
    if origin in (list, tuple):
        return f"a list ({type_name(annotation)})"
    if origin is dict:
        return f"a mapping ({type_name(annotation)})"
    if dataclasses.is_dataclass(annotation):
        return f"a mapping (the fields of {annotation.__name__})"
    return type_name(annotation)


def type_name(annotation: Any) -> str:
    """A short spelling of an annotation: ``dict[str, UpdatePolicy]``, ``float | None``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return f"Literal[{', '.join(repr(a) for a in args)}]"
    if origin in (Union, types.UnionType):
        return " | ".join("None" if a is type(None) else type_name(a) for a in args)
    if origin is not None:
        inner = ", ".join("..." if a is Ellipsis else type_name(a) for a in args)
        return f"{origin.__name__}[{inner}]"
    return getattr(annotation, "__name__", repr(annotation))


def _join(root: str, key: Any) -> str:
    return f"{root}.{key}" if root else str(key)


def _shown(value: Any) -> str:
    """``'abc' (str)``: the value as found (cut short) and its type (``null`` for None)."""
    if value is None:
        return "null"
    text = repr(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return f"{text} ({type(value).__name__})"


def _expected(key: str, annotation: Any, value: Any) -> _Mismatch:
    wanted = describe(annotation)
    return _Mismatch(key, f"expected {wanted}, got {_shown(value)}", expected=wanted)


def _build(cls: type[T], data: Any, root: str) -> T:
    if not isinstance(data, Mapping):
        raise _expected(root, cls, data)
    hints = field_types(cls)
    unknown = [str(k) for k in data if k not in hints]
    if unknown:
        raise _Mismatch(*unknown_keys_detail(cls, unknown, root))
    kwargs = {key: _coerce(value, hints[key], _join(root, key)) for key, value in data.items()}
    try:
        return cls(**kwargs)
    except ConfigError as error:  # from a section's own check: already placed
        raise _Mismatch(error.key, error.detail) from None
    except InputError as error:  # a value the class refuses (a range, a contradiction): name the section
        raise _Mismatch(root, str(error)) from None


def _coerce(value: Any, annotation: Any, key: str) -> Any:
    """The checked and converted ``value``; `_Mismatch` naming ``key`` (or an element below it)."""
    if annotation is Any:
        return value
    if annotation in (float, int, bool, str):
        return _scalar(value, annotation, key)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        # Type and value: ``1 == True``, and a Literal of strings must not take a number.
        if any(type(value) is type(a) and value == a for a in args):
            return value
        raise _expected(key, annotation, value)
    if origin in (Union, types.UnionType):
        return _union(value, annotation, args, key)
    if dataclasses.is_dataclass(annotation):
        return value if isinstance(value, annotation) else _build(annotation, value, key)
    if origin in (list, tuple):
        return _sequence(value, annotation, origin, args, key)
    if origin is dict:
        if not isinstance(value, Mapping):
            raise _expected(key, annotation, value)
        key_type, value_type = args
        for name in value:
            if not isinstance(name, key_type):
                raise _Mismatch(_join(key, name), f"expected a {type_name(key_type)} key, got {_shown(name)}")
        return {name: _coerce(item, value_type, _join(key, name)) for name, item in value.items()}
    # A field type this check does not know is a mistake in the config classes, not in the user's file.
    raise TypeError(f"config check: unsupported annotation {annotation!r} at {key}")


def _scalar(value: Any, annotation: type, key: str) -> Any:
    # bool is a subclass of int: refused explicitly wherever a number is expected.
    is_bool = isinstance(value, bool)
    if annotation is bool or annotation is str:
        if isinstance(value, annotation):
            return value
    elif annotation is int:
        if isinstance(value, int) and not is_bool:
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif not is_bool:  # float
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
            return float(value)
    raise _expected(key, annotation, value)


def _union(value: Any, annotation: Any, args: tuple, key: str) -> Any:
    if value is None and type(None) in args:
        return None
    for option in (a for a in args if a is not type(None)):
        try:
            return _coerce(value, option, key)
        except _Mismatch as error:
            if error.key != key or not error.expected:
                raise  # a problem inside the value (an element, a section's key): the closer message
    # The value fits none of the options: say all of them ("a number (float) or null").
    raise _expected(key, annotation, value)


def _sequence(value: Any, annotation: Any, origin: type, args: tuple, key: str) -> Any:
    if not isinstance(value, (list, tuple)):
        raise _expected(key, annotation, value)
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        if len(value) != len(args):
            raise _Mismatch(key, f"expected {len(args)} items ({type_name(annotation)}), got {_shown(value)}")
        items = [_coerce(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args))]
    else:
        items = [_coerce(v, args[0], f"{key}[{i}]") for i, v in enumerate(value)]
    return tuple(items) if origin is tuple else items


def yaml_problem(error: Exception) -> str:
    """One line for a YAML parse error (PyYAML's own message spans several lines with a caret drawing)."""
    problem = getattr(error, "problem", None) or " ".join(str(error).split())
    mark = getattr(error, "problem_mark", None)
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else problem
