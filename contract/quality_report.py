"""The per-person quality report a result's meta carries (`quality`, format version 2), in words: what the
panel shows after a run and batch.py prints, so an animator knows which frames to clean up."""
from __future__ import annotations


def _ranges(spans: list[list[int]]) -> str:
    return ", ".join(f"{first}-{last}" if first != last else f"{first}" for first, last in spans)


def report_lines(quality: object) -> list[str]:
    """The report in words, a line per person, for the panel and batch.py; none for a result without one (or
    with one this reader cannot follow: it is extra information, not a reason to refuse the result)."""
    try:
        return [_line(entry) for entry in quality or ()]
    except (KeyError, TypeError, ValueError):
        return []


def _line(entry: dict) -> str:
    parts = [f"person {entry['track']}: {entry['frames']} frame(s) ({_ranges(entry['present'])})"]
    if entry["reprojection_px"] is not None:
        parts.append(f"{entry['reprojection_px']:.1f} px off the landmarks")
    if entry["jitter_mm"] is not None:
        parts.append(f"jitter {entry['jitter_mm']:.1f} mm")
    flagged = _ranges(entry["unreliable"])
    parts.append(f"check frames {flagged}" if flagged else "no frame flagged")
    return "; ".join(parts)
