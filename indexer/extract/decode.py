"""Raw bytes of a saved or fetched page to text, treating every byte as hostile."""

from __future__ import annotations

import codecs
import os
import re
import stat
import unicodedata

from charset_normalizer import from_bytes
from charset_normalizer.md import mess_ratio

from indexer.extract.errors import CleanError

MB = 1024 * 1024
KB = 1024
MAX_BYTES = 20 * MB
SNIFF_BYTES = 8 * KB
META_BYTES = 4 * KB
# Text has almost no C0 control bytes; random binary has about 10%.
MAX_CONTROL_RATIO = 0.05
# charset_normalizer's scale: correct decodings score near 0, mojibake well above 0.2.
MAX_MESS = 0.2
# Its default threshold (0.2) drops some correct short ISO-8859-2 guesses; a wrong guess
# beats none, because the only alternative left is U+FFFD everywhere.
GUESS_THRESHOLD = 0.5
# Encodings our languages use (be/ru/uk, de/fr/nl/en, pl/cs), likeliest first: exact ties go
# to the earlier one, because English pages with one "ñ" score the same in cp1250 and cp1252.
# UTF-16 is absent: without a BOM it always has NULs, handled by _utf16_without_bom.
GUESS_CANDIDATES = ("cp1251", "koi8_r", "koi8_u", "cp1252", "cp1250", "iso8859_2", "latin_1")
# charset_normalizer scores closer than this are a tie.
TIE = 1e-3
# Enough text to meet the rare accented letter; the regexes cost about 50 ms per million.
CHECK_CHARS = 256 * 1024
CYRILLIC_RUN = re.compile(r"[\u0400-\u04ff]+")
# Latin text read in a Cyrillic code page glues Cyrillic to Latin ("ideeлn", "vууr"); real
# Cyrillic text does that only in typos and homoglyphs ("SWIFTу", "HARPООN"), rarely.
GLUED = re.compile(r"[A-Za-z][\u0400-\u04ff]|[\u0400-\u04ff][A-Za-z]")
MAX_GLUED = 0.5
# Lower case then upper case inside a word: KOI8 read as windows-1251 or back ("нЩ ЧНЕУФЕ").
CASE_FLIP = re.compile(r"[а-яёіїєґў][А-ЯЁІЇЄҐЎ]")
MAX_CASE_FLIPS = 0.02
MAGIC = (
    (b"%PDF-", "PDF"),
    (b"PK\x03\x04", "ZIP/DOCX"),
    (b"PK\x05\x06", "ZIP/DOCX"),
    (b"\x1f\x8b", "GZIP"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
)
# UTF-32 first: its little-endian BOM starts with the UTF-16 one.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Browsers read these labels as windows-1252, and so do the pages that declare them.
WEB_ALIASES = {"iso8859-1": "cp1252", "ascii": "cp1252"}
# The control characters text never has (ESC: ISO-2022 uses it); a regex counts them ten times faster than
# str.translate with a table, which looks every character up in a dict.
CONTROL_CHARS = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([a-z0-9_.:-]+)""", re.IGNORECASE)
# An XHTML page's <?xml encoding="..."?> declares its charset as much as a <meta> does.
XML_ENCODING = re.compile(rb"""\A\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']\s*([a-z0-9_.:-]+)""", re.IGNORECASE)
DECLARED_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([a-z0-9_.:-]+)""", re.IGNORECASE)


def read_bytes(path: str | os.PathLike, *, max_bytes: int = MAX_BYTES) -> bytes:
    """Return the file's bytes, refusing non-files, empty files and files over max_bytes."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        # Opening a FIFO or device could block forever or never end.
        raise CleanError("not a regular file; pass a saved page")
    if info.st_size > max_bytes:
        raise CleanError(_over_limit(info.st_size, max_bytes))
    if info.st_size == 0:
        raise CleanError("file is empty")
    with open(path, "rb") as f:
        # The file may grow between stat and read: never read more than the limit allows.
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise CleanError(_over_limit(len(data), max_bytes))
    if not data:
        raise CleanError("file is empty")
    return data


def decode(data: bytes, *, declared: str | None = None, is_html: bool = False) -> str:
    """Return the text of a page's bytes, NFC with \\n newlines; raise CleanError for binary."""
    _refuse_magic(data)
    for bom, codec in BOMS:
        if data.startswith(bom):
            text = _lenient(data[len(bom) :], codec)
            _refuse_controls(text[:SNIFF_BYTES])
            return _normalise(text)
    if b"\x00" in data[:SNIFF_BYTES]:
        return _normalise(_utf16_without_bom(data))
    # Latin-1 maps each byte to one character, so the ratio counts bytes.
    _refuse_controls(data[:SNIFF_BYTES].decode("latin-1"))
    return _normalise(_decode_unmarked(data, declared, is_html))


def _decode_unmarked(data: bytes, declared: str | None, is_html: bool) -> str:
    """Decode bytes without a BOM: UTF-8 if it is, else a declaration that fits, else a guess."""
    utf8 = _strict(data, "utf-8")
    if utf8 is not None and not utf8.isascii():
        # Valid multi-byte UTF-8 is almost never an accident, whatever the page declares.
        return utf8
    if data.isascii():
        # Reads the same in every charset worth declaring (UTF-7 and ISO-2022 are not).
        return data.decode("ascii")
    for codec in _declared_codecs(data, declared, is_html):
        if codec.startswith("utf-8"):
            continue
        text = _strict(data, codec)
        if text is not None and _looks_right(text):
            return text
    guess = _guess(data)
    if guess is not None:
        return guess
    # Only a cut-off last character kept strict UTF-8 from succeeding.
    if utf8 is not None:
        return utf8
    return data.decode("utf-8", errors="replace")


def _guess(data: bytes) -> str | None:
    """Return the text in the likeliest of GUESS_CANDIDATES that reads right, or None."""
    matches = from_bytes(data, cp_isolation=list(GUESS_CANDIDATES), threshold=GUESS_THRESHOLD)
    ranked = sorted(matches, key=lambda m: (round(m.chaos / TIE), -round(m.coherence / TIE), _preference(m.encoding)))
    for match in ranked:
        text = _lenient(data, match.encoding)
        # Its sampling can miss the one "vóór" that windows-1251 turns into "vууr".
        if _looks_right(text):
            return text
    return None


def _preference(codec: str) -> int:
    """Return the rank of a codec in GUESS_CANDIDATES, unknown ones last."""
    return GUESS_CANDIDATES.index(codec) if codec in GUESS_CANDIDATES else len(GUESS_CANDIDATES)


def _declared_codecs(data: bytes, declared: str | None, is_html: bool) -> list[str]:
    """Return the usable codecs the header/sidecar, the HTML <meta> and the XML declaration declare, in that order."""
    found = []
    if declared:
        match = DECLARED_CHARSET.search(declared)
        found.append(_codec(match.group(1) if match else declared))
    if is_html:
        for pattern in (META_CHARSET, XML_ENCODING):
            match = pattern.search(data[:META_BYTES])
            if match:
                found.append(_codec(match.group(1).decode("ascii")))
    return [codec for codec in found if codec is not None]


def _codec(name: str) -> str | None:
    """Return Python's name for a declared charset, or None if unknown or not a text encoding."""
    name = name.strip().strip("\"'").lower()
    for candidate in (name, name.removeprefix("x-"), re.sub(r"^(x-)?(windows|win|cp)-?", "cp", name)):
        try:
            info = codecs.lookup(candidate)
            # Rejects zlib, base64, rot13 ...: a hostile <meta> must not make us decompress.
            b"a".decode(info.name, errors="ignore")
        except (LookupError, ValueError):
            continue
        return WEB_ALIASES.get(info.name, info.name)
    return None


def _strict(data: bytes, codec: str) -> str | None:
    """Decode strictly, dropping only a character cut off at the end; None on any other error."""
    try:
        return codecs.getincrementaldecoder(codec)(errors="strict").decode(data, final=False)
    except (ValueError, LookupError):  # ValueError covers UnicodeError: "utf-16" without a BOM
        return None


def _lenient(data: bytes, codec: str) -> str:
    """Decode strictly if possible, else with U+FFFD for the bytes that do not fit."""
    text = _strict(data, codec)
    return text if text is not None else data.decode(codec, errors="replace")


def _looks_right(text: str) -> bool:
    """Return True unless the text reads like mojibake: glued scripts, case flips, stray symbols."""
    sample = text[:CHECK_CHARS]
    runs = len(CYRILLIC_RUN.findall(sample))
    if runs and (
        len(GLUED.findall(sample)) > MAX_GLUED * runs or len(CASE_FLIP.findall(sample)) > MAX_CASE_FLIPS * runs
    ):
        return False
    return mess_ratio(sample[:SNIFF_BYTES], MAX_MESS) < MAX_MESS


def _utf16_without_bom(data: bytes) -> str:
    """Return UTF-16 text whose NULs are the high bytes of ASCII characters, else refuse as binary."""
    sample = data[:SNIFF_BYTES]
    nul_even = sample[0::2].count(0)
    nul_odd = sample[1::2].count(0)
    codec = "utf-16-le" if nul_even == 0 else "utf-16-be" if nul_odd == 0 else None
    text = _strict(data, codec) if codec else None
    if text is None:
        raise CleanError("binary file (contains NUL bytes), not a page")
    _refuse_controls(text[:SNIFF_BYTES])
    return text


def _refuse_magic(data: bytes) -> None:
    """Raise CleanError if the bytes start like a known binary format."""
    for magic, kind in MAGIC:
        if data.startswith(magic):
            raise CleanError(f"binary file ({kind}), not a page")


def _refuse_controls(chars: str) -> None:
    """Raise CleanError if too many characters are controls that never occur in text."""
    if not chars:
        return
    ratio = len(CONTROL_CHARS.findall(chars)) / len(chars)
    if ratio > MAX_CONTROL_RATIO:
        raise CleanError(f"binary file ({ratio:.0%} control bytes), not a page")


def _normalise(text: str) -> str:
    """Return the text in NFC with \\n line ends and no NUL characters or leftover BOM."""
    text = text.replace("\x00", "")
    if "\r" in text:  # finding one character is quicker than looking for a pair that is not there
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.removeprefix("\ufeff")
    return unicodedata.normalize("NFC", text)


def _over_limit(size: int, limit: int) -> str:
    """Return the message for a file over the size limit."""
    shown, limit_shown = _size(size), _size(limit)
    if shown == limit_shown:
        # Rounding would print "20 MB, over the 20 MB limit".
        shown, limit_shown = f"{size} bytes", f"{limit} bytes"
    return f"file is {shown}, over the {limit_shown} limit; raise --max-bytes or split it"


def _size(n: int) -> str:
    """Return a byte count as people read it: 52.4 MB, 20 MB, 3.5 KB, 100 bytes."""
    for unit, name in ((MB, "MB"), (KB, "KB")):
        if n >= unit:
            return f"{n / unit:.1f}".removesuffix(".0") + f" {name}"
    return f"{n} bytes"
