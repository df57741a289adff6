"""The embedded sparse-attention model, its engine and server, and the client for vLLM."""
