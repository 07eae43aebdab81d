// The relationship explorer: search, put a hit on the canvas, expand a node's neighbours by
// relationship type, find the shortest path between two entities, see inferred ASSOCIATED_WITH
// edges (dashed) with their evidence, and open any node's profile beside the graph.

import cytoscape from "cytoscape";
import { esc, gql } from "../api.js";
import { renderProfile } from "../profile-panel.js";

const TYPES = [
  "LIVES_IN", "OWNS", "MEMBER_OF", "WORKS_AT", "LEGAL_REPRESENTATIVE_OF", "REGISTERED_AT", "LOCATED_IN",
  "INSTALLED_IN", "IN_GRID", "COVERS", "RESPONSIBLE_FOR", "SERVES_IN", "ASSOCIATED_WITH", "PASSED_THROUGH",
  "FLAGS", "WATCHES", "RAISED_ON", "SHOWN_BY", "ADJACENT_TO", "CONNECTS", "SERVES", "CONCERNS", "RECORDED_BY",
];
const COLOURS = {
  Person: "#1971c2", House: "#e8590c", Building: "#8a735a", Unit: "#b08968", Vehicle: "#0c8599",
  Device: "#5c940d", Grid: "#6741d9", Estate: "#2f9e44", Organisation: "#c2255c", Household: "#f08c00",
  Alarm: "#e03131", RiskFlag: "#e03131",
};

const SEARCH = `query($q: String!) { search(query: $q, mode: FULLTEXT, limit: 12) { uid kind title } }`;
const HOOD = `query($uid: ID!, $types: [String!]) {
  neighbourhood(uid: $uid, hops: 1, relTypes: $types, limit: 60) { nodes { uid label caption } edges { uid type start end since until } } }`;
const PATH = `query($a: ID!, $b: ID!) { shortestPath(start: $a, end: $b) { nodes { uid label caption } edges { uid type start end } } }`;
const ONE = `query($uid: ID!) { entity(uid: $uid) { uid label caption } }`;
const ASSOCIATES = `query($uid: ID!) { entity(uid: $uid) { ... on Person { associates { uid caption via { name value } } } } }`;

export function mount(element, route) {
  element.innerHTML = `
    <aside class="tools">
      <form class="search"><input name="q" placeholder="search names, plates, codes, addresses" /><button>Search</button></form>
      <ul class="hits"></ul>
      <section class="selected card" hidden>
        <h3 class="name"></h3>
        <label>Expand by <select name="type"><option value="">every relationship</option>
          ${TYPES.map((t) => `<option>${t}</option>`).join("")}</select></label>
        <button type="button" class="expand">Expand</button>
        <button type="button" class="from">Path from here</button>
        <button type="button" class="to">Path to here</button>
        <button type="button" class="profile-open">Profile</button>
      </section>
      <p class="path-state muted"></p>
      <section class="edge card" hidden></section>
      <p class="error"></p>
    </aside>
    <div class="graph" id="graph"></div>
    <aside class="profile panel"></aside>`;
  const error = element.querySelector(".error");
  const selectedBox = element.querySelector(".selected");
  const edgeBox = element.querySelector(".edge");
  const profile = element.querySelector(".profile");
  const pathState = element.querySelector(".path-state");
  const cy = cytoscape({
    container: element.querySelector("#graph"),
    maxZoom: 1.6,
    style: [
      {
        selector: "node",
        style: {
          label: "data(caption)",
          "font-size": 10,
          "text-valign": "bottom",
          "text-margin-y": 3,
          "background-color": "#868e96",
          width: 22,
          height: 22,
        },
      },
      ...Object.entries(COLOURS).map(([label, colour]) => ({ selector: `node[label = "${label}"]`, style: { "background-color": colour } })),
      { selector: "node:selected", style: { "border-width": 3, "border-color": "#fab005" } },
      {
        selector: "edge",
        style: {
          label: "data(type)",
          "font-size": 7,
          color: "#666",
          width: 1.5,
          "line-color": "#adb5bd",
          "target-arrow-shape": "triangle",
          "target-arrow-color": "#adb5bd",
          "curve-style": "bezier",
          "text-rotation": "autorotate",
        },
      },
      { selector: 'edge[type = "ASSOCIATED_WITH"]', style: { "line-style": "dashed", "line-color": "#f08c00", "target-arrow-color": "#f08c00", width: 2.5 } },
      { selector: "node.path", style: { "border-color": "#e03131", "border-width": 3 } },
      { selector: "edge.path", style: { "line-color": "#e03131", "target-arrow-color": "#e03131", width: 4 } },
    ],
  });
  window.twinhoodGraph = cy; // for the end-to-end tests and the console

  let focus = null;
  let pathStart = null;
  const layout = () => cy.layout({ name: "cose", animate: false, nodeRepulsion: 8000, idealEdgeLength: 90, padding: 40 }).run();
  const add = (sub) => {
    const fresh = [];
    for (const n of sub.nodes) if (cy.getElementById(n.uid).empty()) fresh.push({ group: "nodes", data: { id: n.uid, ...n } });
    cy.add(fresh);
    const edges = [];
    for (const e of sub.edges) {
      const id = e.uid || `${e.start}-${e.type}-${e.end}`;
      if (cy.getElementById(id).empty() && !cy.getElementById(e.start).empty() && !cy.getElementById(e.end).empty()) {
        edges.push({ group: "edges", data: { id, source: e.start, target: e.end, type: e.type } });
      }
    }
    cy.add(edges);
    layout();
    return fresh.length;
  };
  const select = (uid) => {
    focus = uid;
    cy.$(":selected").unselect();
    cy.getElementById(uid).select();
    selectedBox.hidden = false;
    selectedBox.querySelector(".name").innerHTML = `${esc(cy.getElementById(uid).data("caption"))} <small>${esc(uid)}</small>`;
  };
  const start = async (uid) => {
    const { entity } = await gql(ONE, { uid });
    if (!entity) throw new Error(`${uid} is not in the graph`);
    add({ nodes: [entity], edges: [] });
    select(uid);
  };
  const guard = (fn) => async (...args) => {
    error.textContent = "";
    try {
      await fn(...args);
    } catch (exc) {
      error.textContent = exc.message;
    }
  };

  element.querySelector(".search").addEventListener(
    "submit",
    guard(async (event) => {
      event.preventDefault();
      const q = new FormData(event.target).get("q");
      const { search } = await gql(SEARCH, { q });
      element.querySelector(".hits").innerHTML = search.length
        ? search.map((h) => `<li><a href="#" data-uid="${esc(h.uid)}">${esc(h.title)}</a> <small>${esc(h.kind)}</small></li>`).join("")
        : '<li class="muted">no hit</li>';
    }),
  );
  element.querySelector(".hits").addEventListener(
    "click",
    guard(async (event) => {
      const uid = event.target.closest("[data-uid]")?.dataset.uid;
      if (!uid) return;
      event.preventDefault();
      await start(uid);
    }),
  );
  element.querySelector(".expand").addEventListener(
    "click",
    guard(async () => {
      const type = selectedBox.querySelector("select").value;
      const { neighbourhood } = await gql(HOOD, { uid: focus, types: type ? [type] : null });
      const added = add(neighbourhood);
      pathState.textContent = `${added} new nodes around ${focus}`;
    }),
  );
  element.querySelector(".from").addEventListener("click", () => {
    pathStart = focus;
    pathState.textContent = `path from ${pathStart}: now pick the other end`;
  });
  element.querySelector(".to").addEventListener(
    "click",
    guard(async () => {
      if (!pathStart) throw new Error("pick the start first (Path from here)");
      const { shortestPath } = await gql(PATH, { a: pathStart, b: focus });
      cy.elements().removeClass("path");
      if (!shortestPath) {
        pathState.textContent = `no path between ${pathStart} and ${focus}`;
        return;
      }
      add(shortestPath);
      for (const n of shortestPath.nodes) cy.getElementById(n.uid).addClass("path");
      for (const e of shortestPath.edges) cy.getElementById(e.uid || `${e.start}-${e.type}-${e.end}`).addClass("path");
      pathState.textContent = `path of ${shortestPath.edges.length} hops from ${pathStart} to ${focus}`;
    }),
  );
  element.querySelector(".profile-open").addEventListener("click", () => renderProfile(profile, focus));

  cy.on("tap", "node", (event) => select(event.target.id()));
  cy.on("dbltap", "node", (event) => renderProfile(profile, event.target.id()));
  cy.on(
    "tap",
    "edge",
    guard(async (event) => {
      const e = event.target.data();
      edgeBox.hidden = false;
      edgeBox.innerHTML = `<h3>${esc(e.type)}</h3><p>${esc(e.source)} → ${esc(e.target)}</p>`;
      if (e.type !== "ASSOCIATED_WITH") return;
      const { entity } = await gql(ASSOCIATES, { uid: e.source });
      const other = (entity?.associates ?? []).filter((a) => a.uid === e.target);
      edgeBox.innerHTML += other.length
        ? other
            .map((a) => `<table class="kv evidence">${a.via.map((v) => `<tr><th>${esc(v.name)}</th><td>${esc(v.value)}</td></tr>`).join("")}</table>`)
            .join("")
        : '<p class="muted">no evidence readable for you</p>';
    }),
  );

  const first = route.params.get("uid");
  if (first) guard(start)(first);
  return () => {
    cy.destroy();
    delete window.twinhoodGraph;
  };
}
