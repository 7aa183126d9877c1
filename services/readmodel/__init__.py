"""The PostgreSQL read model, its one owner: the schema (`migrations/`, `migrate.py`), the
projection's writes (`projection.py` plans a batch, pure; `writes.py` writes it; `lifecycle.py`
folds each request's status and due instant) and every named query the API, the projector,
the privacy jobs and the CLI read it with: `customers.py` (cluster, search, summary,
timeline), `worklist.py` (requests, detail, role scope, the one meaning of overdue, the
open/overdue gauges), `access_log.py`, `kpis.py` (the facts; the arithmetic is
domain/kpis.py), `erasure.py` and `retention.py` (their statements), `compare.py` (replay
against live), `pool.py`. It imports neither the API nor the projector."""
