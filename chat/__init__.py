"""Chat with any LLM and meter every reply: tokens, cost and latency, logged to SQLite."""
