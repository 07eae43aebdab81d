"""Where a model is on Earth: from IfcMapConversion, IfcSite latitude/longitude, or a location given.

The methods are tried in that order (the first that the file supports wins):

1. ``map_conversion``: IfcMapConversion + IfcProjectedCRS (IFC4, IFC4X3), or the IFC2X3
   ``ePSet_MapConversion`` / ``ePSet_ProjectedCRS`` property sets on IfcProject. Model metres
   become map coordinates by the Helmert transformation, then WGS84 by pyproj from the CRS named
   (``EPSG:25832``). A missing ``Scale`` is taken from the units (project unit → map unit).
2. ``site``: IfcSite RefLatitude/RefLongitude, at the site's placement origin, with the model
   turned by the TrueNorth of its representation context, on a local azimuthal-equidistant plane.
3. ``location``: the (longitude, latitude) the caller gives, for the model origin, with TrueNorth.

A model none of them places raises NoLocation. A site at 0°/0° is a default, not a place, and
is ignored with a warning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

import ifcopenshell.util.element
import ifcopenshell.util.placement
import numpy as np
import numpy.typing as npt
import pyproj
import shapely
from ifcopenshell.util.geolocation import dms2dd
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry

from bim.errors import NoLocation
from bim.model import IfcModel
from graph.errors import ValidationError

Method = Literal["map_conversion", "site", "location"]
WGS84 = "EPSG:4326"
_GEOD = pyproj.Geod(ellps="WGS84")
FRAME_AXES = "glTF: x = model X, y = up (model Z), z = -(model Y); metres; origin = model origin (0, 0, 0)"


@dataclass(frozen=True)
class Georeference:
    """A transformation of model coordinates (metres, world) to WGS84, and how it was found.

    Model (x, y) become map coordinates ``E = eastings + scale·(x·cos θ − y·sin θ)``,
    ``N = northings + scale·(x·sin θ + y·cos θ)`` in `crs`, then longitude/latitude.
    """

    method: Method
    crs: str  # the CRS of the map coordinates: a projected CRS, or a local plane for site/location
    eastings: float
    northings: float
    theta: float  # radians, counter-clockwise from map east to the model's X axis
    scale: float  # map units per model metre
    height_m: float | None = None
    source_crs: str | None = None  # the CRS the file names (map_conversion only)
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @cached_property
    def _transformer(self) -> pyproj.Transformer:
        crs = pyproj.CRS.from_user_input(self.crs)
        if self.method != "map_conversion":
            # A local plane on the WGS84 ellipsoid: to its own geographic CRS, PROJ builds the same
            # pipeline as to EPSG:4326, without searching its database for operations (~12 ms).
            return pyproj.Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
        return pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)

    def to_map(self, x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Return map coordinates (in `crs`) of model points in metres."""
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        cos, sin = math.cos(self.theta), math.sin(self.theta)
        return (
            self.eastings + self.scale * (x * cos - y * sin),
            self.northings + self.scale * (x * sin + y * cos),
        )

    def to_lonlat(self, x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Return WGS84 longitudes and latitudes of model points in metres."""
        e, n = self.to_map(x, y)
        lon, lat = self._transformer.transform(e, n)
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    def geometry_to_wgs84(self, geometry: BaseGeometry) -> BaseGeometry:
        """Return a 2D geometry in model metres as WGS84 (lon, lat)."""

        def move(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
            lon, lat = self.to_lonlat(coords[:, 0], coords[:, 1])
            return np.column_stack([lon, lat])

        return shapely.transform(geometry, move)

    @property
    def origin(self) -> tuple[float, float]:
        """(longitude, latitude) of the model origin."""
        lon, lat = self.to_lonlat([0.0], [0.0])
        return float(lon[0]), float(lat[0])

    @property
    def rotation_deg(self) -> float:
        """Counter-clockwise angle from true north to the model's +Y axis (and from east to its +X)."""
        lon, lat = self.to_lonlat([0.0, 0.0], [0.0, 10.0])
        azimuth, _, _ = _GEOD.inv(lon[0], lat[0], lon[1], lat[1])
        return round(-((float(azimuth) + 180.0) % 360.0 - 180.0), 9) + 0.0

    def frame(self) -> dict[str, Any]:
        """The scene's local frame: origin, rotation and CRS, as the JSON served beside the glTF."""
        lon, lat = self.origin
        return {
            "origin": {"lon": lon, "lat": lat, "height_m": self.height_m},
            "rotation_deg": self.rotation_deg,
            "crs": WGS84,
            "method": self.method,
            "source_crs": self.source_crs,
            "axes": FRAME_AXES,
            "units": "m",
        }


def _local_plane(lon: float, lat: float) -> str:
    return f"+proj=aeqd +lat_0={lat!r} +lon_0={lon!r} +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs +type=crs"


def _model_context(model: IfcModel) -> Any:
    contexts = model.by_type("IfcGeometricRepresentationContext")
    contexts = [c for c in contexts if not c.is_a("IfcGeometricRepresentationSubContext")]
    return next((c for c in contexts if c.ContextType == "Model"), contexts[0] if contexts else None)


def true_north_theta(model: IfcModel) -> float:
    """Return θ (radians, counter-clockwise from east to model X) from the context's TrueNorth; 0 without one."""
    context = _model_context(model)
    north = getattr(context, "TrueNorth", None) if context is not None else None
    if north is None or len(north.DirectionRatios) < 2:
        return 0.0
    nx, ny = (float(v) for v in north.DirectionRatios[:2])
    if nx == 0 and ny == 0:
        return 0.0
    return math.pi / 2 - math.atan2(ny, nx)


def _map_unit_m(crs: pyproj.CRS) -> float:
    axes = crs.axis_info
    return float(axes[0].unit_conversion_factor) if axes and axes[0].unit_conversion_factor else 1.0


def _conversion_values(model: IfcModel) -> tuple[dict[str, Any], str | None] | None:
    """Return the map conversion's parameters and the CRS name, from IFC4 entities or IFC2X3 psets."""
    if model.schema == "IFC2X3":
        project = model.by_type("IfcProject")[0]
        values = ifcopenshell.util.element.get_pset(project, "ePSet_MapConversion")
        if not values:
            return None
        crs = ifcopenshell.util.element.get_pset(project, "ePSet_ProjectedCRS") or {}
        return dict(values), crs.get("Name")
    for conversion in model.by_type("IfcMapConversion"):
        target = conversion.TargetCRS
        values = {
            name: getattr(conversion, name, None)
            for name in ("Eastings", "Northings", "OrthogonalHeight", "XAxisAbscissa", "XAxisOrdinate", "Scale")
        }
        return values, getattr(target, "Name", None)
    return None


def _from_map_conversion(model: IfcModel, warnings: list[str]) -> Georeference | None:
    found = _conversion_values(model)
    if found is None:
        return None
    values, crs_name = found
    try:
        crs = pyproj.CRS.from_user_input(str(crs_name))
    except CRSError:
        warnings.append(f"IfcMapConversion ignored: its CRS {crs_name!r} is not one pyproj knows")
        return None
    map_unit = _map_unit_m(crs)
    abscissa, ordinate = float(values.get("XAxisAbscissa") or 0.0), float(values.get("XAxisOrdinate") or 0.0)
    if abscissa == 0 and ordinate == 0:
        abscissa = 1.0
    given = values.get("Scale")
    if given is None:
        scale = 1.0 / map_unit
    elif model.schema.startswith("IFC4X3"):  # IFC4.3: Scale excludes the unit conversion
        scale = float(given) / map_unit
    else:  # IFC2X3/IFC4: Scale converts project units to map units
        scale = float(given) / model.length_scale
    if abs(scale * map_unit - 1.0) > 0.1:
        warnings.append(f"IfcMapConversion.Scale {given} contradicts the units; using the units' scale")
        scale = 1.0 / map_unit
    height = values.get("OrthogonalHeight")
    return Georeference(
        method="map_conversion",
        crs=crs.to_string(),
        eastings=float(values.get("Eastings") or 0.0),
        northings=float(values.get("Northings") or 0.0),
        theta=math.atan2(ordinate, abscissa),
        scale=scale,
        height_m=float(height) * map_unit if height is not None else None,
        source_crs=str(crs_name),
    )


def _anchored(lon: float, lat: float, theta: float, at: tuple[float, float], method: Method) -> Georeference:
    """A local plane centred on (lon, lat), where model point `at` lands."""
    cos, sin = math.cos(theta), math.sin(theta)
    x, y = at
    return Georeference(
        method=method,
        crs=_local_plane(lon, lat),
        eastings=-(x * cos - y * sin),
        northings=-(x * sin + y * cos),
        theta=theta,
        scale=1.0,
    )


def _from_site(model: IfcModel, warnings: list[str]) -> Georeference | None:
    for site in model.by_type("IfcSite"):
        if not site.RefLatitude or not site.RefLongitude:
            continue
        lat, lon = dms2dd(*site.RefLatitude), dms2dd(*site.RefLongitude)
        if lat == 0 and lon == 0:
            warnings.append("IfcSite latitude/longitude 0°/0° ignored (an exporter's default)")
            continue
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            warnings.append(f"IfcSite latitude/longitude {lat}/{lon} out of range, ignored")
            continue
        origin = (0.0, 0.0)
        if site.ObjectPlacement is not None:
            matrix = ifcopenshell.util.placement.get_local_placement(site.ObjectPlacement)
            origin = (float(matrix[0][3]) * model.length_scale, float(matrix[1][3]) * model.length_scale)
        georef = _anchored(lon, lat, true_north_theta(model), origin, "site")
        elevation = site.RefElevation
        height = float(elevation) * model.length_scale if elevation is not None else None
        return replace(georef, height_m=height)
    return None


def check_location(location: tuple[float, float]) -> tuple[float, float]:
    """Return a (longitude, latitude) pair, or raise ValidationError naming `location`."""
    try:
        lon, lat = (float(v) for v in location)
    except (TypeError, ValueError):
        raise ValidationError("location", location, "must be (longitude, latitude)") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90) or not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValidationError("location", location, "must be (longitude, latitude) in degrees, WGS84")
    return lon, lat


def georeference(model: IfcModel, location: tuple[float, float] | None = None) -> Georeference:
    """Return how the model's coordinates map to WGS84, trying the methods in the module's order."""
    given = check_location(location) if location is not None else None
    warnings: list[str] = []
    found = _from_map_conversion(model, warnings) or _from_site(model, warnings)
    if found is not None and given is not None:
        warnings.append(f"the location given was not used: the model is georeferenced by its {found.method}")
    if found is None and given is not None:
        found = _anchored(given[0], given[1], true_north_theta(model), (0.0, 0.0), "location")
    if found is None:
        raise NoLocation(model.path)
    return replace(found, warnings=tuple(warnings))
