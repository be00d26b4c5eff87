"""The customer import (admins upload a CSV) and the CSV exports (supervisors download)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ctiserver.spreadsheets.exports import EXPORTS, CsvExports, ExportRange
from ctiserver.spreadsheets.model import UnreadableFile, decode, parse_customers
from ctiserver.spreadsheets.schemas import ExportQuery, ImportQuery, ImportResult
from ctiserver.spreadsheets.store import CustomerImport
from ctiserver.vocabulary import SUPERVISOR_ROLES
from ctiserver.web.contract import query_of, route
from ctiserver.web.handling import ApiError


@dataclass(frozen=True)
class Spreadsheets:
    importer: CustomerImport
    exports: CsvExports
    region: str
    #: the largest upload, bytes
    max_upload: int


SPREADSHEETS_KEY = web.AppKey("spreadsheets", Spreadsheets)


async def read_upload(request: web.Request, limit: int) -> bytes:
    """The whole body, or 413 naming the limit as soon as it is passed (by its
    Content-Length, or by what arrives)."""
    refusal = f"the file is larger than the limit of {_size(limit)} ({limit} bytes): split it, or import it" \
        " with the command ctiserver import customers"
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, refusal)
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, refusal)
    return bytes(body)


def _size(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{limit / 1024:g} KB"


async def import_customers(request: web.Request) -> dict[str, Any]:
    """The request's body is the CSV file itself, as the import command reads it; its
    encoding is ``encoding`` if given, else found (UTF-8, GB18030, Big5, UTF-16)."""
    parts = request.app[SPREADSHEETS_KEY]
    query = query_of(request, ImportQuery)
    data = await read_upload(request, parts.max_upload)
    try:
        text = await asyncio.to_thread(decode, data, query.encoding)
        catalogue = await parts.importer.catalogue()
        parsed = await asyncio.to_thread(parse_customers, text, region=parts.region, catalogue=catalogue)
    except UnreadableFile as exc:
        raise ApiError(400, str(exc)) from exc
    report = await parts.importer.run(parsed.rows, parsed.problems)
    problems = sorted(report.problems, key=lambda p: p.line)
    return {
        "accepted": report.accepted, "unchanged": report.unchanged, "customers": report.customers,
        "phones": report.phones, "products": report.products, "rejected": len(problems),
        "problems": [{"line": p.line, "reason": p.reason} for p in problems],
    }


def _exporter(what: str) -> Any:
    async def export(request: web.Request) -> web.StreamResponse:
        query = query_of(request, ExportQuery)
        if query.first and query.last and query.first > query.last:
            raise ApiError(400, "from is after to")
        parts = request.app[SPREADSHEETS_KEY].exports.stream(what, ExportRange(query.first, query.last))
        response = web.StreamResponse(headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{what}.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        })
        await response.prepare(request)
        async for part in parts:
            await response.write(part)
        await response.write_eof()
        return response

    export.__doc__ = f"The {what} as CSV (UTF-8 with BOM, for Excel), streamed; cells starting a formula get a '."
    return export


def register(app: web.Application, spreadsheets: Spreadsheets) -> None:
    app[SPREADSHEETS_KEY] = spreadsheets
    route(app, "POST", "/api/import/customers", import_customers, summary="Import customers from a CSV file",
          roles={"admin"}, denied="admins only", answer=ImportResult, target="customer", query=ImportQuery,
          errors={400: "the file is not text in its encoding, or has no header", 413: "file too large"})
    for what in EXPORTS:
        route(app, "GET", f"/api/export/{what}.csv", _exporter(what), summary=f"Export the {what} as CSV",
              roles=SUPERVISOR_ROLES, query=ExportQuery, media_type="text/csv")
