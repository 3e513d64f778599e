"""Reading a source file's bytes as Python would, and the RL000 finding when that fails.

Kept free of libcst so the prefilter and cache hits can decode without importing it.
"""

from __future__ import annotations

import io
import re
import tokenize
from typing import Optional, Sequence

from reglint.model import Finding
from reglint.registry import PARSE_ERROR


def parse_error(path: str, message: str, line: int = 1, column: int = 1) -> Finding:
    return Finding(
        code=PARSE_ERROR.code,
        name=PARSE_ERROR.name,
        severity=PARSE_ERROR.severity,
        message=message,
        path=path,
        line=line,
        column=column,
        end_line=line,
        end_column=column,
    )


def decode(data: bytes, path: str) -> tuple[Optional[str], Optional[Finding]]:
    """Decode as Python does (BOM, coding cookie, else UTF-8); a failure is an RL000 finding."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if "invalid or missing encoding" in str(exc.msg):
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as bad:
                line = data[: bad.start].count(b"\n") + 1
                return None, parse_error(
                    path, f"not valid UTF-8 (byte 0x{data[bad.start]:02x}) and no `# -*- coding: ... -*-` line names another encoding", line
                )
        return None, parse_error(path, f"cannot decode: {exc.msg}")
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        line = data[: getattr(exc, "start", 0)].count(b"\n") + 1
        hint = "" if encoding.lower().replace("_", "-") not in ("utf-8", "utf-8-sig") else "; add a `# -*- coding: ... -*-` line if it is another encoding"
        return None, parse_error(path, f"cannot decode as {encoding}: {exc.reason if hasattr(exc, 'reason') else exc}{hint}", line)
    if text.startswith("\ufeff"):  # a second BOM: the first was the encoding's, this one is a stray character
        return None, parse_error(path, "syntax error: invalid non-printable character U+FEFF")
    if "\x00" in text:
        return None, parse_error(path, "file contains NUL bytes; it is not Python source")
    return text, None


NEWLINE = re.compile(r"\r\n|\r|\n")  # where Python's lines end (not \f, \v or U+2028)


def physical_lines(text: str) -> list[str]:
    """The lines of `text` as Python counts them (\\r\\n, \\r or \\n), without their newlines."""
    return NEWLINE.split(text)


def edit_context(lines: Sequence[str], line: int, column: int, end_line: int) -> str:
    """The lines an edit from (`line`, `column`) to `end_line` touches, and the line above when it
    starts a line (an insertion there follows that line): what fixes compare before they write."""
    first = line - 1 if column <= 1 else line
    return "\n".join(lines[max(0, first - 1) : max(0, end_line)])
