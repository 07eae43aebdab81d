// The alarm desk: list and filter alarms, move them along the workflow (open → acknowledged →
// dispatched → resolved → closed; the API says which moves are allowed next), and see what each
// set off: the cameras a perimeter alarm was given, the staff it was assigned to, the door
// controllers a fire alarm's linkage commanded to unlock (as recorded when it opened), and the alarm's history. New and changed alarms arrive live.

import { entityLink, esc, gql, subscribe, when } from "../api.js";

const FIELDS = `uid rule kind condition entityUid device severity status description count openedAt lastSeen
  acknowledgedAt dispatchedAt resolvedAt closedAt clearedAt handler cameras building grid assignees unlocked unlockedAt
  history live
  nextStatuses entity { uid caption label }`;
const LIST = `query($statuses: [String!], $kinds: [String!], $maxSeverity: Int, $liveOnly: Boolean!) {
  alarms(statuses: $statuses, kinds: $kinds, maxSeverity: $maxSeverity, liveOnly: $liveOnly, first: 200) { ${FIELDS} } }`;
const MOVE = `mutation($uid: ID!, $to: AlarmStatus!) { transitionAlarm(uid: $uid, to: $to) {
  __typename ... on AlarmState { uid status } ... on IllegalTransitionProblem { current to allowed }
  ... on NotFound { uid } ... on ValidationProblem { field reason } } }`;
const CHANGES = `subscription { alarmChanged { change alarm { uid status kind } } }`;
const UNLOCKING = new Set(["smoke", "heat", "gas", "fire_door_open"]);
const STATUSES = ["open", "acknowledged", "dispatched", "resolved", "closed", "cleared"];
const VERB = { acknowledged: "Acknowledge", dispatched: "Dispatch", resolved: "Resolve", closed: "Close" };

function problem(result) {
  switch (result.__typename) {
    case "AlarmState":
      return "";
    case "IllegalTransitionProblem":
      return `cannot move from ${result.current} to ${result.to}; allowed: ${result.allowed.join(", ") || "none"}`;
    case "NotFound":
      return `no alarm ${result.uid}`;
    default:
      return `${result.field}: ${result.reason}`;
  }
}

export function mount(element) {
  element.innerHTML = `
    <form class="filters card">
      <fieldset><legend>Status</legend>
        ${STATUSES.map((s) => `<label><input type="checkbox" name="status" value="${s}" ${["open", "acknowledged", "dispatched"].includes(s) ? "checked" : ""}/> ${s}</label>`).join("")}
      </fieldset>
      <label>Kind <input name="kind" placeholder="smoke, perimeter_intrusion…" /></label>
      <label>Severity at most <select name="severity"><option value="">any</option>${[1, 2, 3, 4].map((n) => `<option>${n}</option>`).join("")}</select></label>
      <label><input type="checkbox" name="live" /> still live only</label>
      <span class="live">○ live</span>
    </form>
    <p class="error" role="alert"></p>
    <table class="alarms"><thead><tr><th>sev</th><th>kind</th><th>status</th><th>on</th><th>device</th>
      <th>opened</th><th>last seen</th><th>count</th><th>handler</th><th>workflow</th></tr></thead><tbody></tbody></table>
    <section class="linkage card" hidden></section>`;
  const form = element.querySelector(".filters");
  const body = element.querySelector("tbody");
  const detail = element.querySelector(".linkage");
  const error = element.querySelector(".error");
  let rows = [];
  let selected = null;

  const variables = () => {
    const data = new FormData(form);
    const kinds = String(data.get("kind") || "")
      .split(",")
      .map((k) => k.trim())
      .filter(Boolean);
    return {
      statuses: data.getAll("status"),
      kinds: kinds.length ? kinds : null,
      maxSeverity: data.get("severity") ? Number(data.get("severity")) : null,
      liveOnly: data.get("live") === "on",
    };
  };

  const draw = () => {
    body.innerHTML = rows
      .map(
        (a) => `<tr class="sev${a.severity} ${a.uid === selected ? "selected" : ""}" data-alarm="${esc(a.uid)}">
        <td>${a.severity}</td><td>${esc(a.kind)}</td><td class="status">${esc(a.status)}${a.live ? "" : " <small>(ended)</small>"}</td>
        <td>${entityLink(a.entityUid, a.entity?.caption)}</td><td>${esc(a.device ?? "")}</td>
        <td>${esc(when(a.openedAt))}</td><td>${esc(when(a.lastSeen))}</td><td>${a.count}</td><td>${esc(a.handler ?? "")}</td>
        <td>${a.nextStatuses.map((s) => `<button type="button" data-to="${s}">${VERB[s] ?? s}</button>`).join(" ")}</td></tr>`,
      )
      .join("");
    if (!rows.length) body.innerHTML = `<tr><td colspan="10" class="muted">no alarm matches</td></tr>`;
  };

  const load = async () => {
    try {
      rows = (await gql(LIST, variables())).alarms;
      error.textContent = "";
    } catch (exc) {
      error.textContent = exc.message;
    }
    draw();
    if (selected) showLinkage(rows.find((a) => a.uid === selected));
  };

  const doors = (a) => {
    if (!UNLOCKING.has(a.kind)) return "no door linkage for this kind";
    if (!a.unlockedAt) return '<span class="muted">no unlock command recorded (outside a building, or no publisher)</span>';
    const sent = a.unlocked.length ? a.unlocked.map((d) => entityLink(d)).join(", ") : '<span class="muted">no access doors</span>';
    return `unlock command sent to the building's access control at ${esc(when(a.unlockedAt))}: ${sent}`;
  };

  const showLinkage = (a) => {
    if (!a) {
      detail.hidden = true;
      return;
    }
    detail.hidden = false;
    const history = (a.history ?? [])
      .map((h) => `<li>${esc(h.to)} · ${esc(when(h.at))} ${h.handler ? `by ${esc(h.handler)}` : ""}</li>`)
      .join("");
    detail.innerHTML = `<h3>${esc(a.kind)} <small>${esc(a.uid)}</small></h3>
      <p>${esc(a.description ?? "")} · rule <code>${esc(a.rule)}</code> · condition <code>${esc(a.condition)}</code></p>
      <h4>Linkage</h4>
      <ul>
        <li>cameras shown: ${a.cameras.length ? a.cameras.map((c) => entityLink(c)).join(", ") : '<span class="muted">none</span>'}</li>
        <li>assigned to: ${a.assignees.length ? a.assignees.map((s) => entityLink(s)).join(", ") : '<span class="muted">nobody (no grid staff)</span>'}</li>
        <li>building ${a.building ? entityLink(a.building) : "—"} · grid ${a.grid ? entityLink(a.grid) : "—"}</li>
        <li class="doors">${doors(a)}</li>
      </ul>
      <h4>History</h4><ul>${history || '<li class="muted">no moves yet</li>'}</ul>`;
  };

  body.addEventListener("click", async (event) => {
    const row = event.target.closest("tr[data-alarm]");
    if (!row || event.target.closest("a")) return;
    selected = row.dataset.alarm;
    const to = event.target.closest("button")?.dataset.to;
    if (to) {
      const { transitionAlarm: result } = await gql(MOVE, { uid: selected, to: to.toUpperCase() });
      error.textContent = problem(result);
      await load();
      return;
    }
    draw();
    showLinkage(rows.find((a) => a.uid === selected));
  });
  form.addEventListener("change", load);
  form.addEventListener("submit", (event) => event.preventDefault());

  const badge = element.querySelector(".live");
  const stop = subscribe(
    CHANGES,
    {},
    () => load(),
    (state) => {
      badge.textContent = state === "live" ? "● live" : "○ live";
      badge.classList.toggle("on", state === "live");
    },
  );
  load();
  return stop;
}
