"""The config file: ``imospec.toml``, or a ``[tool.imospec]`` table in
``pyproject.toml`` (as ``foundry.toml`` is for Foundry).

Every key is a command-line option's long name (``rlimit``, ``timeout``,
``examples``, ``steps``, ``seed``, ``backend``, ``workers``...), with
``binding`` for ``--impl``. Top-level keys apply to every command that has the
option; a table named after a command applies to it alone and wins::

    binding = "evm_backend/contracts/binding.json"   # relative to this file
    seed = 7

    [prove]
    rlimit = 80_000_000

    [conform]
    examples = 200
    backend = "pyrevm"

    [verify]
    backends = ["pyrevm"]

A flag given on the command line overrides the file. The file is looked for
in the working directory and then in each parent (the first ``imospec.toml``,
or ``pyproject.toml`` with a ``[tool.imospec]`` table, wins); ``imospec
--config FILE`` names one. A mistake in it (a TOML syntax error, an unknown
key, a value the option refuses) is a :class:`ConfigError` located
``file:line:col``, exit 64.
"""

from __future__ import annotations

import argparse
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CONFIG_FILE", "Config", "ConfigError", "apply", "find_config", "load_config"]

CONFIG_FILE = "imospec.toml"

#: Keys that are another name of an option's destination.
ALIASES = {"binding": "impl"}

#: Options whose value is a path: relative to the config file, not to the working directory.
PATH_KEYS = frozenset({"impl", "cache_dir", "equivalents"})


class ConfigError(Exception):
    """The config file cannot be read, is not TOML, or sets something no option accepts.

    The message starts with ``file:line:col``; ``hint`` says what would be accepted.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass
class Config:
    """A config file's settings: ``common`` for every command, ``commands`` per command."""

    path: Path
    text: str
    common: dict[str, Any] = field(default_factory=dict)
    commands: dict[str, dict[str, Any]] = field(default_factory=dict)
    table: tuple[str, ...] = ()  # where the settings live in the file: () or ("tool", "imospec")

    def where(self, key: str, command: str | None = None) -> str:
        """``file:line:col`` of ``key`` (in ``[command]`` when given), as well as a scan of the text finds it."""
        header = ".".join((*self.table, command) if command else self.table)
        current = ""
        for i, line in enumerate(self.text.splitlines(), start=1):
            m = re.match(r"\s*\[\s*([^\]]+?)\s*\]", line)
            if m:
                current = m.group(1).replace('"', "").replace(" ", "")
                continue
            m = re.match(rf"(\s*){re.escape(key)}\s*=", line)
            if m and current == header:
                return f"{self.path}:{i}:{len(m.group(1)) + 1}"
        return f"{self.path}:1:1"


def find_config(start: Path | None = None) -> Path | None:
    """The config file that applies in ``start`` (default: the working directory), or None."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / CONFIG_FILE).is_file():
            return d / CONFIG_FILE
        pyproject = d / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue
            if isinstance(data.get("tool"), dict) and "imospec" in data["tool"]:
                return pyproject
    return None


def load_config(path: Path) -> Config:
    """Read a config file (``imospec.toml``, or the ``[tool.imospec]`` table of a ``pyproject.toml``).

    Raises:
        ConfigError: it cannot be read or is not TOML, or a table has the wrong shape.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file: {getattr(exc, 'strerror', None) or exc}",
                          "give an existing file to --config") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        place = f"{path}:{m.group(1)}:{m.group(2)}" if m else f"{path}:1:1"
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(f"{place}: not TOML: {msg}", "see https://toml.io for the syntax") from None
    table: tuple[str, ...] = ()
    if path.name == "pyproject.toml":
        table = ("tool", "imospec")
        data = data.get("tool", {}).get("imospec", {})
    config = Config(path=path, text=text, table=table)
    for key, value in data.items():
        if isinstance(value, dict):
            config.commands[key] = dict(value)
        else:
            config.common[key] = value
    return config


def apply(config: Config, parser: argparse.ArgumentParser) -> None:
    """Make the config's settings the defaults of ``parser``'s subcommands (so that flags override them).

    Raises:
        ConfigError: a key names no option (of that command, or of any
            command for a top-level key), or an option refuses its value.
    """
    commands = _subparsers(parser)
    for name, settings in config.commands.items():
        if name not in commands:
            raise ConfigError(f"{_table_place(config, name)}: "
                              f"no command `{name}` to configure",
                              f"the tables are named after commands: {', '.join(sorted(commands))}")
        for key, value in settings.items():
            dest = ALIASES.get(key, key).replace("-", "_")
            action = _actions(commands[name]).get(dest)
            if action is None:
                raise ConfigError(f"{config.where(key, name)}: `imospec {name}` has no option `{key}`",
                                  _known(commands[name]))
            commands[name].set_defaults(**{action.dest: _value(config, key, value, action, name)})
    for key, value in config.common.items():
        dest = ALIASES.get(key, key).replace("-", "_")
        users = [(n, a) for n, p in commands.items() if (a := _actions(p).get(dest)) is not None]
        if not users:
            raise ConfigError(f"{config.where(key)}: no command has an option `{key}`",
                              "keys are long option names (rlimit, timeout, examples, steps, seed, backend, "
                              "workers...) and `binding`")
        for name, action in users:
            if key in config.commands.get(name, {}):
                continue  # the command's own table wins
            commands[name].set_defaults(**{action.dest: _value(config, key, value, action, None)})


def _table_place(config: Config, name: str) -> str:
    header = ".".join((*config.table, name))
    for i, line in enumerate(config.text.splitlines(), start=1):
        if re.match(rf"\s*\[\s*{re.escape(header)}\s*\]", line.replace('"', "")):
            return f"{config.path}:{i}:1"
    return f"{config.path}:1:1"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            return dict(a.choices)
    return {}


def _actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    out: dict[str, argparse.Action] = {}
    for a in parser._actions:
        if a.option_strings and a.dest != "help":
            out[a.dest] = a
            out.update((o.lstrip("-").replace("-", "_"), a) for o in a.option_strings if o.startswith("--"))
    return out


def _known(parser: argparse.ArgumentParser) -> str:
    names = sorted(a.option_strings[-1].lstrip("-") for a in parser._actions if a.option_strings and a.dest != "help")
    return "its options: " + ", ".join(names)


def _value(config: Config, key: str, value: Any, action: argparse.Action, command: str | None) -> Any:
    """The value as the option would have parsed it from the command line."""
    where = config.where(key, command)
    if action.nargs == 0:  # a flag
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: `{key}` is a flag: true or false, not {value!r}")
        return value if action.const is True or action.const is None else action.const
    values = value if isinstance(value, list) else [value]
    if isinstance(action, argparse._AppendAction):
        if not isinstance(value, list):
            values = [value]
    elif isinstance(value, list):
        raise ConfigError(f"{where}: `{key}` takes one value, not a list")
    out = []
    for v in values:
        if isinstance(v, (dict, list, bool)):
            raise ConfigError(f"{where}: `{key}` cannot be {v!r}")
        text = str(v)
        try:
            parsed = action.type(text) if callable(action.type) else text
        except (argparse.ArgumentTypeError, ValueError) as exc:
            raise ConfigError(f"{where}: `{key}` = {v!r}: {exc}") from None
        if action.choices is not None and parsed not in action.choices:
            raise ConfigError(f"{where}: `{key}` = {v!r} is not one of {', '.join(map(str, action.choices))}",
                              f"write one of them, e.g. {key} = {next(iter(action.choices))!r}")
        if action.dest in PATH_KEYS:
            resolved = (config.path.parent / text).resolve()
            parsed = str(resolved) if action.type in (None, str) else resolved
        out.append(parsed)
    return out if isinstance(action, argparse._AppendAction) else out[0]
