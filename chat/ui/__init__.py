"""The Gradio UI (one module per tab) and the command line."""
from chat.ui.gradio_stubs import skip_stub_writer

# before any module here imports Gradio: its import would otherwise spend a second writing type stubs (gradio_stubs.py)
skip_stub_writer()
