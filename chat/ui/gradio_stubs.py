"""Gradio imported without its stub writer.

Every component class Gradio defines (and ours, `components.ChatLog`) passes through
`gradio.component_meta.create_or_modify_pyi` as the class is made. It exists for people building custom
components: it parses the class's source and its `.pyi` with `ast`, renders a Jinja template, and writes the stub
beside the source when it differs. For a running app that is 1.1-1.3 s of every start (40% of `import gradio`),
and writes into site-packages and into `chat/ui/` (a `components.pyi` next to our code, on every host).

The same class machinery also compiled a Jinja template for each event of each class to put the class's name in
the event's docstring (another 0.3 s); a plain replace of its one placeholder does the same.

Gradio offers no setting for either, so the module is patched as it loads: a finder on `sys.meta_path` sees the
import of `gradio.component_meta`, lets it run, and swaps the writer for a no-op (and `EventListener.set_doc` for the
replace) before any component class is made. If a later Gradio renames them, nothing is patched and Gradio works
as it always did.
"""
from __future__ import annotations

import importlib.util
import sys

MODULE = "gradio.component_meta"
WRITER = "create_or_modify_pyi"


def _no_stub(*args, **kwargs) -> None:
    return None


def _set_doc(self, component: str) -> None:
    """Gradio's `EventListener.set_doc` without a Jinja template compiled per event of every class (a third of a
    second of each start): the docs it fills in hold one placeholder, `{{ component }}`."""
    if self.listener.__doc__:
        self.listener.__doc__ = self.listener.__doc__.replace("{{ component }}", component)


class _StubWriterOff:
    """A `sys.meta_path` finder that finds nothing itself: it wraps the real loader of one module, then leaves."""

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
            listener = getattr(sys.modules.get("gradio.events"), "EventListener", None)
            if listener is not None and hasattr(listener, "set_doc"):
                listener.set_doc = _set_doc

        spec.loader.exec_module = exec_module
        return spec


def skip_stub_writer() -> None:
    """Before Gradio is imported: its component classes are made without writing stubs. Later, no effect."""
    if MODULE in sys.modules or any(isinstance(f, _StubWriterOff) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _StubWriterOff())
