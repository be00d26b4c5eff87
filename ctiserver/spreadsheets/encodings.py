"""A CSV file's bytes to text: the encoding the user named, else the one its byte-order mark
says, else UTF-8 if it is, else the one ``charset-normalizer`` finds among those of Chinese
spreadsheets (GB18030, Big5, UTF-16). Decoding is strict: a byte the encoding does not
have refuses the file, with where it is, instead of storing garbled text.

Why a detector: GB18030 decodes most Big5 byte pairs into other characters, so "try UTF-8,
else GB18030" stored Taiwanese and Hong Kong files garbled.
"""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

#: the encodings a file of a Chinese hotline comes in, besides UTF-8 (tried first)
DETECTED = ("gb18030", "big5", "utf_16_le", "utf_16_be")
#: byte-order marks, longest first (UTF-32's starts like UTF-16's)
MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
#: files that are not text at all, by their first bytes
NOT_TEXT = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx), not a CSV file: save it as CSV"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97 workbook (.xls), not a CSV file: save it as CSV"),
    (b"%PDF", "a PDF document, not a CSV file"),
)


class UnreadableFile(ValueError):
    """The file as a whole cannot be read: not text, or no usable header row."""


def encoding_name(name: str) -> str:
    """The codec of a name the user gave (``big5``, ``GBK``, ``utf8``...); UnreadableFile if none."""
    try:
        return codecs.lookup(name.strip()).name
    except (LookupError, ValueError):
        raise UnreadableFile(f'unknown encoding "{name[:40]}"') from None


def decode(data: bytes, encoding: str | None = None) -> str:
    """The file's text (a byte-order mark dropped); UnreadableFile with the reason if the
    bytes are not text in the encoding named, marked or found."""
    for signature, what in NOT_TEXT:
        if data.startswith(signature):
            raise UnreadableFile(f"the file is {what}")
    if encoding:
        codec = encoding_name(encoding)
        if codec == "utf-8":
            codec = "utf-8-sig"
        return _strict(data, codec, f"the file is not {encoding.strip()} text")
    for mark, codec in MARKS:
        if data.startswith(mark):
            return _strict(data, codec, f"the file starts with a {codec.removesuffix('-sig').upper()} mark")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    found = list(from_bytes(data, cp_isolation=list(DETECTED)))
    # among equally likely readings (a few characters say little), the mainland's first
    best = min(found, key=lambda m: (m.chaos, -m.coherence, DETECTED.index(m.encoding)), default=None)
    if best is None:
        raise UnreadableFile(
            "the file's encoding is none of UTF-8, GB18030, Big5 or UTF-16 (or it is not text): "
            "name its encoding, or save it as CSV UTF-8"
        )
    return _strict(data, best.encoding, f"the file looks like {best.encoding}")


def _strict(data: bytes, codec: str, claim: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        # utf-8-sig counts after the mark it dropped
        skipped = len(codecs.BOM_UTF8) if codec == "utf-8-sig" and data.startswith(codecs.BOM_UTF8) else 0
        start, end = exc.start + skipped, exc.end + skipped
        line = data[:start].count(b"\n") + 1
        bad = data[start: min(end, start + 4)].hex(" ")
        raise UnreadableFile(
            f"{claim}: line {line} has bytes {bad} that are not {codec.removesuffix('-sig')}"
        ) from None
    except LookupError:
        raise UnreadableFile(f'unknown encoding "{codec}"') from None
