"""Document type (公文种类: 通知, 意见, 办法 ...) from a title's last word or a 发文字号.

A title names its type in its last word: ``关于印发《X办法》的通知`` is a 通知 (the 办法 is what
it carries). Trailing notes in brackets are not part of it: ``...办法（试行）``,
``...的决定（沪府令28号）``, ``...公示（2018年12月7日）``. A title that ends in no known type
gives None.
"""

from __future__ import annotations

import re

from gongkai.document import DocNumber

# Title endings -> type. The longest ending wins (年度报告 over 报告, 命令 over 令).
TITLE_ENDINGS: dict[str, str] = {
    "通知": "通知",
    "意见": "意见",
    "办法": "办法",
    "规定": "规定",
    "决定": "决定",
    "批复": "批复",
    "公告": "公告",
    "通告": "通告",
    "报告": "报告",
    "年度报告": "年度报告",
    "年报": "年度报告",
    "条例": "条例",
    "细则": "细则",
    "方案": "方案",
    "总结": "总结",
    "函": "函",
    "复函": "函",
    "便函": "函",
    "纪要": "纪要",
    "规划": "规划",
    "决议": "决议",
    "命令": "命令",
    "令": "令",
    "通报": "通报",
    "公报": "公报",
    "请示": "请示",
    "议案": "议案",
    "规则": "规则",
    "规范": "规范",
    "规程": "规程",
    "计划": "计划",
    "要点": "要点",
    "纲要": "纲要",
    "指南": "指南",
    "指引": "指引",
    "标准": "标准",
    "章程": "章程",
    "准则": "准则",
    "守则": "守则",
    "制度": "制度",
    "措施": "措施",
    "目录": "目录",
    "清单": "清单",
    "名单": "名单",
    "解释": "解释",
    "答复": "答复",
    "公示": "公示",
    "法": "法",
    "法典": "法",
    "修正案": "修正案",
}
# Endings that look like a type and are not one (方法, 做法 are not laws; 指令 is no 令).
NOT_TYPES = ("方法", "做法", "看法", "说法", "想法", "指令", "口令")
# Issuer codes that name the type: 国办函 is a 函, 沪府令 a 令.
CODE_ENDINGS: dict[str, str] = {"函": "函", "令": "令"}

_ENDINGS = sorted(TITLE_ENDINGS, key=len, reverse=True)
# Notes after the title proper: brackets, quotes, spaces.
_TRAILING_NOTE = re.compile(
    r"(?:[（(【\[〔][^（()）【】\[\]〔〕]*[）)】\]〕]|[\s》〉”\"'」』。.])+$"
)


def doc_type_from_title(title: str) -> str | None:
    """The type a title ends in (``关于印发《X办法》的通知`` -> 通知), or None."""
    text = _TRAILING_NOTE.sub("", title.strip())
    if not text or text.endswith(NOT_TYPES):
        return None
    for ending in _ENDINGS:
        if text.endswith(ending):
            return TITLE_ENDINGS[ending]
    return None


def doc_type_from_number(number: DocNumber | None) -> str | None:
    """The type an issuer code names (国办函 -> 函, 国务院令 -> 令); most codes name none."""
    if number is None or not number.issuer_code:
        return None
    for ending, kind in CODE_ENDINGS.items():
        if number.issuer_code.endswith(ending):
            return kind
    return None
