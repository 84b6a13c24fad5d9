"""The chat orchestrator (orka-chat.txt): an LLM that creates and watches tasks for the user."""
