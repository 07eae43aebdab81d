// The map: our own vector tiles (estates, grids, roads, buildings, devices by online state), open
// alarms kept live by the `alarmChanged` subscription, a click opens the feature's profile, and a
// person's or vehicle's trajectory replayed with a time slider (8.2.1.1.1 i).
//
// There are no remote tiles, fonts or glyphs: the style is built here from /tiles/*.json, and
// labels are HTML (popups and the side panel), so the map needs nothing but the API.

import * as maplibregl from "maplibre-gl";
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?url";
import { authHeaders, deviceUid, esc, gql, subscribe, when } from "../api.js";
import { renderProfile } from "../profile-panel.js";

maplibregl.setWorkerUrl(workerUrl); // the bundled worker, served beside the app

const LAYERS = ["boundaries", "grids", "roads", "buildings", "devices"];
const CLICKABLE = ["devices", "buildings", "grids-fill", "estates"];

const OPEN_ALARMS = `{ alarms(liveOnly: true, first: 200) { uid kind severity status device entityUid building openedAt description } }`;
const CHANGES = `subscription { alarmChanged { change alarm { uid kind severity status device entityUid building openedAt description live } } }`;
const WHERE = `query($uids: [ID!]!) { entities(uids: $uids) { uid ... on Device { lon lat } ... on Building { lon lat } } }`;
const TRAJECTORY = `query($uid: ID!) { profile(uid: $uid, eventsLimit: 1) }`;

function style(origin) {
  const source = (layer) => ({ type: "vector", url: `${origin}/tiles/${layer}.json` });
  return {
    version: 8,
    sources: Object.fromEntries(LAYERS.map((l) => [l, source(l)])),
    layers: [
      { id: "background", type: "background", paint: { "background-color": "#eef0ea" } },
      {
        id: "estates",
        type: "fill",
        source: "boundaries",
        "source-layer": "boundaries",
        filter: ["==", ["get", "kind"], "estate"],
        paint: { "fill-color": "#dfe8d2", "fill-outline-color": "#7c9a5c" },
      },
      {
        id: "grids-fill",
        type: "fill",
        source: "grids",
        "source-layer": "grids",
        paint: { "fill-color": "#6a8caf", "fill-opacity": 0.06 },
      },
      {
        id: "grids",
        type: "line",
        source: "grids",
        "source-layer": "grids",
        paint: { "line-color": "#4a6a8f", "line-width": 1.5, "line-dasharray": [3, 2] },
      },
      {
        id: "roads",
        type: "line",
        source: "roads",
        "source-layer": "roads",
        paint: { "line-color": "#ffffff", "line-width": ["interpolate", ["linear"], ["zoom"], 14, 2, 19, 12] },
      },
      {
        id: "buildings",
        type: "fill",
        source: "buildings",
        "source-layer": "buildings",
        paint: { "fill-color": "#c9b9a6", "fill-outline-color": "#8a735a" },
      },
      {
        id: "buildings-selected",
        type: "line",
        source: "buildings",
        "source-layer": "buildings",
        filter: ["==", ["get", "uid"], ""],
        paint: { "line-color": "#d9480f", "line-width": 3 },
      },
      {
        id: "devices",
        type: "circle",
        source: "devices",
        "source-layer": "devices",
        minzoom: 16,
        paint: {
          "circle-radius": ["interpolate", ["linear"], ["zoom"], 16, 2.5, 20, 6],
          "circle-color": ["case", ["==", ["get", "online"], true], "#2b8a3e", ["==", ["get", "online"], false], "#c92a2a", "#868e96"],
          "circle-stroke-color": "#fff",
          "circle-stroke-width": 0.5,
        },
      },
    ],
  };
}

export async function mount(element, route) {
  element.innerHTML = `
    <div id="map" class="map"></div>
    <aside class="panel">
      <section class="legend">
        <span><i class="dot online"></i>device online</span>
        <span><i class="dot offline"></i>offline</span>
        <span><i class="dot alarm"></i>open alarm</span>
        <span class="live" title="alarm subscription">○ alarms</span>
      </section>
      <form class="trajectory">
        <label>Trajectory of <input name="uid" placeholder="person:… or vehicle:…" /></label>
        <button type="submit">Replay</button>
        <div class="player" hidden>
          <button type="button" class="play">▶</button>
          <input type="range" class="slider" min="0" value="0" />
          <span class="at"></span>
        </div>
        <p class="error"></p>
      </form>
      <section class="alarm-list"><h3>Open alarms <span class="count">0</span></h3><ul></ul></section>
      <section class="profile"></section>
    </aside>`;
  const panel = element.querySelector(".profile");
  const origin = location.origin;
  const tilejson = await fetch("/tiles/buildings.json").then((r) => r.json());
  const map = new maplibregl.Map({
    container: element.querySelector("#map"),
    style: style(origin),
    bounds: tilejson.bounds,
    fitBoundsOptions: { padding: 40 },
    maxZoom: 20,
    attributionControl: false,
    transformRequest: (url) => (url.startsWith(origin) ? { url, headers: authHeaders() } : { url }),
  });
  map.addControl(new maplibregl.NavigationControl(), "top-left");
  window.twinhoodMap = map; // for the end-to-end tests and the console

  // first meaningful paint: the first idle with buildings drawn, in ms since navigation started
  const painted = () => {
    if (document.body.dataset.mapPaintMs) return;
    if (map.queryRenderedFeatures({ layers: ["buildings"] }).length > 0) {
      document.body.dataset.mapPaintMs = String(Math.round(performance.now()));
      map.off("idle", painted);
    }
  };
  map.on("idle", painted);

  // a click opens the profile of the feature under the pointer
  map.on("click", (event) => {
    const hit = map.queryRenderedFeatures(event.point, { layers: CLICKABLE })[0];
    if (!hit?.properties.uid) return;
    map.setFilter("buildings-selected", ["==", ["get", "uid"], hit.layer.id === "buildings" ? hit.properties.uid : ""]);
    renderProfile(panel, hit.properties.uid, { onTrajectory: replay });
  });
  for (const layer of CLICKABLE) {
    map.on("mouseenter", layer, () => (map.getCanvas().style.cursor = "pointer"));
    map.on("mouseleave", layer, () => (map.getCanvas().style.cursor = ""));
  }

  // open alarms: HTML markers at their device (or building), kept live by the subscription
  const alarms = new Map(); // uid -> {alarm, marker}
  const places = new Map(); // device/building uid -> [lon, lat]
  const list = element.querySelector(".alarm-list ul");
  const count = element.querySelector(".alarm-list .count"); // held: updates may land after the view is left
  const drawList = () => {
    count.textContent = String(alarms.size);
    list.innerHTML = [...alarms.values()]
      .sort((a, b) => a.alarm.severity - b.alarm.severity)
      .map(
        ({ alarm: a }) => `<li class="alarm sev${a.severity}" data-alarm="${esc(a.uid)}">
          <b>${esc(a.kind)}</b> · ${esc(a.status)} · ${esc(a.device ?? a.entityUid)} <small>${esc(when(a.openedAt))}</small></li>`,
      )
      .join("");
  };
  const placeOf = (a) => deviceUid(a.device) ?? a.building;
  const show = async (batch) => {
    const missing = [...new Set(batch.map(placeOf).filter((u) => u && !places.has(u)))];
    if (missing.length) {
      const { entities } = await gql(WHERE, { uids: missing });
      for (const e of entities) if (e.lon != null) places.set(e.uid, [e.lon, e.lat]);
    }
    for (const a of batch) {
      const known = alarms.get(a.uid);
      const open = a.live !== false && !["resolved", "closed", "cleared"].includes(a.status);
      if (!open) {
        known?.marker?.remove();
        alarms.delete(a.uid);
        continue;
      }
      if (known) {
        known.alarm = a;
        continue;
      }
      const at = places.get(placeOf(a));
      let marker = null;
      if (at) {
        const dot = document.createElement("div");
        dot.className = `alarm-marker sev${a.severity}`;
        dot.dataset.alarm = a.uid;
        dot.title = `${a.kind}: ${a.description ?? ""}`;
        dot.addEventListener("click", (event) => {
          event.stopPropagation();
          renderProfile(panel, a.entityUid, { onTrajectory: replay });
        });
        marker = new maplibregl.Marker({ element: dot }).setLngLat(at).addTo(map);
      }
      alarms.set(a.uid, { alarm: a, marker });
    }
    drawList();
  };
  list.addEventListener("click", (event) => {
    const item = alarms.get(event.target.closest("[data-alarm]")?.dataset.alarm);
    if (item?.marker) map.flyTo({ center: item.marker.getLngLat(), zoom: 18 });
    if (item) renderProfile(panel, item.alarm.entityUid, { onTrajectory: replay });
  });
  const liveBadge = element.querySelector(".live");
  const stop = subscribe(
    CHANGES,
    {},
    (data) => show([data.alarmChanged.alarm]),
    (state) => {
      liveBadge.textContent = state === "live" ? "● alarms live" : "○ alarms";
      liveBadge.classList.toggle("on", state === "live");
    },
  );
  gql(OPEN_ALARMS).then((data) => show(data.alarms));

  // trajectory replay
  const form = element.querySelector(".trajectory");
  const player = form.querySelector(".player");
  const slider = form.querySelector(".slider");
  let timer = null;
  let points = [];
  const moveTo = (i) => {
    const p = points[i];
    if (!p) return;
    slider.value = String(i);
    form.querySelector(".at").textContent = `${when(p.at)} · ${p.kind} · ${p.device}`;
    const line = { type: "Feature", geometry: { type: "LineString", coordinates: points.slice(0, i + 1).map((q) => [q.lon, q.lat]) } };
    map.getSource("trajectory").setData({
      type: "FeatureCollection",
      features: [line, { type: "Feature", properties: { head: true }, geometry: { type: "Point", coordinates: [p.lon, p.lat] } }],
    });
  };
  async function replay(uid, known) {
    form.querySelector(".error").textContent = "";
    form.elements.uid.value = uid;
    try {
      points = known ?? (await gql(TRAJECTORY, { uid })).profile.trajectory;
    } catch (exc) {
      form.querySelector(".error").textContent = exc.message;
      return;
    }
    if (!points.length) {
      form.querySelector(".error").textContent = "no passes recorded for this subject";
      player.hidden = true;
      return;
    }
    if (!map.getSource("trajectory")) {
      map.addSource("trajectory", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
      map.addLayer({ id: "trajectory-line", type: "line", source: "trajectory", paint: { "line-color": "#1971c2", "line-width": 3 } });
      map.addLayer({
        id: "trajectory-head",
        type: "circle",
        source: "trajectory",
        filter: ["==", ["get", "head"], true],
        paint: { "circle-radius": 7, "circle-color": "#1971c2", "circle-stroke-color": "#fff", "circle-stroke-width": 2 },
      });
    }
    player.hidden = false;
    slider.max = String(points.length - 1);
    const lons = points.map((p) => p.lon);
    const lats = points.map((p) => p.lat);
    map.fitBounds([Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)], { padding: 80, maxZoom: 18 });
    moveTo(0);
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    replay(form.elements.uid.value.trim());
  });
  slider.addEventListener("input", () => moveTo(Number(slider.value)));
  form.querySelector(".play").addEventListener("click", () => {
    clearInterval(timer);
    let i = Number(slider.value) >= points.length - 1 ? 0 : Number(slider.value);
    timer = setInterval(() => {
      moveTo(i++);
      if (i >= points.length) clearInterval(timer);
    }, 400);
  });
  const wanted = route.params.get("trajectory");
  if (wanted) map.once("load", () => replay(wanted));

  return () => {
    stop();
    clearInterval(timer);
    map.remove();
    delete window.twinhoodMap;
  };
}
