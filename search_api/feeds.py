"""Atom feeds (RFC 4287) of search results, newest first, for feed readers and alerts.

Built with the standard library's ElementTree, which escapes every text node: a document
title containing markup is text in the feed, never markup.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, time
from xml.etree import ElementTree as ET

from search_api.service import HitView, SearchResponse

ATOM = "http://www.w3.org/2005/Atom"
_TAGS = re.compile(r"</?mark>")
EPOCH = date(1970, 1, 1)


def _timestamp(day: date | None) -> str:
    moment = (
        datetime.combine(day, time(0, 0), tzinfo=UTC) if day else datetime(1970, 1, 1, tzinfo=UTC)
    )
    return moment.isoformat().replace("+00:00", "Z")


def _entry(feed: ET.Element, hit: HitView, base_url: str) -> None:
    entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
    ET.SubElement(entry, f"{{{ATOM}}}id").text = f"urn:gongkai:document:{hit.id}"
    ET.SubElement(entry, f"{{{ATOM}}}title").text = hit.title or hit.id
    ET.SubElement(entry, f"{{{ATOM}}}updated").text = _timestamp(
        hit.date_published or hit.date_written
    )
    link = hit.url or f"{base_url}/documents/{hit.id}"
    ET.SubElement(entry, f"{{{ATOM}}}link", href=link)
    for name in hit.agency:
        ET.SubElement(ET.SubElement(entry, f"{{{ATOM}}}author"), f"{{{ATOM}}}name").text = name
    # The snippet is HTML for pages; a feed summary is plain text.
    ET.SubElement(entry, f"{{{ATOM}}}summary").text = html.unescape(_TAGS.sub("", hit.snippet))


def atom_feed(title: str, self_url: str, base_url: str, response: SearchResponse) -> bytes:
    """The feed document for one search response (its hits already newest first)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}id").text = self_url
    ET.SubElement(feed, f"{{{ATOM}}}title").text = title
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=self_url)
    days = [day for h in response.hits if (day := h.date_published or h.date_written)]
    newest = max(days, default=None)
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = _timestamp(newest)
    ET.SubElement(ET.SubElement(feed, f"{{{ATOM}}}author"), f"{{{ATOM}}}name").text = "Gongkai"
    for hit in response.hits:
        _entry(feed, hit, base_url)
    document: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return document
