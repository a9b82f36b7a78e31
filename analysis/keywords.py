"""Per-document keywords (主题词 candidates): TF-IDF over the project tokeniser's tokens.

`KeywordExtractor.fit(texts)` learns document frequencies from a corpus; without it, a small
bundled table stands in: the ~500 words most common in Chinese laws, regulations and
government pages (document frequency in percent, measured on 3,808 public documents), every
other word counted as rare. Boilerplate (通知, 关于, 印发, 工作, 进一步 ...), single characters
and numbers are never keywords.

The tokeniser runs in search mode, so a long word also yields the words inside it (房屋征收补偿
-> 房屋, 征收, 补偿 ...): a candidate contained in a keyword already chosen is skipped, so the
list does not repeat itself.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import compress, repeat
from pathlib import Path

from analysis.tokenizer import GovTokenizer

# Words of the genre, not of the topic: they top any frequency count of government text.
_BOILERPLATE_WORDS = """
通知 关于 印发 有关 工作 进一步 加强 做好 开展 实施 意见 办法 规定 决定 方案 细则 条例 公告
通告 要求 相关 推进 落实 贯彻 切实 认真 积极 提高 促进 建立 完善 健全 根据 按照 依据 依照
以下 下列 如下 应当 可以 不得 其他 现将 遵照 执行 全面 深入 坚持 重要 主要 有效 各地 各级
部门 单位 各省 自治区 直辖市 人民政府 有关部门 各部门 各单位 本办法 本规定 本通知 本条例
本法 附件 附则 总则 第一 情况 进行 或者 以及 及其 其中 上述 同时 及时 具体 有关规定 规定的
之日 之日起 施行 发布 公布 你们 他们 我们 您们 之一 一些 这些 那些 什么 序号 备注 标题
"""
BOILERPLATE = frozenset(_BOILERPLATE_WORDS.split())
_NUMERIC = re.compile(
    r"^[\d.%％]+$|^[\d〇○零一二三四五六七八九十百千万两]+[年月日号条款项章节个名次元万亿]?$|^第"
)

# Document frequency (percent) of the commonest words, from public laws, regulations and
# government pages; words not listed are taken as rare (RARE_PERCENT).
_DEFAULT_DF = """
规定:51 进行:47 管理:47 可以:46 根据:45 或者:43 工作:43 人员:42 人民:42 其他:42 按照:42 有关:41
应当:41 部门:41 单位:41 情况:39 国家:39 使用:37 依法:37 行政:37 申请:37 法律:36 需要:36 个人:35
以及:35 组织:35 机构:34 制定:34 办理:34 以下:34 以上:34 下列:34 相关:33 责任:33 社会:33 提供:33
实施:33 要求:33 行为:33 施行:33 中华:32 不得:32 负责:32 通过:32 政府:32 华人:31 共和:31
共和国:31 中华人民:31 人民共和国:31 中华人民共和国:31 服务:31 条件:31 符合:31 执行:31 机关:31
活动:30 范围:30 依照:30 具体:29 信息:29 处理:29 违反:29 方式:29 民政:29 及时:29 标准:29 法规:29
主管:28 企业:28 及其:28 直接:28 监督:28 确定:28 安全:28 人民政府:28 措施:28 采取:27 予以:27
保护:27 技术:27 发生:27 批准:27 给予:26 之一:26 实际:26 适用:26 建设:26 保障:26 包括:26 为了:25
加强:25 经济:25 提出:25 履行:25 犯罪:25 刑事:25 造成:25 内容:25 违法:25 登记:25 制度:24 职责:24
区域:24 追究:24 办法:24 决定:24 发展:24 严重:24 相应:24 处罚:24 构成:23 所在:23 之日:23
之日起:23 具有:23 国务:23 国务院:23 报告:23 作出:23 材料:23 承担:23 建立:23 实行:23 主管部门:23
责令:22 原则:22 程序:22 检查:22 经营:22 时间:22 结合:22 刑事责任:22 作人:22 工作人员:22 条例:22
通知:22 情形:22 项目:22 费用:22 处分:22 任何:22 北京:22 同时:21 统一:21 从事:21 地方:21 主要:21
维护:21 有效:21 证明:21 依据:21 依法追究:21 影响:21 重大:21 接受:21 必要:21 构成犯罪:21 前款:21
有权:21 利用:20 生产:20 发布:20 公布:20 公共:20 合法:20 设施:20 委员:20 意见:20 取得:20 规范:20
开展:20 委员会:20 业务:20 支持:20 行政区:20 政区:20 义务:20 发现:19 问题:19 合理:19 不能:19
交通:19 规划:19 事项:19 同意:19 指导:19 备案:19 设立:19 提交:19 罚款:19 基本:19 地区:19 委托:19
超过:19 手续:19 权益:19 国家有关:19 没有:18 系统:18 情节:18 遵守:18 作为:18 参加:18 能力:18
职权:18 属于:18 资源:18 期限:18 环境:18 行政区域:18 已经:18 自治:18 必须:18 会同:18 法律责任:18
财政:17 提高:17 许可:17 审查:17 促进:17 资料:17 任人:17 责任人:17 教育:17 改正:17 书面:17
关于:17 未经:17 法院:17 文件:17 事业:17 专业:17 可能:17 调查:17 民法:17 全国:17 过程:17 结果:17
完成:17 禁止:17 法定:17 计划:17 代表:17 各级:17 人民法院:17 明确:16 公安:16 法权:16 资金:16
合法权:16 变更:16 停止:16 损失:16 政策:16 保证:16 研究:16 用于:16 合法权益:16 形式:16 综合:16
质量:16 京市:16 北京市:16 鼓励:16 监督管理:16 责任人员:16 协调:16 县级:16 合同:16 设备:16
部分:16 利益:16 涉及:16 万元:16 他人:16 做好:16 附则:16 总则:16 进入:16 权利:16 定期:16 不予:16
场所:16 设置:15 关系:15 纳入:15 本行:15 特殊:15 具备:15 所有:15 受理:15 健康:15 所得:15
情节严重:15 领导:15 擅自:15 重要:15 当事:15 财产:15 所在地:15 期间:15 当事人:15 自治区:15
共同:15 损害:15 指定:15 除外:15 知识:15 科学:15 直辖:15 直辖市:15 违法行为:15 本行政区域:15
中国:15 说明:14 限期:14 健全:14 参与:14 支付:14 市场:14 医疗:14 方面:14 各自:14 公开:14 赔偿:14
身份:14 自然:14 培训:14 以外:14 基础:14 诉讼:14 生活:14 职守:14 保险:14 卫生:14 方案:14 调整:14
资格:14 滥用:14 限制:14 安排:14 配合:14 审批:14 产品:14 管人:14 工程:14 记录:14 分别:13 控制:13
平台:13 协助:13 年度:13 水平:13 重点:13 主管人员:13 非法:13 认定:13 玩忽:13 玩忽职守:13 严格:13
简称:13 选择:13 开发:13 确认:13 强制:13 继续:13 逾期:13 行业:13 滥用职权:13 案件:13 立即:13
当地:13 计算:13 上级:13 没收:13 城市:13 奖励:13 本市:13 理由:13 宣传:13 是否:12 编制:12 建议:12
正常:12 责人:12 负责人:12 运输:12 拒绝:12 告知:12 舞弊:12 方法:12 名称:12 撤销:12 机制:12
评估:12 出具:12 徇私:12 授权:12 协议:12 完善:12 证书:12 公民:12 审核:12 无法:12 徇私舞弊:12
法人:12 公众:12 数量:12 土地:12 民事:12 合格:12 自行:12 收到:12 危害:12 司法:12 注册:11 特别:11
全部:11 公安机关:11 一般:11 存在:11 采用:11 原因:11 商业:11 不同:11 解决:11 坚持:11 现场:11
参照:11 居民:11 劳动:11 经费:11 解释:11 状况:11 之间:11 一次:11 防止:11 产生:11 中心:11 电子:11
一定:11 达到:11 查询:11 国际:11 约定:11 统筹:11 秩序:11 落实:11 许可证:11 数据:11 任务:11
申请人:11 公告:11 建立健全:11 车辆:11 适应:11 投资:11 事故:11 标志:11 国民:11 并处:11 对于:11
优先:11 增加:11 一致:11 接到:10 功能:10 体系:10 预算:10 但是:10 建筑:10 应急:10 确保:10 警告:10
本人:10 转让:10 通报:10 其中:10 适当:10 执法:10 认为:10 一级:10 一步:10 设计:10 本级:10 上述:10
城乡:10 销售:10 国民经济:10 物品:10 证件:10 事业单位:10 考核:10 列入:10 组成:10 行政处罚:10
获得:10 团体:10 申报:10
"""
RARE_PERCENT = 0.5
# Candidates sorted first per keyword asked for; the rest are sorted only when the choice reads
# past them (a candidate inside a keyword already chosen is skipped).
_PREFIX_PER_KEYWORD = 4
# Distinct tokens whose candidacy one extractor remembers before it starts afresh.
_CANDIDATES_LIMIT = 500_000


class _Memo(dict[str, bool]):
    """token -> a predicate's answer, computed on first sight."""

    def __init__(self, predicate: Callable[[str], bool]) -> None:
        super().__init__()
        self._predicate = predicate

    def __missing__(self, token: str) -> bool:
        answer = self[token] = self._predicate(token)
        return answer


def _default_idf() -> tuple[dict[str, float], float]:
    idf = {}
    for item in _DEFAULT_DF.split():
        word, _, percent = item.rpartition(":")
        idf[word] = math.log(100 / float(percent)) + 1
    return idf, math.log(100 / RARE_PERCENT) + 1


class _LogTf(dict[int, float]):
    """count -> 1 + log(count), the term-frequency factor, computed on first sight."""

    def __missing__(self, count: int) -> float:
        factor = self[count] = 1 + math.log(count)
        return factor


def _best_first(words: Iterable[str], weights: Iterable[float]) -> list[tuple[float, str]]:
    """(weight, word) by higher weight, then longer word, then the word (tuples compared in C:
    no key function)."""
    words = list(words)
    lengths = map(operator.neg, map(len, words))
    ordered = sorted(zip(map(operator.neg, weights), lengths, words, strict=True))
    return [(-negative, word) for negative, _, word in ordered]


class KeywordExtractor:
    """TF-IDF keywords; `fit` learns IDF from a corpus (else the bundled table is used)."""

    def __init__(
        self,
        tokenizer: GovTokenizer,
        boilerplate: Iterable[str] = BOILERPLATE,
        min_df: int = 2,
        max_vocabulary: int = 200_000,
    ) -> None:
        self.tokenizer = tokenizer
        self.boilerplate = frozenset(boilerplate)
        self.min_df = min_df
        self.max_vocabulary = max_vocabulary
        self.idf_, self.default_idf_ = _default_idf()
        self.n_docs_ = 0  # 0: the bundled table, not a fitted corpus
        # token -> is_candidate(token), answered once per distinct token: the per-token test
        # was the costliest part of keyword extraction at ingest (profile, issue 9).
        self._candidates = _Memo(self.is_candidate)
        self._log_tf = _LogTf()

    def is_candidate(self, token: str) -> bool:
        return (
            len(token) >= 2
            and token not in self.boilerplate
            and not _NUMERIC.match(token)
            and any(ch.isalpha() for ch in token)
        )

    def _candidate_memo(self) -> _Memo:
        known = self._candidates
        if len(known) > _CANDIDATES_LIMIT:
            known.clear()  # bounded memory on a corpus with endless new tokens
        return known

    def _candidate_tokens(self, tokens: Iterable[str]) -> Iterator[str]:
        # filter + a dict whose __missing__ computes: a known token is answered in C.
        return filter(self._candidate_memo().__getitem__, tokens)

    def fit(self, texts: Iterable[str]) -> KeywordExtractor:
        """Learn document frequencies; words in fewer than ``min_df`` texts count as rare.
        The vocabulary keeps the ``max_vocabulary`` most frequent words (bounded memory)."""
        df: Counter[str] = Counter()
        n_docs = 0
        for text in texts:
            n_docs += 1
            df.update(set(self._candidate_tokens(self.tokenizer.tokenize(text))))
        if n_docs == 0:
            raise ValueError("fit needs at least one text")
        kept = [(w, c) for w, c in df.most_common(self.max_vocabulary) if c >= self.min_df]
        # Smoothed as scikit-learn does: no zero weights, no division by zero.
        self.idf_ = {w: math.log((1 + n_docs) / (1 + c)) + 1 for w, c in kept}
        self.default_idf_ = math.log((1 + n_docs) / 1) + 1
        self.n_docs_ = n_docs
        return self

    def scores(self, text: str, k: int = 8) -> list[tuple[str, float]]:
        """The ``k`` best keywords with their TF-IDF weight, best first."""
        return self.scores_of_tokens(self.tokenizer.tokenize(text), k)

    def scores_of_tokens(self, tokens: Iterable[str], k: int = 8) -> list[tuple[str, float]]:
        """`scores` of text this extractor's tokeniser has already tokenised (e.g. the body
        tokens of an `AnalyzedDocument`), so a caller that has them pays for no second pass."""
        counts = Counter(self._candidate_tokens(tokens))
        return self._chosen(list(counts), list(counts.values()), k)

    def scores_of_counts(self, counts: Mapping[str, int], k: int = 8) -> list[tuple[str, float]]:
        """`scores_of_tokens` from how often each token occurs, candidate or not (e.g.
        `analysis.analyzer.body_token_counts`)."""
        known = self._candidate_memo()
        words = list(compress(counts, map(known.__getitem__, counts)))
        return self._chosen(words, list(map(counts.__getitem__, words)), k)

    def _chosen(self, words: list[str], counts: list[int], k: int) -> list[tuple[str, float]]:
        """The ``k`` best of the candidate ``words`` (each once, occurring ``counts`` times)."""
        if not words or k <= 0:
            return []
        chosen: list[tuple[str, float]] = []
        for weight, word in self._ranked(words, counts, k):
            if any(word in kept for kept, _ in chosen):
                continue  # a piece of a longer keyword already chosen
            # A longer word replaces its pieces chosen before it (中医, 医药 -> 中医药), keeping
            # the best weight among them.
            pieces = [item for item in chosen if item[0] in word]
            best = max([weight, *(w for _, w in pieces)])
            chosen = [item for item in chosen if item not in pieces]
            chosen.append((word, round(best, 4)))
            if len(chosen) == k:
                break
        chosen.sort(key=lambda item: -item[1])
        return chosen

    def _ranked(self, words: list[str], counts: list[int], k: int) -> Iterator[tuple[float, str]]:
        """(weight, word) best first: higher weight, then the longer word, then the word.

        Usually only the best few are read (until ``k`` keywords are chosen), so only the
        ``_PREFIX_PER_KEYWORD * k`` heaviest candidates are sorted first, and the rest only if
        they are reached. Weighing and sorting every candidate was ~60% of keyword time at
        ingest (issue 9); the weights are computed with C-level maps, no Python per word."""
        weights = list(
            map(
                operator.mul,
                map(self._log_tf.__getitem__, counts),
                map(self.idf_.get, words, repeat(self.default_idf_)),
            )
        )
        prefix = _PREFIX_PER_KEYWORD * k
        if len(words) <= prefix:
            yield from _best_first(words, weights)
            return
        # Every candidate at least as heavy as the prefix-th heaviest: the sorted order's
        # first ``prefix`` items are among them, whatever the ties.
        lightest = sorted(weights, reverse=True)[prefix - 1]  # floats sort fast in C
        heavy = list(map(lightest.__le__, weights))
        yield from _best_first(compress(words, heavy), compress(weights, heavy))
        light = list(map(operator.not_, heavy))
        yield from _best_first(compress(words, light), compress(weights, light))

    def top(self, text: str, k: int = 8) -> list[str]:
        """The ``k`` best keywords of ``text``, best first."""
        return [word for word, _ in self.scores(text, k)]

    def save(self, path: Path) -> None:
        path.write_text(
            json.dumps(
                {"n_docs": self.n_docs_, "default_idf": self.default_idf_, "idf": self.idf_},
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )

    def load(self, path: Path) -> KeywordExtractor:
        data = json.loads(path.read_text(encoding="utf-8"))
        self.n_docs_ = int(data["n_docs"])
        self.default_idf_ = float(data["default_idf"])
        self.idf_ = {str(w): float(v) for w, v in data["idf"].items()}
        return self
