"""A small hand-made corpus with three clear topics, for topic-discovery tests.

Each document draws sentences from its topic's pool plus a boilerplate pool shared by all
(通知, 关于, 印发 ...), so the topics are separable while the boilerplate is frequent everywhere.
"""

from __future__ import annotations

import random
from datetime import date

from gongkai.document import Document

TOPICS: dict[str, list[str]] = {
    "低保": [
        "最低生活保障标准按月发放",
        "低保家庭收入核查由民政部门负责",
        "特困供养人员纳入救助范围",
        "城乡低保对象动态管理",
        "临时救助资金及时足额发放",
        "低保申请审核审批程序",
    ],
    "养老": [
        "基本养老金按照规定调整",
        "退休人员养老保险待遇提高",
        "养老保险缴费年限累计计算",
        "企业职工退休年龄规定",
        "养老金社会化发放到个人账户",
        "城乡居民养老保险参保缴费",
    ],
    "征收": [
        "国有土地上房屋征收补偿方案",
        "被征收人获得货币补偿或者产权调换",
        "房屋征收评估机构依法选定",
        "征收补偿安置协议签订",
        "拆迁安置住房分配公开",
        "房屋征收决定予以公告",
    ],
}
BOILERPLATE = [
    "关于印发有关工作的通知",
    "各有关单位要加强组织实施",
    "现将有关事项通知如下",
    "本办法自发布之日起施行",
]


def topic_documents(per_topic: int = 12, seed: int = 7, prefix: str = "") -> list[Document]:
    """``per_topic`` documents for each of `TOPICS`; the id says the topic (``低保-3``)."""
    rng = random.Random(seed)
    docs = []
    for topic, pool in TOPICS.items():
        for i in range(per_topic):
            body = "。".join(rng.sample(pool, 4) + rng.sample(BOILERPLATE, 2)) + "。"
            docs.append(
                Document(
                    id=f"{prefix}{topic}-{i}",
                    title=f"关于{rng.choice(pool)}的通知",
                    body=body,
                    date_published=date(2015 + i % 6, 1 + i % 12, 1),
                )
            )
    return docs


def topic_of(doc_id: str) -> str:
    return doc_id.rsplit("-", 1)[0].split(":")[-1]
