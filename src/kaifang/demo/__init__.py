"""A fictional city (示范市) for demonstrations: providers in a hierarchy and one account per role."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kaifang.audit.actions import record
from kaifang.auth.actions import create_user_direct, grant_role_system
from kaifang.auth.models import (
    AccountType,
    IdentityVerification,
    Membership,
    MembershipRole,
    Organisation,
    OrgKind,
    Role,
    User,
    VerificationStatus,
)
from kaifang.auth.queries import principal_for
from kaifang.auth.secrets import keyed_digest
from kaifang.catalog.actions import do_create_entry
from kaifang.catalog.forms import DataItemInput, EntryInput
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.review import do_review_step, do_submit_entry
from kaifang.config import Settings
from kaifang.db import utcnow
from kaifang.identifiers import mask_keep, mask_resident_id, org_code_check_char, uscc_check_char

DEMO_PASSWORD = "Kaifang-demo-2026"  # noqa: S105 - printed for the demo on purpose


def demo_uscc(serial: int, authority: str = "1", kind: str = "1") -> str:
    """A well-formed credit code for a fictional body (region 990100 is not a real city)."""
    org8 = f"K{serial:07d}"
    first17 = f"{authority}{kind}990100{org8}{org_code_check_char(org8)}"
    return first17 + uscc_check_char(first17)


# slug, name, English name, kind, parent slug
DEPT, INST = OrgKind.MUNICIPAL_DEPARTMENT, OrgKind.PUBLIC_INSTITUTION
ORGANISATIONS: list[tuple[str, str, str, OrgKind, str | None]] = [
    ("big-data-bureau", "示范市大数据管理局", "Demo City Big Data Bureau", DEPT, None),
    ("transport", "示范市交通运输局", "Transport Bureau", DEPT, None),
    ("transit-centre", "示范市公共交通服务中心", "Public Transit Service Centre", INST, "transport"),
    ("market-regulation", "示范市市场监督管理局", "Market Regulation Administration", DEPT, None),
    ("ecology", "示范市生态环境局", "Ecology and Environment Bureau", DEPT, None),
    ("health", "示范市卫生健康委员会", "Health Commission", DEPT, None),
    ("cdc", "示范市疾病预防控制中心", "Centre for Disease Control", INST, "health"),
    ("education", "示范市教育局", "Education Bureau", DEPT, None),
    ("donghu", "示范市东湖区人民政府", "Donghu District Government", OrgKind.DISTRICT_GOVERNMENT, None),
    ("donghu-civil", "东湖区民政局", "Donghu Civil Affairs Bureau", DEPT, "donghu"),
    ("donghu-urban", "东湖区城市管理局", "Donghu Urban Management Bureau", DEPT, "donghu"),
    ("donghu-street", "东湖区湖滨街道办事处", "Hubin Subdistrict Office", DEPT, "donghu"),
    ("water", "示范市自来水有限公司", "Demo City Water Supply Co.", OrgKind.PUBLIC_UTILITY, None),
    ("power", "国网示范市供电公司", "Demo City Power Supply Co.", OrgKind.PUBLIC_UTILITY, None),
    ("smart-mobility", "示范智慧出行科技有限公司", "Smart Mobility Technology Co.", OrgKind.ENTERPRISE, None),
]


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    account_type: AccountType
    role: Role | None = None
    org: str | None = None
    membership: MembershipRole | None = None
    entity_name: str = ""

    @property
    def description(self) -> str:
        if self.role:
            return self.role.value
        if self.membership:
            return f"{self.membership.value} @ {self.org}"
        return self.account_type.value


ACCOUNTS = [
    DemoAccount("admin", "平台管理员", AccountType.NATURAL_PERSON, role=Role.PLATFORM_ADMIN),
    DemoAccount("reviewer", "审核员 李审", AccountType.NATURAL_PERSON, role=Role.AUTHORITY_REVIEWER),
    DemoAccount("auditor", "监督员 王督", AccountType.NATURAL_PERSON, role=Role.AUDITOR),
    DemoAccount("expert", "专家 赵教授", AccountType.NATURAL_PERSON, role=Role.EXPERT),
    DemoAccount("staff", "交通局 张数据", AccountType.NATURAL_PERSON, org="transport",
                membership=MembershipRole.STAFF),
    DemoAccount("head", "交通局 陈局长", AccountType.NATURAL_PERSON, org="transport",
                membership=MembershipRole.HEAD),
    DemoAccount("market", "市场监管局 吴数据", AccountType.NATURAL_PERSON, org="market-regulation",
                membership=MembershipRole.STAFF),
    DemoAccount("citizen", "市民 刘用", AccountType.NATURAL_PERSON),
    DemoAccount("company", "示范数据科技有限公司", AccountType.LEGAL_PERSON,
                entity_name="示范数据科技有限公司"),
]

# Valid test vectors of GB 11643 / GB 32100 (from the public standard examples).
DEMO_IDENTITY = {"citizen": ("刘用", "11010519491231002X"), "company": ("周法人", "91110000600037341L")}


def _seed_organisations(session: Session) -> dict[str, Organisation]:
    existing = {o.slug: o for o in session.scalars(select(Organisation))}
    for serial, (slug, name, name_en, kind, parent) in enumerate(ORGANISATIONS, start=1):
        if slug in existing:
            continue
        authority = "9" if kind in (OrgKind.PUBLIC_UTILITY, OrgKind.ENTERPRISE) else "1"
        org = Organisation(slug=slug, name=name, name_en=name_en, kind=kind,
                           parent=existing.get(parent) if parent else None,
                           uscc=demo_uscc(serial, authority), description="",
                           contact_email=f"data@{slug}.demo.example")
        session.add(org)
        session.flush()
        record(session, None, "organisation.create", target_type="organisation", target_id=org.id,
               data={"slug": slug, "kind": kind, "seed": "demo"})
        existing[slug] = org
    return existing


def _verify(session: Session, settings: Settings, user: User, name: str, number: str) -> None:
    kind = "resident_id" if user.account_type == AccountType.NATURAL_PERSON else "uscc"
    masked = mask_resident_id(number) if kind == "resident_id" else mask_keep(number, 4, 4)
    now = utcnow()
    row = IdentityVerification(user_id=user.id, document_kind=kind, real_name=name,
                               number_masked=masked,
                               number_digest=keyed_digest(settings.secret_key, "identity", number),
                               status=VerificationStatus.VERIFIED, verifier="demo",
                               submitted_at=now - dt.timedelta(days=1), decided_at=now)
    session.add(row)
    session.flush()
    record(session, None, "identity.verify", target_type="identity_verification", target_id=row.id,
           data={"user_id": user.id, "seed": "demo"})


def seed_demo(session: Session, settings: Settings) -> list[DemoAccount]:
    """Idempotent: creates what is missing, leaves the rest."""
    orgs = _seed_organisations(session)
    for account in ACCOUNTS:
        if session.scalars(select(User).where(User.username == account.username)).first():
            continue
        user = create_user_direct(
            session, settings, username=account.username, email=f"{account.username}@demo.example",
            display_name=account.display_name, account_type=account.account_type,
            password=DEMO_PASSWORD, entity_name=account.entity_name)
        if account.role:
            grant_role_system(session, user, account.role)
        if account.org and account.membership:
            session.add(Membership(user=user, organisation_id=orgs[account.org].id,
                                   role=account.membership))
            session.flush()
            record(session, None, "membership.add", target_type="organisation",
                   target_id=orgs[account.org].id, data={"user_id": user.id, "role": account.membership})
        if account.role == Role.AUTHORITY_REVIEWER:
            session.add(Membership(user=user, organisation_id=orgs["big-data-bureau"].id,
                                   role=MembershipRole.STAFF))
        name_number = DEMO_IDENTITY.get(account.username)
        _verify(session, settings, user, *(name_number or (account.display_name, "11010519491231002X")))
    _seed_catalog(session, settings, orgs)
    return ACCOUNTS


def _item(name: str, title: str, type_: str = "string", sensitivity: str = "none") -> DataItemInput:
    return DataItemInput(name, type_, title, sensitivity=sensitivity)


_PII = "sensitive_personal"
# short name, provider, title, open type, frequency, extra fields, data items, how far it goes
DEMO_ENTRIES: list[tuple[str, str, str, str, str, dict[str, object], list[DataItemInput], str]] = [
    ("bus-stops", "transit-centre", "公交站点位置信息", "unconditional", "monthly",
     {"summary": "全市公交站点的名称、所属线路和经纬度坐标，每月随线网调整更新。", "keywords": ["公交", "站点", "出行"],
      "annual_focus": True, "spatial_coverage": "示范市全域"},
     [_item("stop_id", "站点编号"), _item("stop_name", "站点名称"), _item("lines", "途经线路"),
      _item("district", "所在区"), _item("shelter", "候车亭", "boolean"),
      _item("lng", "经度", "decimal"), _item("lat", "纬度", "decimal")], "published"),
    ("taxi-trips", "transport", "巡游出租车运营轨迹（脱敏）", "conditional", "daily",
     {"summary": "巡游出租车每单行程的上下车时间和网格化位置，车牌号已做假名化处理。", "keywords": ["出租车", "轨迹"],
      "open_conditions": "面向经实名认证的科研机构和企业，签订数据利用协议后用于交通规划研究，不得重新识别车辆。",
      "legal_basis": "《中华人民共和国数据安全法》第二十一条；《示范市公共数据开放管理办法》第十一条",
      "security_grade": "sensitive", "access_modes": ["api", "algorithm"]},
     [_item("trip_id", "行程编号"), _item("plate_pseudonym", "车牌假名", sensitivity="personal"),
      _item("pickup_time", "上车时间", "datetime"), _item("pickup_grid", "上车网格"),
      _item("district", "上车所在区"), _item("distance_km", "行驶里程（公里）", "decimal"),
      _item("fare", "金额（元）", "decimal")], "published"),
    ("driver-points", "transport", "机动车驾驶人违法记分记录", "non_open", "daily",
     {"summary": "驾驶人交通违法记分明细。", "legal_basis": "《中华人民共和国个人信息保护法》第十三条、第二十八条",
      "security_grade": "important", "access_modes": [], "share_type": "conditional",
      "share_conditions": "仅向依法履职需要的政府部门共享"},
     [_item("licence_no", "驾驶证号", sensitivity=_PII), _item("points", "记分分值", "integer")], "published"),
    ("enterprise-register", "market-regulation", "市场主体登记信息", "unconditional", "monthly",
     {"summary": "全市企业的统一社会信用代码、名称、所在区、行业、登记状态、注册资本和成立日期，每月更新。",
      "keywords": ["企业", "市场主体", "登记"], "domain_code": "market", "formats": ["CSV", "XLSX", "JSON"],
      "annual_focus": True, "spatial_coverage": "示范市全域"},
     [_item("uscc", "统一社会信用代码"), _item("name", "企业名称"), _item("district", "所在区"),
      _item("industry", "行业"), _item("status", "登记状态"), _item("capital", "注册资本（万元）", "decimal"),
      _item("founded", "成立日期", "date")], "published"),
    ("parking-lots", "transport", "公共停车场泊位信息", "unconditional", "real_time",
     {"summary": "公共停车场位置、总泊位数和实时空余泊位。", "keywords": ["停车"]},
     [_item("lot_name", "停车场名称"), _item("free_spaces", "空余泊位", "integer")], "draft"),
    ("road-works", "transport", "城市道路施工占道信息", "unconditional", "weekly",
     {"summary": "经审批的道路施工占道位置、期限和绕行提示。", "keywords": ["道路", "施工"]},
     [_item("permit_no", "许可编号"), _item("road", "道路名称"), _item("start_date", "开始日期", "date")], "submitted"),
]


def _seed_catalog(session: Session, settings: Settings, orgs: dict[str, Organisation]) -> None:
    """A handful of entries in every state, made through the real actions (audited, reviewed)."""
    reviewer = session.scalars(select(User).where(User.username == "reviewer")).one()
    authority = principal_for(session, reviewer)
    # Each provider's entries are made by its own staff (the transport bureau's also act for the
    # transit centre below it).
    makers = {slug: principal_for(session, session.scalars(select(User).where(User.username == user)).one())
              for slug, user in (("transport", "staff"), ("transit-centre", "staff"), ("market-regulation", "market"))}
    for name, org, title, open_type, frequency, extra, items, goal in DEMO_ENTRIES:
        if session.scalars(select(CatalogEntry).where(CatalogEntry.name == name)).first():
            continue
        fields = {"access_modes": ["download", "api"], "formats": ["CSV", "JSON"], **extra}
        domain = str(fields.pop("domain_code", "transport"))
        data = EntryInput(name=name, title=title, summary=str(fields.pop("summary")), domain_code=domain,
                          open_type=open_type, update_frequency=frequency, items=items, **fields)  # type: ignore[arg-type]
        provider_side = makers[org]
        entry = do_create_entry(session, provider_side, orgs[org], data)
        if goal == "draft":
            continue
        do_submit_entry(session, settings, provider_side, entry)
        if goal == "published":
            do_review_step(session, settings, authority, entry, "approve")
            do_review_step(session, settings, authority, entry, "publish")
