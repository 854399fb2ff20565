"""A labelled set of columns for measuring sensitive-data detection, generated with a fixed seed.

Each column has a header, values and the kind a person would label it with (None for decoys).
Valid identifiers are built with the check algorithms of ``kaifang.identifiers``; a few values in
each column are replaced by the junk real files contain ("无", "不详", typos).
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass

from kaifang.identifiers import (
    USCC_ALPHABET,
    org_code_check_char,
    resident_id_check_char,
    uscc_check_char,
)
from kaifang.ingest.kinds import Kind

SEED = 20240601
ROWS = 300
REGIONS = ("110105", "310115", "500103", "440305", "360426", "320582", "510104", "650102",
           "330106", "420111", "130503", "370202", "610113", "210102", "450103")
MOBILE_PREFIXES = ("130", "135", "138", "139", "150", "151", "158", "166", "177", "180", "186",
                   "188", "191", "199", "147", "173")
AREA_CODES = ("010", "021", "022", "023", "0755", "0571", "028", "0731", "027", "025")
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国志红"
CITIES = (("广东省", "深圳市", "南山区"), ("", "北京市", "海淀区"), ("浙江省", "杭州市", "西湖区"),
          ("", "重庆市", "渝中区"), ("江苏省", "苏州市", "姑苏区"), ("四川省", "成都市", "锦江区"))
ROADS = ("科技园路", "中关村大街", "文三路", "解放碑步行街", "人民路", "天府大道")
JUNK = ("无", "不详", "-", "待补充", "N/A")


@dataclass(frozen=True)
class Labelled:
    header: str
    values: list[str]
    kind: Kind | None


def _resident_id(rng: random.Random) -> str:
    body = (rng.choice(REGIONS) + f"{rng.randint(1940, 2010)}{rng.randint(1, 12):02d}"
            f"{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}")
    return body + resident_id_check_char(body)


def _resident_id_15(rng: random.Random) -> str:
    return (rng.choice(REGIONS) + f"{rng.randint(40, 89)}{rng.randint(1, 12):02d}"
            f"{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}")


def _org_body(rng: random.Random) -> str:
    return "".join(rng.choice(string.digits) for _ in range(8))


def _uscc(rng: random.Random) -> str:
    body = _org_body(rng)
    org = body + org_code_check_char(body)
    first17 = (rng.choice("159") + rng.choice("123") + rng.choice(REGIONS) + org[:8] + org[8])[:17]
    first17 = "".join(c if c in USCC_ALPHABET else "0" for c in first17)
    return first17 + uscc_check_char(first17)


def _org_code(rng: random.Random) -> str:
    body = "".join(rng.choice(string.digits + "ABCDEFGH") for _ in range(8))
    return body + ("-" if rng.random() < 0.7 else "") + org_code_check_char(body)


def _mobile(rng: random.Random) -> str:
    number = rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
    style = rng.random()
    if style < 0.1:
        return "+86 " + number
    if style < 0.2:
        return f"{number[:3]}-{number[3:7]}-{number[7:]}"
    return number


def _landline(rng: random.Random) -> str:
    area = rng.choice(AREA_CODES)
    local = str(rng.randint(2, 9)) + "".join(rng.choice(string.digits) for _ in range(7))
    style = rng.random()
    if style < 0.2:
        return f"({area}){local}"
    if style < 0.3:
        return f"{area}-{local}-{rng.randint(1, 999)}"
    return f"{area}-{local}"


def _luhn_complete(partial: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return partial + str((10 - total % 10) % 10)


def _bank_card(rng: random.Random) -> str:
    length = rng.choice((16, 19))
    partial = "62" + "".join(rng.choice(string.digits) for _ in range(length - 3))
    return _luhn_complete(partial)


def _account(rng: random.Random) -> str:
    """Bank account numbers: 19 digits, most failing Luhn."""
    return "6" + "".join(rng.choice(string.digits) for _ in range(18))


def _plate(rng: random.Random) -> str:
    prov, letter = rng.choice(PROVINCES), rng.choice(PLATE_LETTERS)
    if rng.random() < 0.25:
        return prov + letter + rng.choice("DF") + rng.choice(PLATE_LETTERS + string.digits) + \
            f"{rng.randint(0, 9999):04d}"
    return prov + letter + "".join(rng.choice(PLATE_LETTERS[:10] + string.digits) for _ in range(5))


def _passport(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return "E" + f"{rng.randint(0, 99_999_999):08d}"
    return "E" + rng.choice("ABCDEFGHJK") + f"{rng.randint(0, 9_999_999):07d}"


def _permit(rng: random.Random) -> str:
    return rng.choice("HMC") + f"{rng.randint(0, 99_999_999):08d}"


def _email(rng: random.Random) -> str:
    local = "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(rng.randint(4, 10)))
    return f"{local}@{rng.choice(('qq.com', '163.com', 'gov.cn', 'example.org.cn'))}"


def _ipv4(rng: random.Random) -> str:
    return ".".join(str(rng.randint(1, 254)) for _ in range(4))


def _name(rng: random.Random) -> str:
    if rng.random() < 0.05:
        return rng.choice(("欧阳", "司马", "诸葛")) + rng.choice(GIVEN)
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def _address(rng: random.Random) -> str:
    province, city, district = rng.choice(CITIES)
    tail = f"{rng.randint(1, 300)}号" + (f"{rng.randint(1, 20)}栋{rng.randint(101, 2505)}室"
                                        if rng.random() < 0.5 else "")
    return f"{province}{city}{district}{rng.choice(ROADS)}{tail}"


def _short_address(rng: random.Random) -> str:
    """What a 住址 column often holds: no house number."""
    province, city, district = rng.choice(CITIES)
    return f"{province}{city}{district}{rng.choice(ROADS)}"


# Decoys: look like identifiers to a pattern, fail their checks, or are ordinary data.
def _order_number(rng: random.Random) -> str:
    while True:
        body = "".join(rng.choice(string.digits) for _ in range(17))
        check = rng.choice(string.digits)
        if resident_id_check_char(body) != check:
            return body + check


def _eleven_digits(rng: random.Random) -> str:
    return str(rng.randint(2, 9)) + "".join(rng.choice(string.digits) for _ in range(10))


def _product_code(rng: random.Random) -> str:
    return f"SKU-{rng.randint(10000, 99999)}-{rng.choice('ABCXYZ')}"


def _company(rng: random.Random) -> str:
    city = rng.choice(("北京", "上海", "深圳市", "杭州"))
    return f"{city}{rng.choice(('华信', '长城', '中科', '远景'))}{rng.choice(('科技', '贸易', '建设'))}有限公司"


def _date(rng: random.Random) -> str:
    return f"20{rng.randint(10, 24)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _amount(rng: random.Random) -> str:
    return f"{rng.uniform(1, 100000):.2f}"


def _sixteen_digits(rng: random.Random) -> str:
    return "".join(rng.choice(string.digits) for _ in range(16))


def _nine_digits(rng: random.Random) -> str:
    while True:
        body = "".join(rng.choice(string.digits) for _ in range(8))
        check = rng.choice(string.digits)
        if org_code_check_char(body) != check:
            return body + check


def _fifteen_digits(rng: random.Random) -> str:
    return "".join(rng.choice(string.digits) for _ in range(15))


def _timestamp(rng: random.Random) -> str:
    return str(rng.randint(1_500_000_000_000, 1_800_000_000_000))


def _contact(rng: random.Random) -> str:
    """A contact column: mostly mobiles, some office lines."""
    return _mobile(rng) if rng.random() < 0.65 else _landline(rng)


def _yes_no(rng: random.Random) -> str:
    return rng.choice(("是", "否"))


Generator = Callable[[random.Random], str]
NEUTRAL = ("col_{n}", "字段{n}", "value_{n}", "备用{n}")
# (kind, generator, headers): headers with hints first, then neutral ones ("" = generated).
SPECS: tuple[tuple[Kind | None, Generator, tuple[str, ...]], ...] = (
    (Kind.RESIDENT_ID, _resident_id, ("身份证号", "证件号码", "公民身份号码", "", "")),
    (Kind.RESIDENT_ID, _resident_id_15, ("身份证号(旧)", "")),
    (Kind.USCC, _uscc, ("统一社会信用代码", "信用代码", "", "")),
    (Kind.ORG_CODE, _org_code, ("组织机构代码", "", "")),
    (Kind.MOBILE, _mobile, ("手机号", "联系电话", "mobile", "", "")),
    (Kind.MOBILE, _contact, ("联系方式",)),
    (Kind.LANDLINE, _landline, ("办公电话", "座机", "", "")),
    (Kind.BANK_CARD, _bank_card, ("银行卡号", "", "")),
    (Kind.BANK_CARD, _account, ("银行账号",)),
    (Kind.PLATE, _plate, ("车牌号码", "号牌", "", "")),
    (Kind.PASSPORT, _passport, ("护照号码", "", "")),
    (Kind.HK_MACAU_PERMIT, _permit, ("港澳通行证号", "", "")),
    (Kind.EMAIL, _email, ("电子邮箱", "email", "", "")),
    (Kind.IPV4, _ipv4, ("登录IP", "ip", "", "")),
    (Kind.PERSON_NAME, _name, ("姓名", "联系人", "申请人姓名", "法定代表人")),
    (Kind.ADDRESS, _address, ("地址", "住址", "", "")),
    (Kind.ADDRESS, _short_address, ("居住地址", "户籍地")),
    (None, _order_number, ("订单号", "流水号", "")),
    (None, _eleven_digits, ("编号", "")),
    (None, _product_code, ("产品编码", "")),
    (None, _company, ("单位名称", "企业名称", "")),
    (None, _date, ("日期", "")),
    (None, _amount, ("金额", "")),
    (None, _sixteen_digits, ("交易号", "")),
    (None, _nine_digits, ("批次号", "")),
    (None, _fifteen_digits, ("凭证号", "")),
    (None, _timestamp, ("时间戳", "")),
    (None, _yes_no, ("身份证是否核验",)),
)


def labelled_columns(seed: int = SEED, rows: int = ROWS, junk_share: float = 0.04) -> list[Labelled]:
    rng = random.Random(seed)
    columns: list[Labelled] = []
    for kind, generate, headers in SPECS:
        for header in headers:
            name = header or rng.choice(NEUTRAL).format(n=len(columns) + 1)
            values = [generate(rng) for _ in range(rows)]
            for i in rng.sample(range(rows), int(rows * junk_share)):
                values[i] = rng.choice(JUNK)
            columns.append(Labelled(name, values, kind))
    return columns


def valid_resident_ids(count: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [_resident_id(rng) for _ in range(count)]


def valid_usccs(count: int, seed: int = 2) -> list[str]:
    rng = random.Random(seed)
    return [_uscc(rng) for _ in range(count)]


def order_numbers(count: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    return [_order_number(rng) for _ in range(count)]


def mobiles(count: int, seed: int = 4) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}" for _ in range(count)]


def names(count: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    return [_name(rng) for _ in range(count)]
