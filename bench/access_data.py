"""The data of ``bench_access``: a deterministic enterprise register (fixed seed), loaded once into
the platform through the real ingest pipeline and into SQLite with sqlite-utils for Datasette.
Everything is kept in bench/data/ and reused by the next run (delete a folder to rebuild it)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
PEERS_VENV = DATA / "peers-venv"
SEED = 20261122
ENTRY = "register"
SECRET = "bench-access-secret-key-0123456789-0123456789"
HEADER = ["统一社会信用代码", "企业名称", "法定代表人", "所在区", "行业", "登记状态", "注册资本", "成立日期", "地址",
          "经营范围"]
TYPES = {"注册资本": "decimal", "成立日期": "date"}
# 16 districts of Chongqing with their division codes (the 3rd–8th characters of a credit code)
# and a weight: central districts register more firms.
DISTRICTS = [("渝中区", "500103", 9), ("大渡口区", "500104", 3), ("江北区", "500105", 9), ("沙坪坝区", "500106", 8),
             ("九龙坡区", "500107", 10), ("南岸区", "500108", 8), ("北碚区", "500109", 5), ("綦江区", "500110", 3),
             ("大足区", "500111", 3), ("渝北区", "500112", 12), ("巴南区", "500113", 6), ("黔江区", "500114", 2),
             ("长寿区", "500115", 3), ("江津区", "500116", 5), ("合川区", "500117", 4), ("永川区", "500118", 4)]
# Sections of GB/T 4754 with a weight and words for names and business scopes.
INDUSTRIES = [
    ("批发和零售业", 24, "商贸", ["日用百货销售", "五金产品零售", "食品销售", "服装服饰批发"]),
    ("租赁和商务服务业", 12, "企业管理", ["企业管理咨询", "市场营销策划", "会议及展览服务", "广告设计"]),
    ("科学研究和技术服务业", 8, "科技", ["技术服务", "技术开发", "技术咨询", "工程技术研究"]),
    ("信息传输、软件和信息技术服务业", 8, "信息技术", ["软件开发", "信息系统集成", "数据处理服务", "网络技术服务"]),
    ("制造业", 9, "实业", ["机械零部件加工", "塑料制品制造", "汽车零配件制造", "金属制品加工"]),
    ("建筑业", 7, "建设工程", ["建设工程施工", "建筑装饰工程", "市政设施管理", "园林绿化工程"]),
    ("住宿和餐饮业", 6, "餐饮管理", ["餐饮服务", "小餐饮", "住宿服务", "食品经营"]),
    ("居民服务、修理和其他服务业", 5, "家政服务", ["家政服务", "洗染服务", "家用电器修理", "美容服务"]),
    ("交通运输、仓储和邮政业", 4, "物流", ["道路货物运输", "仓储服务", "装卸搬运", "国内货物运输代理"]),
    ("房地产业", 3, "置业", ["房地产开发经营", "物业管理", "房地产经纪", "住房租赁"]),
    ("文化、体育和娱乐业", 3, "文化传媒", ["文艺创作", "体育赛事策划", "组织文化艺术交流活动", "电影放映"]),
    ("农、林、牧、渔业", 3, "农业发展", ["蔬菜种植", "水果种植", "牲畜饲养", "农业技术推广"]),
    ("金融业", 1, "投资", ["以自有资金从事投资活动", "融资咨询服务", "财务咨询", "保险代理"]),
    ("教育", 2, "教育咨询", ["教育咨询服务", "业余文化艺术培训", "体育培训", "职业技能培训"]),
    ("卫生和社会工作", 1, "健康管理", ["健康咨询服务", "养老服务", "医疗器械销售", "护理机构服务"]),
    ("电力、热力、燃气及水生产和供应业", 1, "能源", ["发电业务", "燃气经营", "供热服务", "太阳能发电技术服务"]),
    ("水利、环境和公共设施管理业", 1, "环保", ["环境保护监测", "污水处理", "城市绿化管理", "水污染治理"]),
    ("采矿业", 1, "矿业", ["建筑用石开采", "矿产资源勘查", "砂石开采", "非金属矿采选"]),
    ("公共管理、社会保障和社会组织", 1, "服务", ["社会经济咨询服务", "社区服务", "档案整理服务", "公共事务管理"]),
    ("国际组织", 1, "国际", ["国际交流服务", "涉外咨询", "翻译服务", "外事服务"]),
]
STATUSES = [("存续", 70), ("在业", 12), ("注销", 10), ("吊销", 6), ("迁出", 2)]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈"
BRAND = "鑫盛华泰宏达恒通博远瑞丰嘉信永和天成佳美金汇龙腾富源兴隆安康德润明辉"
ROADS = ["解放碑步行街", "民族路", "建新北路", "观音桥步行街", "杨家坪正街", "南坪西路", "天生路", "金开大道",
         "龙头寺路", "红旗河沟", "石桥铺", "沙正街", "李家沱正街", "鱼洞新街", "西城大道", "人民大道"]
CAPITALS = ["10", "30", "50", "100", "200", "300", "500", "1000", "2000", "5000"]


def _weighted(pairs: list[tuple[Any, int]]) -> tuple[list[Any], list[int]]:
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _credit_code(division: str, n: int) -> str:
    from kaifang.identifiers import org_code_check_char, uscc_check_char

    body = f"{(n * 7919 + 1_234_567) % 10**8:08d}"  # distinct for every row below 10^8
    first17 = "91" + division + body + org_code_check_char(body)
    return first17 + uscc_check_char(first17)


def _row(rng: random.Random, n: int, district: tuple[str, str, int], industry: tuple[str, int, str, list[str]],
         status: str) -> list[str]:
    name, division, _weight = district
    sector, _w, word, scopes = industry
    brand = rng.choice(BRAND) + rng.choice(BRAND)
    firm = f"重庆{brand}{word}有限公司" if rng.random() < 0.8 else f"重庆市{name[:-1]}{brand}{word}有限责任公司"
    person = rng.choice(SURNAMES) + "*" * rng.choice((1, 2, 2))
    capital = rng.choice(CAPITALS) if rng.random() < 0.6 else f"{10 ** rng.uniform(0, 5):.2f}"
    year = 1990 + int(35.99 * rng.random() ** 0.6)
    founded = dt.date(year, rng.randint(1, 12), rng.randint(1, 28)).isoformat()
    address = f"重庆市{name}{rng.choice(ROADS)}{rng.randint(1, 400)}号"
    scope = "；".join(rng.sample(scopes, rng.randint(1, 2)))
    return [_credit_code(division, n), firm, person, name, sector, status, capital, founded, address, scope]


def generate(rows: int) -> Path:
    """The register as CSV (about 190 bytes a row), made once."""
    path = DATA / f"register-{rows}.csv"
    if path.exists():
        return path
    DATA.mkdir(exist_ok=True)
    rng = random.Random(SEED)
    districts, district_w = _weighted([(d, d[2]) for d in DISTRICTS])
    industries, industry_w = _weighted([(i, i[1]) for i in INDUSTRIES])
    statuses, status_w = _weighted(STATUSES)
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for start in range(0, rows, 10_000):
            n = min(10_000, rows - start)
            picks = zip(rng.choices(districts, district_w, k=n), rng.choices(industries, industry_w, k=n),
                        rng.choices(statuses, status_w, k=n), strict=True)
            writer.writerows(_row(rng, start + i, d, ind, s) for i, (d, ind, s) in enumerate(picks))
    partial.rename(path)
    return path


# ---- our platform -------------------------------------------------------------------------------

def platform_env(rows: int) -> dict[str, str]:
    """The environment of a ``kaifang serve`` reading the bench database (limits raised so that
    they never throttle the bench; everything else as in production)."""
    work = DATA / f"platform-{rows}"
    return {"KAIFANG_ENVIRONMENT": "production", "KAIFANG_SECRET_KEY": SECRET,
            "KAIFANG_DATABASE_URL": f"sqlite:///{work / 'kaifang.db'}", "KAIFANG_DATA_DIR": str(work / "data"),
            "KAIFANG_API_RATE_PER_MINUTE": "100000000", "KAIFANG_API_DAILY_QUOTA": "1000000000",
            "KAIFANG_API_ANONYMOUS_RATE_PER_MINUTE": "100000000",
            "KAIFANG_API_ANONYMOUS_DAILY_QUOTA": "1000000000", "KAIFANG_MAX_UPLOAD_BYTES": str(1 << 40)}


def load_platform(csv_path: Path, rows: int) -> float | None:
    """A migrated SQLite database with one published, unconditional entry whose data items are
    typed, and the CSV ingested as its published version (``kaifang ingest`` as the CLI runs it).
    Returns the ingest's seconds, or None when the folder was already there."""
    from kaifang.config import Settings

    env = platform_env(rows)
    work = Path(env["KAIFANG_DATA_DIR"]).parent
    if (work / "ready").exists():
        return None
    work.mkdir(parents=True, exist_ok=True)
    settings = Settings.model_validate({k.removeprefix("KAIFANG_").lower(): v for k, v in env.items()})
    _entry(settings)
    from kaifang.datasets.command import ingest_cli

    plan = work / "plan.json"  # 法定代表人 is masked at the source already: keep every column
    plan.write_text(json.dumps({"columns": {}}), encoding="utf-8")
    started = time.perf_counter()
    outcome = ingest_cli(settings, csv_path, ENTRY, plan=str(plan), publish=True)
    seconds = time.perf_counter() - started
    if outcome.error is not None or outcome.version is None:
        raise RuntimeError(f"ingest failed: {outcome}")
    (work / "ready").write_text(f"{seconds:.1f}\n")
    return seconds


def _entry(settings: Any) -> None:
    from kaifang.auth.models import Organisation
    from kaifang.catalog.models import CatalogEntry, DataItem
    from kaifang.db import make_engine, make_session_factory, unit_of_work, utcnow
    from kaifang.migrate import upgrade_database

    upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        org = Organisation(slug="market", name="重庆市市场监督管理局", kind="municipal_department")
        session.add(org)
        session.flush()
        entry = CatalogEntry(name=ENTRY, title="市场主体登记信息", summary="全市企业登记信息，按月更新。",
                             provider_id=org.id, open_type="unconditional", update_frequency="monthly",
                             access_modes=["download", "api"], formats=["CSV", "JSON"], status="published",
                             published_at=utcnow(), first_published_at=utcnow())
        session.add(entry)
        session.flush()
        session.add_all(DataItem(entry_id=entry.id, position=i, name=h, title=h, type=TYPES.get(h, "string"))
                        for i, h in enumerate(HEADER))
    engine.dispose()


# ---- Datasette's database -----------------------------------------------------------------------

def peer_tool(name: str) -> Path:
    """A tool of the peers' own virtualenv (Datasette and sqlite-utils are not dependencies of the
    project), created with pip on first use."""
    if not (PEERS_VENV / "bin" / "datasette").exists():
        print(f"creating {PEERS_VENV} with datasette and sqlite-utils (pip, first run only)…", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
        subprocess.run([str(PEERS_VENV / "bin" / "pip"), "install", "-q", "datasette", "sqlite-utils"], check=True)
    return PEERS_VENV / "bin" / name


def datasette_db(rows: int) -> Path:
    return DATA / f"datasette-{rows}" / f"{ENTRY}.db"


def load_datasette(csv_path: Path, rows: int) -> float | None:
    """``sqlite-utils insert … --csv`` then ``transform --type`` of the numeric column, as
    Datasette's documentation loads a CSV. Returns the seconds, or None if already loaded."""
    db = datasette_db(rows)
    if db.exists():
        return None
    db.parent.mkdir(parents=True, exist_ok=True)
    partial = db.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    tool = str(peer_tool("sqlite-utils"))
    started = time.perf_counter()
    subprocess.run([tool, "insert", str(partial), ENTRY, str(csv_path), "--csv"], check=True)
    # Dates stay ISO text (SQLite has no date type; text compares in date order).
    subprocess.run([tool, "transform", str(partial), ENTRY, "--type", "注册资本", "float"], check=True)
    seconds = time.perf_counter() - started
    partial.rename(db)
    return seconds
