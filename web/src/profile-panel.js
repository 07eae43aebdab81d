// The profile (全息档案) of an entity, drawn into any element: the map's side panel, the 3D view's,
// the explorer's and the profile page use it.
//
// People, vehicles and houses have a holistic profile (`profile(uid)`): masked attributes,
// relationships (inferred ASSOCIATED_WITH ones with their evidence), residence history, the
// events timeline, the trajectory, the place in the building model, open alarms and risk flags
// with their reasons. Anything else shows its label, caption, open alarms and neighbours.

import { entityLink, esc, gql, when } from "./api.js";

const PROFILED = new Set(["person", "vehicle", "house"]);

const PROFILE = `query($uid: ID!, $after: String) { profile(uid: $uid, eventsAfter: $after, eventsLimit: 20) }`;
const ENTITY = `query($uid: ID!) {
  entity(uid: $uid) {
    uid label caption source maskedFields
    ... on Building { code name address floorsAbove use heightM }
    ... on Device { code name category online lifecycle floor }
    ... on Estate { code name address }
    ... on Person { name sex birthDate idNumber phone residency keyPerson unregistered }
  }
  neighbourhood(uid: $uid, hops: 1, limit: 60) { nodes { uid label caption } edges { type start end } }
  alarms(entity: $uid, liveOnly: true, first: 20) { uid kind severity status description openedAt }
}`;

function table(rows) {
  return `<table class="kv">${rows
    .filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`)
    .join("")}</table>`;
}

function value(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return `<code>${esc(JSON.stringify(v))}</code>`;
  return esc(v);
}

function section(title, body, count) {
  const n = count === undefined ? "" : ` <span class="count">${count}</span>`;
  return `<section class="part"><h3>${esc(title)}${n}</h3>${body || '<p class="muted">none</p>'}</section>`;
}

function relationship(r) {
  const props = Object.entries(r.properties ?? {}).filter(([k]) => !["uid", "source", "ingested_at"].includes(k));
  const inferred = r.type === "ASSOCIATED_WITH";
  const evidence = inferred
    ? `<div class="evidence">inferred (${esc(r.properties.kind)}), confidence ${esc(r.properties.confidence)},
       ${esc(r.properties.count)} times; evidence: ${(r.properties.evidence ?? []).map((e) => `<code>${esc(e)}</code>`).join(" ")}</div>`
    : "";
  const shown = inferred ? [] : props.slice(0, 4);
  return `<li class="${inferred ? "inferred" : ""}"><span class="rel">${esc(r.type)}</span> ${r.direction === "out" ? "→" : "←"}
    ${entityLink(r.uid, r.caption)} <small>${esc(r.label)}</small>
    ${shown.map(([k, v]) => `<small>${esc(k)}=${value(v)}</small>`).join(" ")}${evidence}</li>`;
}

function flag(f) {
  return `<li class="flag"><b>${esc(f.detector)}</b> v${esc(f.version)} · score ${Number(f.score).toFixed(2)}
    <div class="reason">${esc(f.explanation)}</div>
    <small>clears when: ${esc(f.clears_when)} · raised ${esc(when(f.raised_at))}</small>
    <details><summary>inputs and thresholds</summary><code>${esc(JSON.stringify(f.inputs))}</code>
    <code>${esc(JSON.stringify(f.thresholds))}</code></details></li>`;
}

function alarm(a) {
  return `<li class="alarm sev${esc(a.severity)}"><b>${esc(a.kind)}</b> · severity ${esc(a.severity)} · ${esc(a.status)}
    · ${esc(when(a.opened_at ?? a.openedAt))} ${a.on ? `on ${entityLink(a.on)}` : ""}
    <div>${esc(a.description ?? "")}</div></li>`;
}

function timelineRows(events) {
  return events
    .map(
      (e) => `<tr><td>${esc(when(e.ts))}</td><td>${esc(e.kind)}</td><td>${esc(e.device)}</td>
      <td><code>${esc(JSON.stringify(e.payload))}</code></td></tr>`,
    )
    .join("");
}

/**
 * Draw the profile of `uid` into `element`. `options.onTrajectory(uid)` adds a "replay" button
 * for people and vehicles with passes.
 */
export async function renderProfile(element, uid, options = {}) {
  element.innerHTML = `<p class="muted">loading ${esc(uid)}…</p>`;
  const prefix = uid.split(":")[0];
  try {
    if (PROFILED.has(prefix)) {
      try {
        const { profile } = await gql(PROFILE, { uid });
        drawProfile(element, profile, options);
        return;
      } catch (exc) {
        if (!String(exc.message).includes("'read:profile'")) throw exc;
        options = { ...options, notice: "your roles do not open the holistic profile; this is what they may see" };
      }
    }
    drawEntity(element, await gql(ENTITY, { uid }), options);
  } catch (exc) {
    element.innerHTML = `<p class="error">${esc(exc.message)}</p>`;
  }
}

function header(uid, label, caption, extra = "") {
  return `<header class="profile-head" data-uid="${esc(uid)}">
    <h2>${esc(caption)}</h2><p><span class="label">${esc(label)}</span> <code>${esc(uid)}</code></p>
    <p class="actions"><a href="#/explorer?uid=${encodeURIComponent(uid)}">Explore relationships</a>
    <a href="#/profile/${encodeURIComponent(uid)}">Full page</a>${extra}</p></header>`;
}

function drawProfile(element, p, options) {
  const masked = p.masked.length ? `<p class="muted">masked for you: ${p.masked.map(esc).join(", ")}</p>` : "";
  const attrs = table(Object.entries(p.attributes).map(([k, v]) => [k, value(v)]));
  const scenes = p.bim.filter((b) => b.building && b.scene_url);
  const bim = p.bim
    .map(
      (b) => `<li>${entityLink(b.house.uid, b.house.caption)} · ${esc(b.storey?.caption ?? "")} ·
        ${b.building ? entityLink(b.building.uid, b.building.caption) : ""}
        ${b.scene_url ? `<a href="#/building/${encodeURIComponent(b.building.uid)}?space=${encodeURIComponent(b.house.uid)}">open in 3D</a>` : ""}</li>`,
    )
    .join("");
  const stays = p.residence_history
    .map(
      (s) => `<li>${entityLink(p.label === "House" ? s.person : s.house, p.label === "House" ? s.name || s.person : s.house)}
        ${esc(s.role ?? "")} ${s.registered === false ? "(not registered)" : ""} · ${esc(when(s.since))} – ${esc(when(s.until) || "now")}</li>`,
    )
    .join("");
  const replay =
    options.onTrajectory && p.trajectory.length
      ? ` <button type="button" class="replay">Replay trajectory (${p.trajectory.length} passes)</button>`
      : "";
  const inThreeD = scenes.length
    ? ` <a href="#/building/${encodeURIComponent(scenes[0].building.uid)}">3D building</a>`
    : "";
  element.innerHTML = `${header(p.uid, p.label, p.caption, inThreeD)}
    ${section("Risk flags", p.risk_flags.length ? `<ul>${p.risk_flags.map(flag).join("")}</ul>` : "", p.risk_flags.length)}
    ${section("Open alarms", p.alarms.length ? `<ul>${p.alarms.map(alarm).join("")}</ul>` : "", p.alarms.length)}
    ${section("Attributes", masked + attrs)}
    ${section("Relationships", p.relationships.length ? `<ul class="rels">${p.relationships.map(relationship).join("")}</ul>` : "", p.relationships.length)}
    ${section(p.label === "House" ? "Residents over time" : "Residence history", stays ? `<ul>${stays}</ul>` : "")}
    ${section("Place in the building model", bim ? `<ul>${bim}</ul>` : "")}
    ${section("Trajectory", p.trajectory.length ? `<p>${p.trajectory.length} passes from ${esc(when(p.trajectory[0].at))} to ${esc(when(p.trajectory.at(-1).at))}${replay}</p>` : "", p.trajectory.length)}
    ${section(
      "Timeline",
      p.timeline.events.length
        ? `<table class="timeline"><tbody>${timelineRows(p.timeline.events)}</tbody></table>
           ${p.timeline.next_cursor ? '<button type="button" class="more">older events</button>' : ""}`
        : "",
    )}`;
  element.querySelector(".replay")?.addEventListener("click", () => options.onTrajectory(p.uid, p.trajectory));
  let cursor = p.timeline.next_cursor;
  const more = element.querySelector(".more");
  more?.addEventListener("click", async () => {
    const { profile } = await gql(PROFILE, { uid: p.uid, after: cursor });
    element.querySelector(".timeline tbody").insertAdjacentHTML("beforeend", timelineRows(profile.timeline.events));
    cursor = profile.timeline.next_cursor;
    if (!cursor) more.remove();
  });
}

function drawEntity(element, data, options) {
  const e = data.entity;
  if (!e) {
    element.innerHTML = `<p class="error">nothing in the graph has this uid</p>`;
    return;
  }
  const skip = new Set(["uid", "label", "caption", "maskedFields", "__typename"]);
  const attrs = table(
    Object.entries(e)
      .filter(([k]) => !skip.has(k))
      .map(([k, v]) => [k, value(v)]),
  );
  const types = new Map(data.neighbourhood.nodes.map((n) => [n.uid, n]));
  const rels = data.neighbourhood.edges
    .map((edge) => {
      const other = types.get(edge.start === e.uid ? edge.end : edge.start);
      if (!other) return "";
      return `<li><span class="rel">${esc(edge.type)}</span> ${edge.start === e.uid ? "→" : "←"} ${entityLink(other.uid, other.caption)} <small>${esc(other.label)}</small></li>`;
    })
    .join("");
  const building = e.label === "Building" ? ` <a href="#/building/${encodeURIComponent(e.uid)}">3D building</a>` : "";
  const masked = e.maskedFields.length ? `<p class="muted">masked for you: ${e.maskedFields.map(esc).join(", ")}</p>` : "";
  const notice = options.notice ? `<p class="muted">${esc(options.notice)}</p>` : "";
  element.innerHTML = `${header(e.uid, e.label, e.caption, building)}${notice}
    ${section("Open alarms", data.alarms.length ? `<ul>${data.alarms.map(alarm).join("")}</ul>` : "", data.alarms.length)}
    ${section("Attributes", masked + attrs)}
    ${section("Neighbours", rels ? `<ul class="rels">${rels}</ul>` : "", data.neighbourhood.edges.length)}`;
}
