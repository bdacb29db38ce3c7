"""Many annotators autosaving at once against ``keepsight serve`` on loopback: no lost update, and
the latency of a save.

Each annotator has one job with one image and two browser tabs open on it; each tab saves
``--saves`` times, each save adding one annotation by read-modify-write (on 409 it takes the
current content from the answer, adds its annotation again and retries). The server runs
in its own process (uvicorn, one worker), the clients are threads with their own httpx2
connection. First one more annotator saves alone on the idle server (the service time of a
save), then all the others at once (service time plus queueing). Afterwards every draft must
hold exactly the annotations of every acknowledged save. Run side by side on SQLite and (when
a URL is given) PostgreSQL in the same run.

    python benchmarks/bench_service_load.py [--annotators 50] [--saves 10]
        [--pg-url postgresql://postgres@localhost/test] [--out benchmarks/results/service_load.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy as np
from PIL import Image

from keepsight import Dataset, import_path
from keepsight.model.labelbook import ClassSpec, LabelBook
from keepsight.service import admin
from keepsight.service.server import free_port


def _serve(root: str, port: int) -> None:
    import uvicorn

    from keepsight.service import create_app

    uvicorn.run(create_app(Path(root)), host="127.0.0.1", port=port, log_level="warning")


def build_dataset(root: Path, catalog: str, annotators: int) -> None:
    ds = Dataset.init(root / "ds", catalog=catalog)
    rng = np.random.default_rng(0)
    (root / "src").mkdir()
    for i in range(annotators + 1):
        Image.fromarray(rng.integers(0, 255, (480, 640), dtype=np.uint8)).save(root / "src" / f"img{i:03d}.png")
    import_path(ds, root / "src", format="image_folder")
    ds.set_labelbook(LabelBook(classes={"scratch": ClassSpec(name="scratch", kinds=["box"])}))
    admin.add_user(ds, "lead", role="manager", password=None)
    for i in range(annotators + 1):  # one more: the annotator measured alone
        admin.add_user(ds, f"a{i:03d}", role="annotator", password=None)
    ds.close()


def _tab(url: str, token: str, path: str, tag: str, saves: int) -> dict[str, Any]:
    latencies: list[float] = []
    conflicts = 0
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as http:
        current = http.get(path).json()
        for n in range(saves):
            mine = {"label": "scratch", "kind": "box", "geometry": [n * 10, 5, n * 10 + 8, 20],
                    "attributes": {"tab": tag, "n": n}}
            while True:
                start = time.perf_counter()
                response = http.put(path, json={"base_revision": current["revision"],
                                                "annotations": current["annotations"] + [mine]})
                latencies.append(time.perf_counter() - start)
                if response.status_code == 200:
                    current = response.json()
                    break
                if response.status_code != 409:
                    raise RuntimeError(f"save failed: {response.status_code} {response.text}")
                conflicts += 1
                current = response.json()
    return {"latencies": latencies, "conflicts": conflicts, "ok": saves}


def _percentiles(values: list[float]) -> dict[str, float]:
    ms = np.asarray(values) * 1000
    return {"p50": round(float(np.percentile(ms, 50)), 1), "p90": round(float(np.percentile(ms, 90)), 1),
            "p99": round(float(np.percentile(ms, 99)), 1), "max": round(float(ms.max()), 1)}


def run(backend: str, catalog: str, *, annotators: int, tabs: int, saves: int, work: Path) -> dict[str, Any]:
    root = work / backend
    root.mkdir()
    build_dataset(root, catalog, annotators)
    ds = Dataset.open(root / "ds")
    tokens = {u["name"]: admin.issue_api_token(ds, u["name"], token_name="bench", days=1)[0]
              for u in admin.list_users(ds)}
    port = free_port()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(str(root / "ds"), port), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{url}/health")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or not server.is_alive():
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)
        lead = {"Authorization": f"Bearer {tokens['lead']}"}
        names = [n for n in tokens if n != "lead"]
        task = httpx.post(f"{url}/tasks", headers=lead, timeout=120, json={
            "name": "load", "query": {"kind": "unannotated"}, "job_size": 1, "assign": "load"}).json()
        jobs = httpx.get(f"{url}/jobs", headers=lead, params={"task_id": task["id"]}).json()
        assert sorted(j["assignee"] for j in jobs) == sorted(names), "every annotator must hold one job"
        paths = {}
        for job in jobs:
            item = httpx.get(f"{url}/jobs/{job['id']}", headers=lead).json()["items"][0]
            paths[job["assignee"]] = f"/jobs/{job['id']}/items/{item['id']}/annotations"
        solo, crowd = sorted(paths)[0], sorted(paths)[1:]
        # Side by side: one annotator alone on an idle server (the service time of a save), then everyone else.
        alone = _tab(url, tokens[solo], paths[solo], f"{solo}/0", tabs * saves)
        work_items = [(tokens[name], paths[name], f"{name}/{t}") for name in crowd for t in range(tabs)]
        start = time.perf_counter()
        with ThreadPoolExecutor(len(work_items)) as pool:
            results = list(pool.map(lambda w: _tab(url, w[0], w[1], w[2], saves), work_items))
        seconds = time.perf_counter() - start
        lost = 0
        for name, path in paths.items():
            final = httpx.get(f"{url}{path}", headers=lead).json()
            marks = {(a["attributes"]["tab"], a["attributes"]["n"]) for a in final["annotations"]}
            expected = ({(f"{name}/0", n) for n in range(tabs * saves)} if name == solo
                        else {(f"{name}/{t}", n) for t in range(tabs) for n in range(saves)})
            lost += len(expected - marks) + abs(final["revision"] - tabs * saves)
    finally:
        server.terminate()
        server.join(30)
        ds.close()
    latencies = [x for r in results for x in r["latencies"]]
    ok = sum(r["ok"] for r in results)
    conflicts = sum(r["conflicts"] for r in results)
    return {"backend": backend, "annotators": annotators, "tabs_per_annotator": tabs, "saves_per_tab": saves,
            "single_client_latency_ms": _percentiles(alone["latencies"]),
            "saves_acknowledged": ok, "conflicts_409": conflicts, "requests": len(latencies), "lost_updates": lost,
            "seconds": round(seconds, 2), "saves_per_second": round(ok / seconds, 1),
            "save_request_latency_ms": _percentiles(latencies),
            "mean_attempts_per_save": round(statistics.mean([len(r["latencies"]) / r["ok"] for r in results]), 2)}


def _pg_database(admin_url: str) -> tuple[str, Any]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(admin_url).set(drivername="postgresql+psycopg")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"keepsight_bench_{uuid.uuid4().hex[:8]}"
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with engine.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        engine.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--tabs", type=int, default=2)
    parser.add_argument("--saves", type=int, default=10, help="saves per tab")
    parser.add_argument("--pg-url", default=os.environ.get("KEEPSIGHT_TEST_PG_URL", ""))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "service_load.json")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows.append(run("sqlite", f"sqlite:///{work / 'catalog.db'}", annotators=args.annotators, tabs=args.tabs,
                        saves=args.saves, work=work))
        print(json.dumps(rows[-1]))
        if args.pg_url:
            catalog, drop = _pg_database(args.pg_url)
            try:
                rows.append(run("postgresql", catalog, annotators=args.annotators, tabs=args.tabs, saves=args.saves,
                                work=work))
            finally:
                drop()
            print(json.dumps(rows[-1]))
    result: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                          "load_average_at_end": [round(x, 1) for x in os.getloadavg()]},
                              "rows": rows}
    if len(rows) == 2:
        result["postgresql_over_sqlite_p50"] = round(rows[1]["save_request_latency_ms"]["p50"]
                                                     / rows[0]["save_request_latency_ms"]["p50"], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
