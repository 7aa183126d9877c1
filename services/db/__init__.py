"""The PostgreSQL read model: versioned migrations and connection helpers."""
