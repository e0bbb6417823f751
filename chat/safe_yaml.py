"""YAML for files people hand us: safe types, no duplicate keys, bounded alias expansion, line numbers kept."""
from __future__ import annotations

import yaml

MAX_BYTES = 5 * 1024 * 1024
MAX_VALUES = 200_000  # values after aliases are expanded: a few hundred bytes cannot become gigabytes


class YamlError(ValueError):
    """The text is not acceptable YAML; the message names the line."""


class Mapping(dict):
    """A YAML mapping that remembers where it and each of its keys were written (1-based lines)."""

    line: int = 0
    key_lines: dict

    def line_of(self, key) -> int:
        return getattr(self, "key_lines", {}).get(key, self.line)


class _Loader(yaml.SafeLoader):
    def construct_yaml_map(self, node):
        data = Mapping()
        data.line = node.start_mark.line + 1
        data.key_lines = {}
        yield data
        seen = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise YamlError(f"line {key_node.start_mark.line + 1}: a mapping key must be plain text") from None
            if key in seen:
                raise YamlError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r} (first at line {seen[key]}); "
                                "remove one — YAML would silently keep the last")
            seen[key] = key_node.start_mark.line + 1
        data.update(self.construct_mapping(node, deep=True))
        data.key_lines = seen


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_yaml_map)


def _expanded_size(root) -> int:
    """How many values the document holds once every alias is expanded; stops counting past the limit."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise YamlError(f"line {node.start_mark.line + 1}: an alias refers to itself")
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = []
        for child in children:
            total += size(child)
            if total > MAX_VALUES:
                break
        active.discard(key)
        sizes[key] = total
        return total

    return size(root)


def load(text: str | bytes, max_bytes: int = MAX_BYTES):
    """Parse one YAML document safely; YamlError names the line of the first problem."""
    if len(text) > max_bytes:
        raise YamlError(f"the file is {len(text):,} bytes; at most {max_bytes:,} are read")
    try:
        loader = _Loader(text)  # its reader refuses control characters here, before any parsing
    except yaml.YAMLError as exc:
        raise YamlError(f"not valid YAML: {exc}".splitlines()[0]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node) > MAX_VALUES:
            raise YamlError(f"its aliases (*name) expand to more than {MAX_VALUES:,} values; write the values out "
                            "or use fewer aliases")
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}: " if mark else ""
        raise YamlError(f"{at}not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    except RecursionError:
        raise YamlError("it is nested too deeply") from None
    finally:
        loader.dispose()
