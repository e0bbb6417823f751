"""Gradio imported without its stub writer.

Every component class Gradio defines (and ours, `components.ChatLog`) passes through
`gradio.component_meta.create_or_modify_pyi` as the class is made. It exists for people building custom
components: it parses the class's source and its `.pyi` with `ast`, renders a Jinja template, and writes the stub
beside the source when it differs. For a running app that is 1.1-1.3 s of every start (40% of `import gradio`),
and writes into site-packages and into `chat/ui/` (a `components.pyi` next to our code, on every host).

Gradio offers no setting for it, so the module is patched as it loads: a finder on `sys.meta_path` sees the
import of `gradio.component_meta`, lets it run, and swaps the writer for a no-op before any component class is
made. If a later Gradio renames the function, nothing is patched and Gradio works as it always did.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import sys

MODULE = "gradio.component_meta"
WRITER = "create_or_modify_pyi"


def _no_stub(*args, **kwargs) -> None:
    return None


class _StubWriterOff(importlib.abc.MetaPathFinder):
    """Finds nothing itself: it wraps the real loader of one module, then leaves `sys.meta_path`."""

    def find_spec(self, name, path, target=None):
        if name != MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            if hasattr(module, WRITER):
                setattr(module, WRITER, _no_stub)

        spec.loader.exec_module = exec_module
        return spec


def skip_stub_writer() -> None:
    """Before Gradio is imported: its component classes are made without writing stubs. Later, no effect."""
    if MODULE in sys.modules or any(isinstance(f, _StubWriterOff) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _StubWriterOff())
