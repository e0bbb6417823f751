"""The Gradio UI (one module per tab) and the command line."""
