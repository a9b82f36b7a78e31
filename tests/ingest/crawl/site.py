"""A local government site for the crawler tests (cf. scrapy's tests/mockserver): a Beijing
TRS-style column with script pagination, a gov.cn-style policy list with a metadata table, and
a plain section for the generic profile. It misbehaves on purpose: GBK/GB2312/BIG5/undeclared
pages, an undecodable page, attachments (PDF, DOCX, one too large), a robots.txt-disallowed
path, a slow page, a page that hangs, a 500 that recovers, a 403, a redirect loop, a page that
changes between crawls and one that disappears.

`SiteState` is shared with the test: it counts every request by path and can change the site.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import formatdate

from fastapi import FastAPI, Request
from fastapi.responses import Response

from tests.ingest.crawl.files import make_docx, make_pdf

TRS = "/sy/tzgg/"
LAST_MODIFIED = formatdate(1_700_000_000, usegmt=True)


@dataclass
class SiteState:
    hits: Counter[str] = field(default_factory=Counter)
    agents: set[str] = field(default_factory=set)
    starts: list[tuple[float, str]] = field(default_factory=list)
    conditional: Counter[str] = field(default_factory=Counter)  # answered 304
    open_now: int = 0
    open_max: int = 0
    changed: bool = False
    gone: bool = False
    flaky_failures: int = 2  # the flaky page answers 500 this many times
    slow_s: float = 0.2
    hang_s: float = 1.5
    delay_s: float = 0.0  # added to every request (the bench's realistic latency)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pages_hit(self) -> Counter[str]:
        """Hits per path, robots.txt left out."""
        return Counter({p: n for p, n in self.hits.items() if p != "/robots.txt"})


# --- page builders ----------------------------------------------------------------------------


def trs_article(title: str, date: str, paragraphs: list[str], charset: str = "utf-8",
                source: str = "北京市中医管理局", extra: str = "") -> str:  # fmt: skip
    body = "".join(f"<p>　　{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html><head>
<meta http-equiv="Content-Type" content="text/html; charset={charset}">
<meta name="ArticleTitle" content="{title}">
<meta name="PubDate" content="{date} 10:00">
<meta name="ContentSource" content="{source}">
<meta name="ColumnName" content="通知公告">
<title>{title}_通知公告_北京市中医管理局</title></head>
<body><div class="header"><ul class="nav"><li><a href="/sy/">首页</a></li>
<li><a href="/sy/tzgg/">通知公告</a></li></ul></div>
<div class="article"><h1>{title}</h1><div class="info">发布时间：{date}　来源：{source}</div>
<div class="view TRS_UEDITOR trs_paper_default trs_web">{body}</div>{extra}</div>
<div class="footer">版权所有：北京市中医管理局　访问量：{time.time_ns()}</div></body></html>"""


ARTICLE_TEXT = [
    "为进一步提升中医药文化科普巡讲专家能力水平，推动中医药文化与健康知识的广泛传播，现将有关事项通知如下。",
    "一、培训时间：2024年1月30日至31日。二、培训对象：国家级中医药文化科普巡讲专家。",
    "三、工作要求：请各单位于1月25日前将报名回执表发送至指定邮箱。",
]

# slug -> (title, date, list page)
TRS_ITEMS: dict[str, tuple[str, str, int]] = {
    "202401/t20240110_1001.html": ("关于举办中医药文化科普巡讲专家培训班的通知", "2024-01-10", 0),
    "202401/t20240109_1002.html": ("关于开展中医药继续教育项目申报工作的通知", "2024-01-09", 0),
    "202401/t20240108_1003.html": (
        "关于公布中医药专家学术经验继承工作指导老师名单的通知",
        "2024-01-08",
        0,
    ),
    "202401/t20240107_1004.html": ("關於中醫藥傳承創新發展的通知", "2024-01-07", 0),
    "202401/t20240106_1005.html": ("关于中医医院绩效考核工作的通知", "2024-01-06", 0),
    "202401/t20240105_1006.html": ("乱码页面", "2024-01-05", 1),
    "202401/t20240104_1007.html": ("关于调整中医门诊收费标准的通知", "2024-01-04", 1),
    "202401/t20240103_1008.html": ("关于中医药服务价格的公示", "2024-01-03", 1),
    "202401/t20240102_1009.html": ("关于中医药人才培养计划的通知", "2024-01-02", 1),
    "202401/t20240101_1010.html": ("关于中医药健康文化知识大赛的通知", "2024-01-01", 2),
    "202312/t20231231_1011.html": ("循环跳转页面", "2023-12-31", 2),
    "/private/t20231229_1013.html": ("内部文件", "2023-12-29", 2),
    "202312/t20231228_1014.html": ("禁止访问的页面", "2023-12-28", 2),
    "202312/t20231227_1015.html": ("超时页面", "2023-12-27", 2),
}
TRS_PAGES = 3


def trs_list(page: int) -> str:
    items = "".join(
        f'<li><a href="{slug if slug.startswith("/") else "./" + slug}">{title}</a>'
        f"<span>{date}</span></li>"
        for slug, (title, date, on) in TRS_ITEMS.items()
        if on == page
    )
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>通知公告</title></head>
<body><div class="header"><ul class="nav"><li><a href="/sy/">首页</a></li>
<li><a href="/sy/zcfg/">政策法规</a></li></ul></div>
<div class="list"><ul>{items}</ul></div>
<div class="page"><script>createPageHTML({TRS_PAGES}, {page}, "index", "html");</script></div>
</body></html>"""


GOVCN_TABLE = """<table class="bd1"><tbody>
<tr><td><b>索 引 号：</b></td><td>000014349/2024-0000{n}</td><td><b>主题分类：</b></td>
<td>卫生、体育\\卫生</td></tr>
<tr><td><b>发文机关：</b></td><td>国务院办公厅</td><td><b>成文日期：</b></td><td>2024年01月0{n}日</td></tr>
<tr><td><b>标　　题：</b></td><td colspan="3">{title}</td></tr>
<tr><td><b>发文字号：</b></td><td>国办发〔2024〕{n}号</td><td><b>发布日期：</b></td>
<td>2024年01月1{n}日</td></tr></tbody></table>"""

GOVCN_ITEMS = {
    1: "国务院办公厅关于加强三级公立医院绩效考核工作的意见",
    2: "国务院办公厅关于推进医疗联合体建设和发展的指导意见",
    3: "国务院办公厅关于深化医教协同进一步推进医学教育改革与发展的意见",
}


def govcn_article(n: int) -> str:
    title = GOVCN_ITEMS[n]
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>{title}_国务院文件_中国政府网</title></head>
<body><div class="wrap">{GOVCN_TABLE.format(n=n, title=title)}
<table><tr><td class="b12c" id="UCAP-CONTENT"><p>{title}</p><p>国办发〔2024〕{n}号</p>
<p>各省、自治区、直辖市人民政府，国务院各部委、各直属机构：</p>
<p>为深化医药卫生体制改革，经国务院同意，现提出以下意见。一、总体要求。二、主要任务。</p>
<p>国务院办公厅</p><p>2024年1月{n}日</p>
<p><a href="/zhengce/content/2024-01/files/annex{n}.pdf">附件：绩效考核指标</a></p>
</td></tr></table></div></body></html>"""


def govcn_list(page: int) -> str:
    numbers = [1, 2] if page == 0 else [3]
    items = "".join(
        f'<li><h4><a href="/zhengce/content/2024-01/1{n}/content_90000{n}.htm">{GOVCN_ITEMS[n]}'
        f'</a><span class="date">2024-01-1{n}</span></h4></li>'
        for n in numbers
    )
    pager = '<div class="pagination"><a href="home_1.htm">下一页</a></div>' if page == 0 else ""
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>最新政策</title></head>
<body><div class="list list_1"><ul>{items}</ul></div>{pager}</body></html>"""


GENERIC_INDEX = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>信息公开</title></head>
<body><ul><li><a href="notice.html">关于公开征求意见的公告</a></li>
<li><a href="about.html">机构简介</a></li></ul></body></html>"""

GENERIC_NOTICE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<title>关于公开征求意见的公告 - 某市人民政府</title></head><body>
<div class="nav"><a href="index.html">返回</a></div>
<table><tr><td>发布机构：</td><td>某市司法局</td><td>发文字号：</td><td>某司发〔2023〕7号</td></tr>
<tr><td>成文日期：</td><td>2023-11-20</td><td>发布日期：</td><td>2023-11-21</td></tr></table>
<div class="content">
<p>为做好行政规范性文件的制定工作，广泛听取社会各界意见，
现将征求意见稿全文公布。</p>
<p>社会各界可在2023年12月20日前通过信函或电子邮件提出意见建议，请注明征求意见字样。</p></div>
</body></html>"""

GENERIC_ABOUT = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>机构简介</title></head>
<body><p>电话：12345</p><a href="index.html">返回</a></body></html>"""


class FixtureSite:
    """The ASGI app and the bytes of every page (built once; attachments are generated)."""

    def __init__(self, state: SiteState) -> None:
        self.state = state
        self.pdf = make_pdf(["Gongkai attachment: training schedule 2024", "room 101"])
        self.docx = make_docx(["附件2：中医药继续教育项目申报表", "申报单位盖章"])
        self.govcn_pdf = make_pdf(["Performance indicators for tertiary hospitals"])
        self.app = FastAPI()
        self.app.add_api_route("/{path:path}", self.handle, methods=["GET"])

    def article_1001(self) -> str:
        links = (
            '<ul class="fujian"><li><a href="./P020240110001.pdf">附件1：培训日程</a></li>'
            '<li><a href="./P020240110002.docx">附件2：申报表</a></li>'
            '<li><a href="./P020240110003.zip">附件3：大文件</a></li>'
            '<li><a href="./P020240110004.xls">附件4：名单</a></li>'
            '<li><a href="/private/P020240110005.pdf">附件5：内部</a></li></ul>'
        )
        title, date, _ = TRS_ITEMS["202401/t20240110_1001.html"]
        return trs_article(title, date, ARTICLE_TEXT, extra=links)

    async def handle(self, request: Request, path: str) -> Response:
        path = "/" + path
        state = self.state
        with state.lock:
            state.hits[path] += 1
            state.agents.add(request.headers.get("user-agent", ""))
            state.starts.append((time.monotonic(), path))
            state.open_now += 1
            state.open_max = max(state.open_max, state.open_now)
        try:
            if state.delay_s:
                await asyncio.sleep(state.delay_s)
            return await self._route(request, path)
        finally:
            with state.lock:
                state.open_now -= 1

    async def _route(self, request: Request, path: str) -> Response:
        state = self.state
        if path == "/robots.txt":
            return _text("User-agent: *\nDisallow: /private/\n\nUser-agent: BadBot\nDisallow: /\n")
        if path in (TRS, TRS + "index.html"):
            return _html(trs_list(0))
        for page in range(1, TRS_PAGES):
            if path == f"{TRS}index_{page}.html":
                return _html(trs_list(page))
        slug = path.removeprefix(TRS)
        if path == "/zhengce/zuixin/home.htm":
            return _html(govcn_list(0))
        if path == "/zhengce/zuixin/home_1.htm":
            return _html(govcn_list(1))
        for n in GOVCN_ITEMS:
            if path == f"/zhengce/content/2024-01/1{n}/content_90000{n}.htm":
                return _html(govcn_article(n))
            if path == f"/zhengce/content/2024-01/files/annex{n}.pdf":
                return Response(self.govcn_pdf, media_type="application/pdf")
        if path == "/misc/":
            return _html(GENERIC_INDEX)
        if path == "/misc/notice.html":
            return _html(GENERIC_NOTICE)
        if path == "/misc/about.html":
            return _html(GENERIC_ABOUT)
        if slug == "202401/t20240110_1001.html":
            return _with_etag(request, _encode(self.article_1001(), "utf-8"), state, path)
        if slug == "202401/P020240110001.pdf":
            return _with_etag(request, self.pdf, state, path, "application/pdf")
        if slug == "202401/P020240110002.docx":
            return Response(self.docx, media_type="application/octet-stream")
        if slug == "202401/P020240110003.zip":
            return Response(b"PK\x03\x04" + b"\0" * 300_000, media_type="application/zip")
        if slug == "202401/P020240110004.xls":
            return Response(
                b"\xd0\xcf\x11\xe0" + b"\0" * 100, media_type="application/vnd.ms-excel"
            )
        if slug == "202312/t20231230_1012.html":  # the loop's way back
            return Response(status_code=302, headers={"Location": "t20231231_1011.html"})
        if slug in TRS_ITEMS or path in TRS_ITEMS:
            return await self._trs_item(request, slug if slug in TRS_ITEMS else path)
        return Response("not found", status_code=404)

    async def _trs_item(self, request: Request, slug: str) -> Response:
        state = self.state
        title, date, _ = TRS_ITEMS[slug]
        number = slug.rsplit("_", 1)[1].split(".")[0]
        if number == "1002":  # GBK, declared in the header only; Last-Modified validator
            html = trs_article(title, date, ARTICLE_TEXT).replace("charset=utf-8", "")
            if request.headers.get("if-modified-since") == LAST_MODIFIED:
                state.conditional[TRS + slug] += 1
                return Response(status_code=304)
            return Response(
                html.encode("gbk"),
                headers={"Content-Type": "text/html; charset=GBK", "Last-Modified": LAST_MODIFIED},
            )
        if number == "1003":  # GB2312 declared in <meta> only
            html = trs_article(title, date, ARTICLE_TEXT, charset="gb2312")
            return Response(html.encode("gb2312"), headers={"Content-Type": "text/html"})
        if number == "1004":  # BIG5, declared in the header
            html = trs_article(title, date, ["中醫藥傳承創新發展，請各單位認真貫徹執行。"] * 3,
                               source="北京市中醫管理局").replace("charset=utf-8", "")  # fmt: skip
            data = html.encode("big5", errors="xmlcharrefreplace")  # simplified chrome: &#...;
            return Response(data, headers={"Content-Type": "text/html; charset=big5"})
        if number == "1005":  # GB18030 bytes, no declaration anywhere
            html = trs_article(title, date, ARTICLE_TEXT).replace("charset=utf-8", "")
            return Response(html.encode("gb18030"), headers={"Content-Type": "text/html"})
        if number == "1006":  # not text in any encoding
            junk = bytes([1, 2, 3, 4, 5, 6, 7, 8, 0x81, 0xFE, 0x0E, 0x1F]) * 300
            return Response(b"<html>" + junk, headers={"Content-Type": "text/html"})
        if number == "1007":  # changes between crawls
            text = (
                [*ARTICLE_TEXT, "（2024年2月修订：收费标准上调5%。）"]
                if state.changed
                else ARTICLE_TEXT
            )
            return _html(trs_article(title, date, text))
        if number == "1008":  # disappears
            if state.gone:
                return Response("gone", status_code=404)
            return _html(trs_article(title, date, ARTICLE_TEXT[:2]))
        if number == "1009":  # 500, then recovers
            if state.flaky_failures > 0:
                state.flaky_failures -= 1
                return Response("busy", status_code=500)
            return _html(trs_article(title, date, ARTICLE_TEXT[1:]))
        if number == "1010":  # slow but fine
            await asyncio.sleep(state.slow_s)
            return _html(trs_article(title, date, ARTICLE_TEXT[::-1]))
        if number == "1011":  # redirect loop 1011 -> 1012 -> 1011
            return Response(status_code=302, headers={"Location": "t20231230_1012.html"})
        if number == "1014":
            return Response("forbidden", status_code=403)
        if number == "1015":  # hangs past the client's read timeout
            await asyncio.sleep(state.hang_s)
            return _html(trs_article(title, date, ARTICLE_TEXT))
        return _html(trs_article(title, date, ARTICLE_TEXT))  # the robots-disallowed one


def _encode(html: str, charset: str) -> bytes:
    return html.encode(charset)


def _html(html: str) -> Response:
    return Response(html.encode("utf-8"), media_type="text/html; charset=utf-8")


def _text(text: str) -> Response:
    return Response(text, media_type="text/plain")


def _with_etag(
    request: Request, body: bytes, state: SiteState, path: str, media: str = "text/html"
) -> Response:
    # The ETag ignores the footer's visit counter, as real CMSs tag the article, not the page.
    etag = '"' + hashlib.md5(body.split(b'<div class="footer">')[0]).hexdigest() + '"'
    if request.headers.get("if-none-match") == etag:
        state.conditional[path] += 1
        return Response(status_code=304, headers={"ETag": etag})
    return Response(body, media_type=media, headers={"ETag": etag})
