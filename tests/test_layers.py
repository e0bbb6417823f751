"""The layers import one way — UI → evaluation → engine → storage — and only storage holds SQL."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAT = ROOT / "chat"
# chat/clock.py, failures.py, quantile.py, redact.py, safe_yaml.py and wording.py are leaves every layer may use
ORDER = {"base": 0, "storage": 1, "engine": 2, "evaluation": 3, "ui": 4, "main": 5}


def layer(module: str) -> str:
    parts = module.split(".")
    if parts[:2] == ["chat", "__main__"]:
        return "main"
    if len(parts) > 1 and parts[1] in ORDER:
        return parts[1]
    return "base"


def imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}:{node.lineno} uses a relative import; write chat.<layer>.<module>")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("chat"):
            if node.module == "chat":
                found += [(node.lineno, f"chat.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("chat")]
    return found


def modules():
    for path in sorted(CHAT.rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        yield path, name.removesuffix(".__init__")


def test_every_module_sits_in_a_layer():
    loose = [n for _, n in modules() if layer(n) == "base" and n not in
             ("chat", "chat.clock", "chat.failures", "chat.quantile", "chat.redact", "chat.safe_yaml", "chat.wording")]
    assert not loose, f"modules outside the layer packages: {loose}"


def test_imports_point_one_way():
    wrong = []
    for path, name in modules():
        for line, target in imports(path):
            if ORDER[layer(target)] > ORDER[layer(name)]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({layer(name)}) imports {target} ({layer(target)})")
    assert not wrong, "imports against UI → evaluation → engine → storage:\n" + "\n".join(wrong)


def test_the_checker_sees_a_wrong_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from chat.ui.app import build_app\n")
    assert [(2, "chat.ui.app")] == imports(bad)
    assert ORDER[layer("chat.ui.app")] > ORDER[layer("chat.storage.store")]


SQL = re.compile(r"\b(select|insert|update|delete)\b.*\b(from|into|set)\b", re.I)


def test_only_storage_holds_sql():
    found = []
    for path, name in modules():
        if layer(name) == "storage":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                if not re.search(r"\b(exchanges|runs|ratings|votes|spend|sqlite_master)\b", node.value):
                    continue  # prose, not a statement against our tables
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:60]!r}")
    assert not found, "SQL outside chat/storage/:\n" + "\n".join(found)


def test_no_code_compares_protocol_names_outside_the_registry():
    """Facts about a wire protocol are asked of the registry (endpoint.facts), never read off its name."""
    compare = re.compile(r"\bprotocol\s*(==|!=|in\s*[(\[{])")
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
             for path in [*CHAT.rglob("*.py"), ROOT / "demo.py"] if path.name != "protocols.py"
             for n, line in enumerate(path.read_text().splitlines(), 1) if compare.search(line)]
    assert not found, "compare protocols through chat/engine/protocols.py:\n" + "\n".join(found)
    from chat.engine.endpoints import BUILTIN
    from chat.engine.protocols import NAMES, PROTOCOLS

    assert set(PROTOCOLS) == set(NAMES)  # every declared protocol has its one adapter
    assert {e.protocol for e in BUILTIN} <= set(PROTOCOLS)


RECORD_LOOKUP = re.compile(r"""\b(row|record|exchange|rating|run)(\[["']|\.get\(["'])"""
                           r"""|\]\[["'](cost_usd|model|status|reply|prompt|error)["']\]""")


def test_records_are_read_by_attribute_outside_storage():
    """Exchanges, runs and ratings are typed records: code outside chat/storage/ reads fields, not dict keys."""
    found = []
    for path in [*CHAT.rglob("*.py"), ROOT / "demo.py"]:
        if path.is_relative_to(CHAT / "storage"):
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if RECORD_LOOKUP.search(line):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:80]}")
    assert not found, "dict lookups on records outside chat/storage/:\n" + "\n".join(found)
    assert RECORD_LOOKUP.search('x = row["model"]') and RECORD_LOOKUP.search("result.record.get('cost_usd')")


def _graph(found) -> dict[str, set[str]]:
    """module -> the chat modules it imports (a name imported from a package counts as the package)."""
    names = {name for _, name in found}
    graph = {}
    for path, name in found:
        targets = set()
        for _, target in imports(path):
            while target and target not in names:
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
        graph[name] = targets
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every set of modules that import one another round a loop (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while not part or part[-1] != v:
                part.append(stack.pop())
            if len(part) > 1:
                out.append(sorted(part))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_module_imports_itself_round_a_loop():
    """Imports inside functions and under TYPE_CHECKING count: a loop there is a loop a reader must untangle."""
    found = circles(_graph(list(modules())))
    assert not found, "import circles:\n" + "\n".join(" ↔ ".join(c) for c in found)


def test_the_checker_sees_a_circle_through_a_function_and_type_checking(tmp_path):
    (tmp_path / "a.py").write_text("def f():\n    from chat.x.b import g\n")
    (tmp_path / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from chat.x.a import f\n")
    (tmp_path / "c.py").write_text("from chat.x.a import f\n")
    found = [(tmp_path / f"{n}.py", f"chat.x.{n}") for n in "abc"]
    assert circles(_graph(found)) == [["chat.x.a", "chat.x.b"]]


def test_every_function_fits_on_a_screen():
    """No function in chat/ is over 60 lines: a longer one holds two jobs (Engine._run was 94, cli._eval 98)."""
    long = []
    for path, _ in modules():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {node.end_lineno - node.lineno + 1}")
    assert not long, "functions over 60 lines:\n" + "\n".join(long)


WRITES = {"append", "upsert", "append_many", "insert_now", "write_now", "reserve_spend", "settle_spend"}


def test_records_are_written_as_records_outside_storage():
    """Runs, ratings, votes and spend entries were written as raw dicts (runs.py, ratings.py, budget.py): the
    code outside chat/storage/ hands the store typed records."""
    found = []
    for path, name in modules():
        if layer(name) == "storage":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            receiver = getattr(node.func, "value", None)
            on_store = getattr(receiver, "attr", None) == "store" or getattr(receiver, "id", None) == "store"
            if getattr(node.func, "attr", None) in WRITES and on_store:
                rows = [a for a in node.args if isinstance(a, (ast.Dict, ast.List, ast.ListComp))]
                rows = [a for a in rows if isinstance(a, ast.Dict) or isinstance(getattr(a, "elt", None), ast.Dict)
                        or any(isinstance(e, ast.Dict) for e in getattr(a, "elts", []))]
                if rows:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, "rows written as dicts:\n" + "\n".join(found)
