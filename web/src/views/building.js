// A building in 3D: its IFC model as /bim/<uid>/scene.glb (fetched with the token), one node per
// element carrying its uid, IFC class and storey (glTF extras → three.js userData). Storeys can
// be isolated, houses coloured by occupancy or by open alarms, and a click on a space shows who
// lives there and which devices it has (8.2.1.1.3 c).

import * as THREE from "three";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
import { GLTFLoader } from "three/examples/jsm/loaders/GLTFLoader.js";
import { deviceUid, entityLink, esc, gql, request } from "../api.js";

const OCCUPANCY = `query($uids: [ID!]!) { entities(uids: $uids) { uid caption
  ... on House { residents { uid } } ... on Unit { houses { uid residents { uid } } } } }`;
const ALARMS = `{ alarms(liveOnly: true, first: 500) { uid kind severity entityUid device building } }`;
const SPACE = `query($uid: ID!) { entity(uid: $uid) { uid label caption
  ... on House { room floor area: areaM2 residents { uid caption via { name value } } devices { uid caption category online } }
  ... on Unit { name houses { uid caption residents { uid caption } } devices { uid caption category online } } } }`;

const COLOURS = {
  occupied: 0x40c057,
  vacant: 0xdee2e6,
  alarm: 0xe03131,
  quiet: 0x74c0fc,
  structure: 0xced4da,
  picked: 0xfab005,
};

/** The element a mesh belongs to: the nearest ancestor carrying glTF extras with an IFC class. */
function elementOf(object) {
  for (let o = object; o; o = o.parent) if (o.userData?.ifc_class) return o;
  return null;
}

function storeyNumber(uid) {
  return Number(String(uid).split("-").at(-1)) || 0;
}

export async function mount(element, route) {
  const uid = route.arg;
  element.innerHTML = `
    <div class="scene" id="scene"></div>
    <aside class="panel">
      <form class="pick"><label>Building <input name="uid" value="${esc(uid ?? "")}" placeholder="building:E01B01" /></label><button>Open</button></form>
      <label>Storey <select name="storey"><option value="">all storeys</option></select></label>
      <label>Colour houses by <select name="mode"><option value="occupancy">occupancy</option><option value="alarm">open alarms</option></select></label>
      <p class="legend3d"></p>
      <p class="error"></p>
      <section class="space"></section>
    </aside>`;
  element.querySelector(".pick").addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/building/${encodeURIComponent(new FormData(event.target).get("uid"))}`;
  });
  const error = element.querySelector(".error");
  if (!uid) {
    element.querySelector(".space").innerHTML = `<p class="muted">name a building with an imported IFC model, or open one from its profile</p>`;
    return;
  }

  const box = element.querySelector("#scene");
  const renderer = new THREE.WebGLRenderer({ antialias: true });
  renderer.setPixelRatio(window.devicePixelRatio);
  renderer.setSize(box.clientWidth, box.clientHeight);
  box.appendChild(renderer.domElement);
  const scene = new THREE.Scene();
  scene.background = new THREE.Color(0xf1f3f5);
  scene.add(new THREE.HemisphereLight(0xffffff, 0x888888, 2.2));
  const sun = new THREE.DirectionalLight(0xffffff, 1.5);
  sun.position.set(30, 60, 20);
  scene.add(sun);
  const camera = new THREE.PerspectiveCamera(45, box.clientWidth / box.clientHeight, 0.1, 5000);
  const controls = new OrbitControls(camera, renderer.domElement);
  let frame = 0;
  const render = () => {
    frame = requestAnimationFrame(render);
    controls.update();
    renderer.render(scene, camera);
  };
  const resize = () => {
    camera.aspect = box.clientWidth / box.clientHeight;
    camera.updateProjectionMatrix();
    renderer.setSize(box.clientWidth, box.clientHeight);
  };
  window.addEventListener("resize", resize);
  const teardown = () => {
    cancelAnimationFrame(frame);
    window.removeEventListener("resize", resize);
    controls.dispose();
    renderer.dispose();
    delete window.twinhoodScene;
  };

  let gltf;
  try {
    const answer = await request(`/bim/${encodeURIComponent(uid)}/scene.glb`);
    if (!answer.ok) throw new Error((await answer.json().catch(() => ({}))).detail ?? `scene: HTTP ${answer.status}`);
    gltf = await new GLTFLoader().parseAsync(await answer.arrayBuffer(), "");
  } catch (exc) {
    error.textContent = exc.message;
    return teardown;
  }
  const model = gltf.scene;
  scene.add(model);

  // every element, its storey, and the spaces (houses and units) among them
  const elements = [];
  model.traverse((o) => {
    if (o.userData?.ifc_class) elements.push(o);
    if (o.isMesh) o.material = o.material.clone();
  });
  const spaces = elements.filter((o) => o.userData.ifc_class === "IfcSpace" && o.userData.uid);
  const meshesOf = (o) => {
    const found = [];
    o.traverse((m) => m.isMesh && found.push(m));
    return found;
  };
  const paint = (o, colour, opacity) => {
    for (const m of meshesOf(o)) {
      m.material.color.setHex(colour);
      m.material.transparent = opacity < 1;
      m.material.opacity = opacity;
      m.material.depthWrite = opacity >= 1;
    }
  };
  for (const o of elements) if (o.userData.ifc_class !== "IfcSpace") paint(o, COLOURS.structure, 0.18);

  const storeys = [...new Set(elements.map((o) => o.userData.storey).filter(Boolean))].sort((a, b) => storeyNumber(a) - storeyNumber(b));
  const storeySelect = element.querySelector("select[name=storey]");
  storeySelect.insertAdjacentHTML("beforeend", storeys.map((s) => `<option value="${esc(s)}">${esc(s)}</option>`).join(""));
  storeySelect.addEventListener("change", () => {
    for (const o of elements) o.visible = !storeySelect.value || o.userData.storey === storeySelect.value;
  });

  // camera on the whole model
  const bounds = new THREE.Box3().setFromObject(model);
  const centre = bounds.getCenter(new THREE.Vector3());
  const size = bounds.getSize(new THREE.Vector3()).length();
  camera.position.copy(centre).add(new THREE.Vector3(size * 0.6, size * 0.55, size * 0.75));
  camera.near = size / 500;
  camera.far = size * 20;
  camera.updateProjectionMatrix();
  controls.target.copy(centre);
  render();

  // colour houses by occupancy or alarm
  const status = new Map(); // space uid -> "occupied" | "vacant" | "alarm" | "quiet"
  let picked = null;
  const recolour = () => {
    for (const s of spaces) paint(s, s === picked ? COLOURS.picked : COLOURS[status.get(s.userData.uid)] ?? COLOURS.vacant, 0.85);
  };
  const legend = element.querySelector(".legend3d");
  const colourBy = async (mode) => {
    status.clear();
    const uids = spaces.map((s) => s.userData.uid);
    if (mode === "occupancy") {
      const { entities } = await gql(OCCUPANCY, { uids });
      for (const e of entities) {
        const people = e.residents?.length ?? (e.houses ?? []).reduce((n, h) => n + h.residents.length, 0);
        status.set(e.uid, people > 0 ? "occupied" : "vacant");
      }
      legend.innerHTML = `<i class="sw occupied"></i> occupied <i class="sw vacant"></i> vacant`;
    } else {
      const { alarms } = await gql(ALARMS);
      const devices = new Set(alarms.map((a) => deviceUid(a.device)));
      const alarmed = new Set(alarms.map((a) => a.entityUid));
      for (const s of spaces) status.set(s.userData.uid, alarmed.has(s.userData.uid) ? "alarm" : "quiet");
      for (const o of elements) if (devices.has(o.userData.uid)) paint(o, COLOURS.alarm, 1);
      legend.innerHTML = `<i class="sw alarm"></i> open alarm <i class="sw quiet"></i> none`;
    }
    recolour();
  };
  const modeSelect = element.querySelector("select[name=mode]");
  modeSelect.addEventListener("change", () => colourBy(modeSelect.value).catch((exc) => (error.textContent = exc.message)));
  await colourBy("occupancy").catch((exc) => (error.textContent = exc.message));

  // click a space: its residents and devices
  const panel = element.querySelector(".space");
  const showSpace = async (space) => {
    picked = space;
    recolour();
    const { entity: e } = await gql(SPACE, { uid: space.userData.uid });
    if (!e) {
      panel.innerHTML = `<p class="muted">${esc(space.userData.uid)} is not in the graph</p>`;
      return;
    }
    const residents = e.residents ?? (e.houses ?? []).flatMap((h) => h.residents);
    panel.innerHTML = `<h3>${entityLink(e.uid, e.caption)}</h3><p><span class="label">${esc(e.label)}</span>
      ${esc(space.userData.name ?? "")} · ${esc(space.userData.storey ?? "")}</p>
      <h4>Residents <span class="count">${residents.length}</span></h4>
      <ul class="residents">${residents.map((p) => `<li>${entityLink(p.uid, p.caption)}</li>`).join("") || '<li class="muted">nobody lives here</li>'}</ul>
      <h4>Devices <span class="count">${e.devices.length}</span></h4>
      <ul>${e.devices.map((d) => `<li>${entityLink(d.uid, d.caption)} <small>${esc(d.category)} · ${d.online === false ? "offline" : "online"}</small></li>`).join("") || '<li class="muted">none</li>'}</ul>`;
  };
  const pointer = new THREE.Vector2();
  const ray = new THREE.Raycaster();
  renderer.domElement.addEventListener("click", (event) => {
    const rect = renderer.domElement.getBoundingClientRect();
    pointer.set(((event.clientX - rect.left) / rect.width) * 2 - 1, -((event.clientY - rect.top) / rect.height) * 2 + 1);
    ray.setFromCamera(pointer, camera);
    const hits = ray.intersectObjects(spaces.filter((s) => s.visible), true);
    const space = hits.length ? elementOf(hits[0].object) : null;
    if (space) showSpace(space).catch((exc) => (error.textContent = exc.message));
  });

  // for the end-to-end tests: where on the screen a space is, to click it as a person would
  window.twinhoodScene = {
    spaces: () => spaces.filter((s) => s.visible).map((s) => s.userData.uid),
    storeys: () => storeys,
    colourOf: (spaceUid) => status.get(spaceUid) ?? null,
    screenPoint(spaceUid) {
      // the middle of the space's top face, which the camera above sees
      const b = new THREE.Box3().setFromObject(spaces.find((o) => o.userData.uid === spaceUid));
      const p = new THREE.Vector3((b.min.x + b.max.x) / 2, b.max.y - 0.01, (b.min.z + b.max.z) / 2).project(camera);
      const rect = renderer.domElement.getBoundingClientRect();
      return { x: rect.left + ((p.x + 1) / 2) * rect.width, y: rect.top + ((1 - p.y) / 2) * rect.height };
    },
  };
  element.querySelector(".scene").dataset.ready = "true";
  const wanted = route.params.get("space");
  const first = spaces.find((s) => s.userData.uid === wanted);
  if (first) showSpace(first);
  return teardown;
}
