"""The faust-streaming app: topics, tables and agents, with their pure decision logic."""
