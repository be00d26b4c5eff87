"""The customer import (admins upload a CSV file or an Excel workbook) and the exports as CSV
or workbooks (supervisors download)."""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ctiserver.spreadsheets.exports import CsvExports, ExportHead, ExportRange
from ctiserver.spreadsheets.kinds import EXPORTS
from ctiserver.spreadsheets.model import UnreadableFile
from ctiserver.spreadsheets.schemas import ExportQuery, ImportQuery, ImportResult
from ctiserver.spreadsheets.store import CustomerImport
from ctiserver.spreadsheets.workbooks import MAX_UNPACKED, MEDIA_TYPE, read_customers
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


#: the most an uploaded workbook may unpack to, per byte of the upload limit (sheets pack 10-30 times)
UNPACKED_PER_BYTE = 16
#: bytes sent at a time
CHUNK = 256 * 1024
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
    """The request's body is the file itself, as the import command reads it: an Excel
    workbook (.xlsx, told by its zip signature: the first sheet, or ``sheet``) or a CSV file,
    whose encoding is ``encoding`` if given, else found (UTF-8, GB18030, Big5, UTF-16)."""
    parts = request.app[SPREADSHEETS_KEY]
    query = query_of(request, ImportQuery)
    data = await read_upload(request, parts.max_upload)
    try:
        catalogue = await parts.importer.catalogue()
        parsed = await asyncio.to_thread(
            read_customers, data, encoding=query.encoding, sheet=query.sheet, region=parts.region,
            catalogue=catalogue, limit=min(MAX_UNPACKED, UNPACKED_PER_BYTE * parts.max_upload),
        )
    except UnreadableFile as exc:
        raise ApiError(400, str(exc)) from exc
    report = await parts.importer.run(parsed.rows, parsed.problems)
    problems = sorted(report.problems, key=lambda p: p.line)
    return {
        "accepted": report.accepted, "unchanged": report.unchanged, "customers": report.customers,
        "phones": report.phones, "products": report.products, "rejected": len(problems),
        "problems": [{"line": p.line, "reason": p.reason, "code": getattr(p.reason, "code", None),
                      "params": getattr(p.reason, "params", {})} for p in problems],
    }


def _exporter(what: str) -> Any:
    async def export(request: web.Request) -> web.StreamResponse:
        query = query_of(request, ExportQuery)
        if query.first and query.last and query.first > query.last:
            raise ApiError(400, "from is after to")
        parts = request.app[SPREADSHEETS_KEY].exports.stream(
            what, ExportRange(query.first, query.last), ExportHead(query.headers, query.lang)
        )
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


def _workbook_exporter(what: str) -> Any:
    async def export(request: web.Request) -> web.StreamResponse:
        query = query_of(request, ExportQuery)
        if query.first and query.last and query.first > query.last:
            raise ApiError(400, "from is after to")
        exports = request.app[SPREADSHEETS_KEY].exports
        # the workbook is written to a temporary file (a zip is finished only at its end),
        # then sent from there: memory stays bounded whatever the table's size
        with tempfile.TemporaryFile() as file:
            await exports.write_xlsx(
                what, file, ExportRange(query.first, query.last), ExportHead(query.headers, query.lang)
            )
            await asyncio.to_thread(file.seek, 0)
            response = web.StreamResponse(headers={
                "Content-Type": MEDIA_TYPE,
                "Content-Disposition": f'attachment; filename="{what}.xlsx"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            })
            await response.prepare(request)
            while part := await asyncio.to_thread(file.read, CHUNK):
                await response.write(part)
        await response.write_eof()
        return response

    export.__doc__ = f"The {what} as an Excel workbook (.xlsx); text cells are text, never formulas."
    return export


def register(app: web.Application, spreadsheets: Spreadsheets) -> None:
    app[SPREADSHEETS_KEY] = spreadsheets
    route(app, "POST", "/api/import/customers", import_customers,
          summary="Import customers from a CSV file or an Excel workbook",
          roles={"admin"}, denied="admins only", answer=ImportResult, target="customer", query=ImportQuery,
          errors={400: "the file is not text in its encoding, not a readable workbook (or too large unpacked),"
                               " or has no header", 413: "file too large"})
    for what in EXPORTS:
        route(app, "GET", f"/api/export/{what}.csv", _exporter(what), summary=f"Export the {what} as CSV",
              roles=SUPERVISOR_ROLES, query=ExportQuery, media_type="text/csv")
        route(app, "GET", f"/api/export/{what}.xlsx", _workbook_exporter(what),
              summary=f"Export the {what} as an Excel workbook", roles=SUPERVISOR_ROLES, query=ExportQuery,
              media_type=MEDIA_TYPE)
