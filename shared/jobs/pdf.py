"""The pdf-sections pipeline: PDF text with pypdf, split into sections, framed as one prompt."""

from __future__ import annotations

import io
import re

from shared.errors import Invalid

MAX_PROMPT_CHARS = 200_000
_HEADING = re.compile(r"^(?:\d+(?:\.\d+)*\.?\s+\S.{0,80}|[A-Z][A-Z0-9 ,:&-]{3,80})$")


def sections(data: bytes) -> list[tuple[str, str]]:
    """(title, text) per section: split at heading-like lines; a page is a section when none are found."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        pages = [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]
    except (PdfReadError, ValueError, KeyError) as exc:
        raise Invalid(f"could not read the PDF: {type(exc).__name__}") from None
    found: list[tuple[str, list[str]]] = []
    for line in "\n".join(pages).splitlines():
        stripped = line.strip()
        if stripped and _HEADING.match(stripped):
            found.append((stripped, []))
        elif found:
            found[-1][1].append(line)
    if len(found) >= 2:
        return [(title, "\n".join(body).strip()) for title, body in found]
    return [(f"Page {i}", text.strip()) for i, text in enumerate(pages, 1) if text.strip()]


def sections_prompt(instruction: str, data: bytes) -> str:
    parts = [instruction, "The document, section by section:"]
    for i, (title, text) in enumerate(sections(data), 1):
        parts.append(f"## Section {i}: {title}\n{text}")
    return "\n\n".join(parts)[:MAX_PROMPT_CHARS]
