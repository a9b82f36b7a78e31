"""Issuing agencies (发文机关) and the region they govern.

An agency name is recognised by its form, not looked up: Han characters ending in a word that
names a body (国务院, 办公厅, 委员会, 局, 部, 司, 处 ...). Joint issuers are split on 、，
and spaces. The region comes from the place name the agency starts with (浙江省财政厅 ->
浙江省, 杭州市人民政府 -> 杭州市, 国务院办公厅 -> 全国) or from the province abbreviation that
opens a 发文字号 (渝府办发 -> 重庆市). Nothing is inferred from anything else.
"""

from __future__ import annotations

import re

# The words an agency name ends with.
_AGENCY_END = re.compile(
    r"(?:国务院|政府|办公厅|办公室|委员会|常委会|军委|中心|公司|集团|大学|学院|学校|医院|"
    r"法院|检察院|军区|协会|学会|联合会|研究会|基金会|指挥部|领导小组|小组|"
    r"[院部委局厅署会处室所站队馆社行办司府科])$"
)
# Han characters, with the parentheses of names like 中国（上海）自由贸易试验区管理委员会.
_AGENCY_CHARS = re.compile(r"[\u4e00-\u9fff（）()·]+")
MAX_AGENCY_CHARS = 40
_SEPARATORS = re.compile(r"[、，,；;\s\u200b\ufeff]+")
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")
# Words that open a title's subject after the issuers: 国务院办公厅关于..., 市政府印发《...》.
_TITLE_VERB = re.compile(r"关于|印发|转发|批转|发布|公布")
# Titles sometimes open with a status or a quotation mark: （已废止）, 《...》.
_TITLE_LEAD = re.compile(r"^(?:[（(【\[][^）)】\]]{0,8}[）)】\]]|[《〈“\"'「『\s])+")

# Provinces: full name, other names, the characters their 发文字号 open with.
PROVINCES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("北京市", ("北京",), "京"),
    ("天津市", ("天津",), "津"),
    ("上海市", ("上海",), "沪"),
    ("重庆市", ("重庆",), "渝"),
    ("河北省", ("河北",), "冀"),
    ("山西省", ("山西",), "晋"),
    ("内蒙古自治区", ("内蒙古",), "内蒙"),
    ("辽宁省", ("辽宁",), "辽"),
    ("吉林省", ("吉林",), "吉"),
    ("黑龙江省", ("黑龙江",), "黑"),
    ("江苏省", ("江苏",), "苏"),
    ("浙江省", ("浙江",), "浙"),
    ("安徽省", ("安徽",), "皖"),
    ("福建省", ("福建",), "闽"),
    ("江西省", ("江西",), "赣"),
    ("山东省", ("山东",), "鲁"),
    ("河南省", ("河南",), "豫"),
    ("湖北省", ("湖北",), "鄂"),
    ("湖南省", ("湖南",), "湘"),
    ("广东省", ("广东",), "粤"),
    ("广西壮族自治区", ("广西",), "桂"),
    ("海南省", ("海南",), "琼"),
    ("四川省", ("四川",), "川"),
    ("贵州省", ("贵州",), "黔"),
    ("云南省", ("云南",), "云滇"),
    ("西藏自治区", ("西藏",), "藏"),
    ("陕西省", ("陕西",), "陕"),
    ("甘肃省", ("甘肃",), "甘陇"),
    ("青海省", ("青海",), "青"),
    ("宁夏回族自治区", ("宁夏",), "宁"),
    ("新疆维吾尔自治区", ("新疆",), "新"),
    ("香港特别行政区", ("香港",), ""),
    ("澳门特别行政区", ("澳门",), ""),
    ("台湾省", ("台湾",), ""),
)
NATIONAL = "全国"
# Agencies of the central government and party: their region is the whole country.
_NATIONAL_PREFIX = re.compile(
    r"^(?:国务院|国家|中华人民共和国|中共中央|中央|全国人民代表大会|全国人大|全国政协|最高人民|"
    r"(?:外交|国防|教育|科学技术|科技|工业和信息化|公安|民政|司法|财政|人力资源和社会保障|自然资源|"
    r"生态环境|住房和城乡建设|交通运输|水利|农业农村|农业|商务|文化和旅游|卫生|退役军人事务|"
    r"应急管理|审计|监察|铁道|建设|国土资源|环境保护|文化)部|(?:发展改革|发展和改革)委|"
    r"海关总署|审计署|中国人民银行|中国(?:证券|银行|保险|银行保险|银行业)监督管理委员会)"
)
# Issuer codes of the central government start with 国 (国发, 国办发, 国函, 国中医药...).
_NATIONAL_CODE = "国"
# A city named at the start of an agency (杭州市, 锡林郭勒盟, 恩施土家族苗族自治州).
_CITY = re.compile(r"([\u4e00-\u9fff]{2,4}?(?:市|盟|地区)|[\u4e00-\u9fff]{2,8}?自治州)")
_PARTY_PREFIX = re.compile(r"^中共|^中国共产党")

_BY_NAME = sorted(
    ((name, full) for full, others, _ in PROVINCES for name in (full, *others)),
    key=lambda pair: -len(pair[0]),
)
# 发文字号 abbreviations, one character each (内蒙古: 内政发 or 蒙...).
_BY_CODE = [(code, full) for full, _, codes in PROVINCES for code in codes]


def clean_name(name: str) -> str:
    """An agency name without the spaces and invisible characters pages pad it with."""
    return _SEPARATORS.sub("", _INVISIBLE.sub("", name))


def split_agencies(text: str) -> list[str]:
    """``'国务院、中央军委'`` / ``'浙江省人民政府　浙江省军区'`` -> one name per issuer."""
    return [part for part in _SEPARATORS.split(_INVISIBLE.sub("", text)) if part]


def looks_like_agency(name: str) -> bool:
    """True for a plausible agency name: Han characters ending in 局, 办公厅, 委员会 ..."""
    return (
        2 <= len(name) <= MAX_AGENCY_CHARS
        and _AGENCY_CHARS.fullmatch(name) is not None
        and _AGENCY_END.search(name) is not None
    )


def agencies_from_title(title: str) -> list[str]:
    """The issuers a title opens with: ``国务院办公厅关于...`` -> ``['国务院办公厅']``.

    Only when every name before 关于/印发/转发/... has the form of an agency.
    """
    text = _TITLE_LEAD.sub("", title.strip())
    verb = _TITLE_VERB.search(text)
    if verb is None or verb.start() == 0:
        return []
    parts = split_agencies(text[: verb.start()])
    if parts and all(looks_like_agency(p) for p in parts):
        return parts
    return []


def region_of_agency(name: str) -> str | None:
    """The province, city or 全国 an agency's name starts with; None when it names none."""
    name = _PARTY_PREFIX.sub("", clean_name(name))
    if not name:
        return None
    for prefix, full in _BY_NAME:
        if name.startswith(prefix):
            if full in ("北京市", "天津市", "上海市", "重庆市"):
                return full  # municipalities: what follows is a district, not a city
            rest = name[len(prefix) :]
            city = _CITY.match(rest)
            return full + city.group(1) if city and _continues_as_agency(rest, city) else full
    if name.startswith("全国") or _NATIONAL_PREFIX.match(name):
        return NATIONAL
    city = _CITY.match(name)
    if city and _continues_as_agency(name, city):
        return city.group(1)
    return None


def region_of_issuer_code(code: str) -> str | None:
    """发文字号 issuer code -> region by its opening abbreviation (渝府办发 -> 重庆市)."""
    code = clean_name(code)
    if not code:
        return None
    if code.startswith(_NATIONAL_CODE):
        return NATIONAL
    for prefix, full in _BY_CODE:
        if code.startswith(prefix):
            return full
    return None


def _continues_as_agency(rest: str, city: re.Match[str]) -> bool:
    # "杭州市人民政府", "杭州市财政局": the city must be followed by an agency, or end the name.
    after = rest[city.end() :]
    return not after or looks_like_agency(after)
