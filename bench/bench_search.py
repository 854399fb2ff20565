"""Catalog search over 100,000 entries: latency of Chinese queries (target p95 ≤ 50 ms).

Generates a deterministic catalog (Chinese titles, summaries and data items from word lists) straight
into a migrated SQLite database with bulk inserts, builds the index with ``reindex_all``, then times
``search`` the way the /catalog page calls it (public scope, six facets, first page of 20) and the way
harvesters call it (no facets). One pass through HTTP (/catalog and package_search) is recorded too.

    .venv/bin/python -m bench.run bench_search            # 100,000 entries
    .venv/bin/python -m bench.bench_search --entries 20000 --rounds 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import event, insert

from kaifang.auth.models import Organisation
from kaifang.catalog.models import CatalogEntry, DataItem
from kaifang.catalog.search import PAGE_FACETS, SearchQuery, Sort, reindex_all, search, warm_up
from kaifang.catalog.visibility import public_clause
from kaifang.config import Environment, Settings
from kaifang.db import make_engine, make_session_factory
from kaifang.migrate import upgrade_database

SEED = 20261122
PLACES = ["全市", "中心城区", "东湖区", "西山区", "南岸区", "北城区", "高新区", "经开区", "滨江新区", "临港片区"]
# subject, domain, data items
SUBJECTS = [
    ("公交站点", "transport", ["站点名称", "经度", "纬度", "途经线路"]),
    ("公交线路", "transport", ["线路名称", "首班时间", "末班时间", "票价"]),
    ("出租车运营", "transport", ["车牌号", "上客时间", "下客时间", "里程"]),
    ("公共停车场", "transport", ["停车场名称", "泊位数", "收费标准", "地址"]),
    ("道路养护", "transport", ["路段名称", "养护类型", "开工日期", "完工日期"]),
    ("医疗机构", "health", ["机构名称", "机构类别", "床位数", "地址"]),
    ("药品零售企业", "health", ["企业名称", "许可证号", "经营范围", "地址"]),
    ("养老机构", "civil-affairs", ["机构名称", "床位数", "收费标准", "联系电话"]),
    ("社区服务中心", "civil-affairs", ["中心名称", "服务项目", "开放时间", "地址"]),
    ("中小学校", "education", ["学校名称", "办学性质", "学段", "地址"]),
    ("幼儿园", "education", ["园所名称", "班级数", "收费标准", "地址"]),
    ("企业登记", "market", ["企业名称", "统一社会信用代码", "成立日期", "注册资本"]),
    ("个体工商户", "market", ["字号名称", "经营者", "经营范围", "登记机关"]),
    ("食品经营许可", "market", ["经营者名称", "许可证编号", "有效期", "经营项目"]),
    ("行政处罚", "credit", ["案件名称", "处罚决定书文号", "处罚类别", "处罚日期"]),
    ("纳税信用等级", "credit", ["纳税人名称", "评价年度", "信用等级", "主管税务机关"]),
    ("空气质量", "environment", ["监测站点", "PM2.5", "臭氧", "监测时间"]),
    ("河道水质", "environment", ["断面名称", "水质类别", "溶解氧", "采样日期"]),
    ("垃圾分类", "environment", ["小区名称", "投放点数量", "分类准确率", "统计月份"]),
    ("气象观测", "weather", ["观测站", "气温", "降水量", "风速"]),
    ("建设工程许可", "urban", ["项目名称", "建设单位", "许可证号", "建筑面积"]),
    ("保障性住房", "urban", ["项目名称", "套数", "户型", "交付日期"]),
    ("就业招聘", "social-security", ["岗位名称", "招聘人数", "薪资范围", "用人单位"]),
    ("社会保险参保", "social-security", ["险种", "参保人数", "缴费基数", "统计月份"]),
    ("文化场馆", "culture", ["场馆名称", "开放时间", "预约方式", "地址"]),
    ("旅游景区", "culture", ["景区名称", "等级", "门票价格", "地址"]),
    ("农产品价格", "agriculture", ["品种", "批发价", "零售价", "采价日期"]),
    ("消防设施", "safety", ["设施名称", "设施类型", "维保单位", "地址"]),
    ("地名地址", "geo", ["标准地名", "行政区划", "经度", "纬度"]),
    ("政府采购", "finance", ["项目名称", "采购单位", "中标金额", "公告日期"]),
]
SUFFIXES = ["信息", "数据", "名录", "统计", "明细", "清单", "目录", "汇总"]
TEMPLATES = ["{place}{subject}的{items}等信息，按{freq}更新。", "本数据集收录{place}范围内{subject}的{items}。",
             "提供{place}{subject}相关数据，包括{items}，可用于便民查询与分析。"]
FREQUENCIES = ["daily", "weekly", "monthly", "quarterly", "yearly", "irregular", "real_time", "half_yearly"]
FREQ_WORDS = {"daily": "日", "weekly": "周", "monthly": "月", "quarterly": "季度", "yearly": "年", "irregular": "需",
              "real_time": "实时", "half_yearly": "半年"}
FORMAT_SETS = [["CSV"], ["CSV", "JSON"], ["XLSX"], ["CSV", "XLSX"], ["JSON", "API"], ["GeoJSON", "CSV"], ["PDF"]]
QUERIES = ["公交 站点", "公交站点", "医疗机构", "空气质量", "企业登记", "中小学校 名录", "停车场",
           "养老机构", "河道 水质", "气象观测", "垃圾分类", "行政处罚", "食品经营许可", "旅游景区",
           "农产品价格", "保障性住房", "就业招聘", "东湖区 医疗", "高新区 企业", "幼儿园 收费标准",
           "消防设施", "地名地址", "政府采购 中标", "出租车", "道路养护", "社区服务中心", "药品零售",
           "纳税信用", "文化场馆 开放时间", "社会保险"]


def _orgs(rng: random.Random) -> list[dict[str, object]]:
    bureaus = ["交通运输局", "卫生健康委员会", "民政局", "教育局", "市场监督管理局", "生态环境局",
               "气象局", "住房和城乡建设局", "人力资源和社会保障局", "文化和旅游局", "农业农村局",
               "应急管理局", "规划和自然资源局", "财政局", "税务局"]
    rows = [{"id": uuid.uuid4().hex, "slug": f"org-{i:02d}", "name": f"{place}{bureau}", "name_en": "",
             "kind": "municipal_department", "description": "", "contact_email": "", "contact_phone": "",
             "is_active": True, "created_at": dt.datetime.now(dt.UTC), "updated_at": dt.datetime.now(dt.UTC)}
            for i, (place, bureau) in enumerate((p, b) for p in PLACES[:4] for b in bureaus)]
    rng.shuffle(rows)
    return rows


def _entry(rng: random.Random, n: int, orgs: list[dict[str, object]], now: dt.datetime) -> tuple[dict, list[dict]]:
    subject, domain, items = rng.choice(SUBJECTS)
    place, freq = rng.choice(PLACES), rng.choice(FREQUENCIES)
    title = f"{place}{subject}{rng.choice(SUFFIXES)}" + (f"（{2015 + n % 10}年）" if n % 3 == 0 else "")
    summary = rng.choice(TEMPLATES).format(place=place, subject=subject, items="、".join(items[:3]),
                                           freq=FREQ_WORDS[freq])
    roll = rng.random()
    open_type = "unconditional" if roll < 0.7 else "conditional" if roll < 0.9 else "non_open"
    published = rng.random() < 0.9
    entry_id = uuid.uuid4().hex
    row = {
        "id": entry_id, "name": f"ds-{n:06d}", "title": title, "title_en": "", "summary": summary,
        "domain_code": domain, "provider_id": rng.choice(orgs)["id"], "submitted_by_org_id": None, "origin": "own",
        "open_type": open_type, "open_conditions": "", "legal_basis": "", "security_grade": "public",
        "access_modes": ["download", "api"] if rng.random() < 0.5 else ["download"], "share_type": "unconditional",
        "share_conditions": "", "licence": "", "update_frequency": freq, "formats": rng.choice(FORMAT_SETS),
        "keywords": [subject[:2], place], "temporal_start": None, "temporal_end": None, "spatial_coverage": place,
        "annual_focus": False, "status": "published" if published else "draft", "review_case_id": None,
        "first_published_at": None, "withdrawn_at": None, "use_count": int(rng.paretovariate(1.5) * 10),
        "published_at": now - dt.timedelta(minutes=rng.randrange(3 * 365 * 24 * 60)) if published else None,
        "extras": {}, "created_at": now, "updated_at": now,
    }
    data_items = [{"id": uuid.uuid4().hex, "entry_id": entry_id, "position": i, "name": f"f{i}", "title": t,
                   "type": "string", "description": "", "sensitivity": "none"} for i, t in enumerate(items)]
    return row, data_items


def build(url: str, entries: int) -> dict[str, float]:
    upgrade_database(url)
    engine = make_engine(url)
    rng, now = random.Random(SEED), dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    with make_session_factory(engine)() as session:
        orgs = _orgs(rng)
        session.execute(insert(Organisation), orgs)
        for start in range(0, entries, 5000):
            batch = [_entry(rng, n, orgs, now) for n in range(start, min(entries, start + 5000))]
            rows, items = zip(*batch, strict=True)
            session.execute(insert(CatalogEntry), list(rows))
            session.execute(insert(DataItem), [i for group in items for i in group])
        session.commit()
        loaded = time.perf_counter()
        warm_up()
        indexed = reindex_all(session)
        session.commit()
    engine.dispose()
    assert indexed == entries
    return {"load_s": loaded - started, "index_s": time.perf_counter() - loaded}


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return f"p50 {statistics.median(ordered):6.1f}  p95 {p95:6.1f}  max {ordered[-1]:6.1f}"


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


# SQLite settings worth comparing with the defaults of kaifang.db (see bench/RESULTS.md).
MMAP = ("PRAGMA mmap_size=268435456",)


def measure(url: str, rounds: int, pragmas: tuple[str, ...] = ()) -> dict[str, str]:
    """Wall-clock and CPU milliseconds per search (CPU time shows the work when other processes
    compete for the two cores)."""
    engine = make_engine(url)
    if pragmas:
        event.listen(engine, "connect", lambda conn, _rec: [conn.execute(p) for p in pragmas])
    scope = public_clause()
    cases: dict[str, Callable[[str], SearchQuery]] = {
        "search page (6 facets, 20 rows)": lambda q: SearchQuery(q, facet_fields=PAGE_FACETS, limit=20),
        "search, no facets (API-like)": lambda q: SearchQuery(q, limit=20),
        "search, newest first + facets": lambda q: SearchQuery(q, sort=Sort.NEWEST, facet_fields=PAGE_FACETS),
    }
    out: dict[str, str] = {}
    with make_session_factory(engine)() as session:
        for q in QUERIES:  # warm the page cache and the tokenizer
            search(session, scope, SearchQuery(q, facet_fields=PAGE_FACETS))
        for label, make in cases.items():
            runs = [_timed(lambda q=q, make=make: search(session, scope, make(q)))
                    for _round in range(rounds) for q in QUERIES]
            out[label] = (f"wall {_percentiles([w for w, _c in runs])} | cpu {_percentiles([c for _w, c in runs])}"
                          f"  (n={len(runs)})")
        runs = [_timed(lambda: search(session, scope, SearchQuery("", facet_fields=PAGE_FACETS)))
                for _round in range(rounds * 2)]
        out["browse all, no words (6 facets)"] = (f"wall {_percentiles([w for w, _c in runs])} | "
                                                  f"cpu {_percentiles([c for _w, c in runs])}  (n={len(runs)})")
        hits = [search(session, scope, SearchQuery(q)).total for q in QUERIES]
        public = search(session, scope, SearchQuery("")).total
        out["matches per query"] = f"median {statistics.median(hits):.0f}, max {max(hits)} of {public} public entries"
    engine.dispose()
    return out


def measure_http(url: str, tmp: Path, rounds: int = 10) -> dict[str, str]:
    import httpx
    import uvicorn

    from kaifang.app import create_app

    settings = Settings(environment=Environment.TEST, database_url=url, data_dir=tmp / "data", log_level="WARNING",
                        log_json=False, secret_key="bench-secret-key-with-enough-length-0123456789")
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_config=None,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    out: dict[str, str] = {}
    paths = {"GET /catalog?q=…": "/catalog", "GET /api/3/action/package_search?q=…": "/api/3/action/package_search"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        for label, path in paths.items():
            http.get(path, params={"q": QUERIES[0]})
            samples = []
            for q in QUERIES[:rounds]:
                t0 = time.perf_counter()
                assert http.get(path, params={"q": q}).status_code == 200
                samples.append((time.perf_counter() - t0) * 1000)
            out[label] = f"wall {_percentiles(samples)}  (n={len(samples)})"
    server.should_exit = True
    thread.join(timeout=10)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_search")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--db", type=Path, help="keep the database here (default: a temporary directory)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.db"
        url = f"sqlite:///{path}"
        if not path.exists():
            built = build(url, args.entries)
            print(f"built {args.entries} entries: load {built['load_s']:.1f} s, index {built['index_s']:.1f} s")
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        print("-- kaifang.db SQLite settings (ms)")
        for label, figures in {**measure(url, args.rounds), **measure_http(url, Path(tmp))}.items():
            print(f"{label:38s} {figures}")
        print(f"-- with {'; '.join(MMAP)} (ms)")
        for label, figures in measure(url, args.rounds, MMAP).items():
            print(f"{label:38s} {figures}")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
